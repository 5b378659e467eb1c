"""Write the built-in ``standard`` suite's rows from an ``acbench calibrate`` suite file.

    python scripts/standard_rows.py CALIBRATED.yaml --version 2

Replaces the block between ``#: STANDARD-BEGIN`` and ``#: STANDARD-END`` of
``acbench_env/core/suites.py`` with one ``_calibrated(...)`` row per task of the file (its
rung, env arguments, answer budget, planned episodes and pilot mean) and a header comment
with the plan's figures (episodes needed for the MDE targets, the episodes planned under the
time budget, the MDEs they buy). Run ``ruff format`` on the file afterwards.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

SUITES = Path(__file__).resolve().parent.parent / "acbench_env" / "core" / "suites.py"


def block(doc: dict[str, Any], version: int) -> str:
    cal = doc["calibration"]
    tasks = sorted(doc["tasks"], key=lambda t: t["env_id"])
    # The suite file's ``capability_mde`` holds the MDEs the plan buys (the summary's),
    # which replace the target (0.10, calibrate's default) in that block.
    caps = cal.get("capability_mde", {})
    cap_target = caps if isinstance(caps, (int, float)) else 0.1
    caps = caps if isinstance(caps, dict) else {}
    per_model = sum(t["episodes"] for t in tasks)
    needed = sum(cal["episodes_needed"].values())
    in_band = sum(bool(t["calibration"]["in_band"]) for t in tasks)
    lo, hi = cal["band"]
    lines = [
        "#: STANDARD-BEGIN (rows written by scripts/standard_rows.py from `acbench calibrate`)",
        "#: The standard suite: every task at the ladder rung `acbench calibrate` chose for the",
        f"#: default model ({cal['model']}, {cal['backend']}, {cal['dtype']}, "
        f"{cal['pilot_episodes']} pilot episodes per",
        f"#: rung at seeds {cal['pilot_seed']}+, band {lo}-{hi}, target {cal['target']}); "
        f"{in_band} of {len(tasks)} tasks in the band.",
        f"#: Episodes from the power plan ({round(cal['power'] * 100)}% power, MDE targets "
        f"{cal['mde']} overall and {cap_target} per capability,",
        f"#: paired sd from each pilot), capped by a budget of {cal['budget_minutes']} minutes "
        f"for {cal['models_in_suite']} models",
        "#: (pilot machine seconds per episode):",
        f"#:   episodes for targets {needed} minutes {cal['minutes_needed_for_targets']}",
        f"#:   planned episodes/model {per_model} minutes {cal['minutes_planned']}",
        f"#:   overall MDE {cal['overall_mde']}",
        *(f"#:   {c} MDE {v}" for c, v in sorted(caps.items())),
        "STANDARD = Suite(",
        '    name="standard",',
        f"    version={version},",
        "    seed=0,",
        "    description=(",
        '        "calibrated to the default model (per task the ladder rung nearest a base score "',
        '        "of 0.5 from vLLM bfloat16 pilots), sized for base + six variants on 2 CPU cores "',
        f'        "with vLLM in about {round(cal["budget_minutes"] or 0)} minutes; the overall MDE it '
        'buys is above 0.05 "',
        '        "(see README)"',
        "    ),",
        "    # env id, episodes, env arguments, max_new_tokens; rung, pilot mean, pilot episodes",
        "    tasks=(",
    ]
    for t in tasks:
        c = t["calibration"]
        pilot = next(p for p in c["pilots"] if p["rung"] == c["rung"])
        lines.append(
            f"        _calibrated({t['env_id']!r}, {t['episodes']}, {t['env_kwargs']!r}, "
            f"{t['max_new_tokens']}, {c['rung']!r}, {c['pilot_mean']!r}, {pilot['episodes']}),"
        )
    lines += [
        "    ),",
        '    fallback=SuiteTask("", 5, {}, max_new_tokens=64),',
        ")",
        "#: STANDARD-END",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite_file", type=Path, help="a suite file written by acbench calibrate")
    parser.add_argument("--version", type=int, required=True, help="the standard suite's version")
    args = parser.parse_args()
    doc = yaml.safe_load(args.suite_file.read_text())
    text = SUITES.read_text()
    start = text.index("#: STANDARD-BEGIN")
    end = text.index("#: STANDARD-END") + len("#: STANDARD-END")
    SUITES.write_text(text[:start] + block(doc, args.version) + text[end:])


if __name__ == "__main__":
    main()
