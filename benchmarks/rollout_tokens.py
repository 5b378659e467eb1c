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

    nice -n 10 .venv/bin/python benchmarks/rollout_tokens.py --backend vllm --episodes 3

Ends with ``total: model spans a/b exact, prompt spans ..., env spans ..., drift d/t turns``.
Long-context environments run at a short context (``--context-length``) to keep it quick.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import acbench_env  # noqa: F401
from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import create_backend
from acbench_env.core.registry import env_class, env_ids
from acbench_env.core.rollout_tokens import ENV, MODEL, PROMPT, assemble_episode
from acbench_env.core.types import Message, Trajectory
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", default="vllm", choices=("vllm", "transformers"))
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--context-length", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=None)
    parser.add_argument("--env", action="append", default=None, help="default: all")
    parser.add_argument("--json", default=None, help="write the per-env counts here")
    args = parser.parse_args()

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
    totals: dict[str, int] = {}
    per_env: dict[str, dict[str, int]] = {}
    for env_id in args.env or env_ids():
        kwargs: dict[str, Any] = {}
        cls = env_class(env_id)
        if "context_length" in cls.__init__.__code__.co_varnames:
            kwargs["context_length"] = args.context_length
        t1 = time.perf_counter()
        result = run_episodes(
            env_id, agent, episodes=args.episodes, env_kwargs=kwargs, batch_size=args.episodes
        )
        counts: dict[str, int] = {}
        for traj in result.trajectories:
            for key, value in check(traj, backend, encode).items():
                counts[key] = counts.get(key, 0) + value
        per_env[env_id] = counts
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        print(
            f"{env_id}: model spans {counts['model_ok']}/{counts['model']} exact, prompt "
            f"{counts['prompt_ok']}/{counts['prompt']}, env {counts['env_ok']}/{counts['env']} "
            f"(after non-drifting turns {counts['env_ok_nodrift']}/{counts['env_nodrift']}), "
            f"drift {counts['drift']}/{counts['turns']} turns "
            f"[{time.perf_counter() - t1:.0f} s]",
            flush=True,
        )
    backend.close()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(per_env, fh, indent=1)
    print(
        f"total: model spans {totals['model_ok']}/{totals['model']} exact, prompt spans "
        f"{totals['prompt_ok']}/{totals['prompt']}, env spans {totals['env_ok']}/{totals['env']} "
        f"(after non-drifting turns {totals['env_ok_nodrift']}/{totals['env_nodrift']}), "
        f"drift {totals['drift']}/{totals['turns']} turns"
    )


if __name__ == "__main__":
    main()
