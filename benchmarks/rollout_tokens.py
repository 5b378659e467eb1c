"""Check the multi-turn token records of every registered environment on one backend.

For each environment it runs a few sampled episodes with token recording on, assembles each
episode's token sequence (:func:`acbench_env.core.rollout_tokens.assemble_episode`) and
checks, span by span:
  model spans (loss mask 1)  decode exactly to the model's output of that turn
  prompt span                decodes exactly to the first turn's rendered prompt
  env spans                  decode exactly to the chat template's text between the model's
                             previous turn and its next one (end of the assistant message,
                             the observation as a user message, the next assistant header)
and counts retokenization drift. The engine starts once for all environments.

    nice -n 10 .venv/bin/python benchmarks/rollout_tokens.py --backend vllm --episodes 3 \
        --out /tmp/rollout-tokens --grouped-tasks 8 --group-size 8
    # re-check the stored trajectories without a model (tokenizer only):
    .venv/bin/python benchmarks/rollout_tokens.py --out /tmp/rollout-tokens --recheck

``--grouped-tasks K`` also runs K tasks x N samples of Needle through ``run_rollouts``
(parquet and datasets export in OUT/grouped) and prints each group's rewards and advantages.

Ends with ``total: model spans a/b exact, prompt spans ..., env spans ..., drift d/t turns``.
Long-context environments run at a short context (``--context-length``) to keep it quick.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import acbench_env  # noqa: F401
from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import create_backend
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.registry import env_class, env_ids
from acbench_env.core.rollout_tokens import ENV, MODEL, PROMPT, assemble_episode
from acbench_env.core.types import Message, Trajectory
from acbench_env.experiments.rollouts import run_rollouts
from acbench_env.experiments.runner import run_episodes


def conversation(traj: Trajectory, upto: int) -> list[Message]:
    """The messages of the request at step ``upto`` (system prompt, few-shot, turns)."""
    msgs: list[Message] = []
    if traj.system_prompt is not None:
        msgs.append({"role": "system", "content": traj.system_prompt})
    msgs.extend(traj.few_shot_messages)
    for step in traj.steps[:upto]:
        msgs.append({"role": "user", "content": step.observation})
        msgs.append({"role": "assistant", "content": step.raw_output})
    msgs.append({"role": "user", "content": traj.steps[upto].observation})
    return msgs


def check(traj: Trajectory, backend: Any, encode: Any) -> dict[str, int]:
    tok = backend.tokenizer
    rec = assemble_episode(traj, encode)
    counts = dict.fromkeys(
        ("model", "model_ok", "prompt", "prompt_ok", "env", "env_ok", "env_ok_nodrift"), 0
    )
    counts["env_nodrift"] = 0
    counts["drift"] = rec.drift
    counts["turns"] = len(traj.steps)
    turn = 0
    prev_text = ""
    prev_drift = False
    for role, ids in rec.spans():
        if role == MODEL:
            step = traj.steps[turn]
            counts["model"] += 1
            text = tok.decode(list(ids), skip_special_tokens=True)
            counts["model_ok"] += int(text == step.raw_output)
            prev_drift = list(encode(step.raw_output)) != list(ids)
            turn += 1
            continue
        rendered = backend.render(conversation(traj, turn))
        text = tok.decode(list(ids), skip_special_tokens=False)
        if role == PROMPT:
            counts["prompt"] += 1
            counts["prompt_ok"] += int(text == rendered)
        elif role == ENV:
            expected = rendered[len(prev_text) + len(traj.steps[turn - 1].raw_output) :]
            ok = int(text == expected)
            counts["env"] += 1
            counts["env_ok"] += ok
            if not prev_drift:
                counts["env_nodrift"] += 1
                counts["env_ok_nodrift"] += ok
        prev_text = rendered
    return counts


class TokenizerRenderer:
    """What :func:`check` needs of a backend, from the default model's tokenizer alone (the
    vllm and transformers backends render requests without tools exactly like this)."""

    def __init__(self) -> None:
        from transformers import AutoTokenizer

        from acbench_env.core.models import resolve_model

        self.tokenizer = AutoTokenizer.from_pretrained(resolve_model("default"))

    def render(self, messages: list[Message]) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, tokenize=False
            )
        )


def add(totals: dict[str, int], counts: dict[str, int]) -> None:
    for key, value in counts.items():
        totals[key] = totals.get(key, 0) + value


def line(name: str, c: dict[str, int]) -> str:
    return (
        f"{name}: model spans {c.get('model_ok', 0)}/{c.get('model', 0)} exact, prompt spans "
        f"{c.get('prompt_ok', 0)}/{c.get('prompt', 0)}, env spans {c.get('env_ok', 0)}/"
        f"{c.get('env', 0)} (after non-drifting turns {c.get('env_ok_nodrift', 0)}/"
        f"{c.get('env_nodrift', 0)}), drift {c.get('drift', 0)}/{c.get('turns', 0)} turns"
    )


def check_files(out: Path, backend: Any, encode: Any) -> dict[str, dict[str, int]]:
    """Check every trajectory file written in ``out`` (one per environment)."""
    per_env: dict[str, dict[str, int]] = {}
    for path in sorted(out.glob("*.jsonl")):
        counts: dict[str, int] = {}
        trajs = read_trajectories(path)
        for traj in trajs:
            add(counts, check(traj, backend, encode))
        name = trajs[0].env_id if trajs else path.stem
        per_env[name] = counts
        print(line(name, counts), flush=True)
    return per_env


def grouped(out: Path, agent: Any, encode: Any, args: argparse.Namespace) -> None:
    """8 tasks x 8 samples (``--grouped-tasks`` x ``--group-size``) of Needle via run_rollouts."""
    t = time.perf_counter()
    result = run_rollouts(
        "acbench/Needle-v0",
        agent,
        tasks=args.grouped_tasks,
        group_size=args.group_size,
        encode=encode,
        env_kwargs={"context_length": args.context_length},
        out_dir=out,
    )
    rows = result.rows
    ok = True
    for g in sorted({r["group"] for r in rows}):
        members = [r for r in rows if r["group"] == g]
        rewards = [r["reward"] for r in members]
        mean = sum(rewards) / len(rewards)
        ok &= all(abs(r["advantage"] - (r["reward"] - mean)) < 1e-12 for r in members)
        ok &= len({r["task_index"] for r in members}) == 1 and len(
            {r["seed"] for r in members}
        ) == len(members)
        advantages = " ".join(f"{r['advantage']:+.3f}" for r in members)
        print(
            f"  group {g} task {members[0]['task_id']}: rewards "
            f"{' '.join(f'{x:.0f}' for x in rewards)} mean {mean:.3f} advantages "
            f"{advantages}"
        )
    distinct = len({tuple(r["token_ids"]) for r in rows})
    print(
        f"grouped Needle {args.grouped_tasks}x{args.group_size}: mean reward "
        f"{sum(r['reward'] for r in rows) / len(rows):.3f}, advantages = reward - group mean: "
        f"{ok}, distinct token sequences {distinct}/{len(rows)}, drift "
        f"{sum(r['drift'] for r in rows)}/{sum(r['num_turns'] for r in rows)} turns "
        f"[{time.perf_counter() - t:.0f} s] -> {out}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", default="vllm", choices=("vllm", "transformers"))
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--context-length", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--env", action="append", default=None, help="default: all")
    parser.add_argument("--out", required=True, help="folder for the trajectories")
    parser.add_argument("--recheck", action="store_true", help="only check the files in --out")
    parser.add_argument("--grouped-tasks", type=int, default=0, help="also run K x N Needle")
    parser.add_argument("--group-size", type=int, default=8)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.recheck:
        renderer = TokenizerRenderer()
        tok = renderer.tokenizer
        per_env = check_files(
            out, renderer, lambda s: tok(s, add_special_tokens=False)["input_ids"]
        )
        totals: dict[str, int] = {}
        for counts in per_env.values():
            add(totals, counts)
        print(line("total", totals))
        return

    t0 = time.perf_counter()
    backend = create_backend(args.backend, model="default")
    print(f"backend {args.backend} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    tok = backend.tokenizer

    def encode(text: str) -> list[int]:
        return [int(t) for t in tok(text, add_special_tokens=False)["input_ids"]]

    agent = LLMPolicyAgent(
        backend,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        record_tokens=True,
    )
    if args.grouped_tasks:
        try:
            grouped(out / "grouped", agent, encode, args)
        except Exception as exc:  # report and go on with the per-env checks
            print(f"grouped run failed: {exc!r}", flush=True)
    totals = {}
    for env_id in args.env or env_ids():
        kwargs: dict[str, Any] = {}
        cls = env_class(env_id)
        if "context_length" in cls.__init__.__code__.co_varnames:
            kwargs["context_length"] = args.context_length
        t1 = time.perf_counter()
        path = out / (env_id.replace("/", "_") + ".jsonl")
        try:
            result = run_episodes(
                env_id,
                agent,
                episodes=args.episodes,
                env_kwargs=kwargs,
                batch_size=args.episodes,
                out=path,
            )
            counts: dict[str, int] = {}
            for traj in result.trajectories:
                add(counts, check(traj, backend, encode))
        except Exception as exc:  # one env's failure is reported, the others still run
            print(f"{env_id}: failed: {exc!r}", flush=True)
            continue
        add(totals, counts)
        print(f"{line(env_id, counts)} [{time.perf_counter() - t1:.0f} s]", flush=True)
    backend.close()
    print(line("total", totals))


if __name__ == "__main__":
    main()
