"""Does batch composition change greedy outputs? The same suite episodes run three ways with
the transformers backend: one episode at a time (no batching), one task at a time in batches
(``order="task"``, units within one task), and across tasks (``order="model"``, the suite's
default: continuous batching). Prints how many episodes differ from the unbatched run (any
step's raw output).

    python benchmarks/batch_composition.py [--model default] [--tasks Needle,FunctionCall]
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

from acbench_env.core.jsonl import step_values
from acbench_env.core.suites import get_suite
from acbench_env.experiments.suite import run_suite


def raw_outputs(out: Path) -> dict[tuple[str, int], list[str]]:
    return step_values(out, "raw_output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--tasks", default="", help="only rows whose env id contains one of these")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    import acbench_env.core.registry as registry

    suite = get_suite(args.suite)
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        rows = tuple(t for t in suite.tasks if any(w in t.env_id for w in wanted))
        suite = replace(suite, name=f"{suite.name}-subset", tasks=rows, all_envs=False)
    ids = sorted(t.env_id for t in suite.tasks)
    registry.env_ids = lambda: ids  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_suite([args.model], suite, root / "one", batch_size=1)
        run_suite([args.model], suite, root / "task", batch_size=args.batch_size, order="task")
        run_suite([args.model], suite, root / "across", batch_size=args.batch_size)
        ref = raw_outputs(root / "one")
        for name in ("task", "across"):
            got = raw_outputs(root / name)
            differ = sorted(k for k in ref if got.get(k) != ref[k])
            print(
                f"{name:>6} (batch {args.batch_size}): {len(differ)} of {len(ref)} episodes "
                f"differ from unbatched {differ[:6]}"
            )


if __name__ == "__main__":
    main()
