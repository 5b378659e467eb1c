"""Failure decomposition: one outcome category per episode, and its deltas per capability.

:func:`episode_outcome` reads only what the environments already record in each step
(``parse_error``, ``info["error_category"]`` of the tool checkers, ``info["tool_errors"]``
of the multi-turn apps, ``info["invalid_action"]`` of the simulators, the step's token
count against the decoding budget, the env's ``truncated`` flag) and names the first of
these that applies, in this order:

``success`` (the task was solved); ``truncated_output`` (the last output used the whole
token budget); ``format_failure`` (the last action did not parse, or most actions did
not); ``wrong_tool`` (a call to the wrong function, a missing or an unexpected call);
``wrong_argument`` (a missing, extra, mistyped or wrong argument); ``loop`` (the same action
three times in a row); ``invalid_action`` (a well-formed action that the environment
rejected); ``step_limit`` (the episode hit its step limit); ``wrong_answer`` (everything
else: a well-formed, accepted but wrong final answer).

:func:`outcome_deltas` compares the category shares of a variant with the base on the same
episodes, per capability, with paired bootstrap intervals. All functions are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acbench_env.core.types import Trajectory
from acbench_env.scoring.deltas import PairedGroup, paired_bootstrap_delta

#: Outcome categories, in the order they are tested.
OUTCOMES = (
    "success",
    "truncated_output",
    "format_failure",
    "wrong_tool",
    "wrong_argument",
    "loop",
    "invalid_action",
    "step_limit",
    "wrong_answer",
)

_WRONG_TOOL = {"no_call", "unexpected_call", "wrong_count", "wrong_function"}
_WRONG_ARG = {"missing_argument", "extra_argument", "wrong_type", "wrong_value"}
#: Identical consecutive actions that make a loop.
LOOP_LENGTH = 3


def _budget(traj: Trajectory) -> int | None:
    value = traj.model.decoding.get("max_new_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def episode_outcome(traj: Trajectory) -> str:
    """The outcome category of one episode (see the module docstring)."""
    if traj.success:
        return "success"
    if not traj.steps:
        return "wrong_answer"
    last = traj.steps[-1]
    budget = _budget(traj)
    if budget is not None and (last.completion_tokens or 0) >= budget:
        return "truncated_output"
    failures = sum(1 for s in traj.steps if s.parse_error is not None)
    if last.parse_error is not None or failures * 2 > len(traj.steps):
        return "format_failure"
    categories = {str(s.info.get("error_category")) for s in traj.steps}
    tool_errors: dict[str, int] = {}
    for s in traj.steps:
        for k, v in (s.info.get("tool_errors") or {}).items():
            if isinstance(v, (int, float)):
                tool_errors[k] = tool_errors.get(k, 0) + int(v)
    if categories & _WRONG_TOOL or tool_errors.get("unknown_tool", 0) > 0:
        return "wrong_tool"
    if categories & _WRONG_ARG or tool_errors.get("invalid_arguments", 0) > 0:
        return "wrong_argument"
    actions = [" ".join(s.raw_output.split()).lower() for s in traj.steps]
    run = 1
    for a, b in zip(actions, actions[1:]):
        run = run + 1 if a == b and a else 1
        if run >= LOOP_LENGTH:
            return "loop"
    if any(s.info.get("invalid_action") for s in traj.steps) or tool_errors.get(
        "invariant_violation", 0
    ):
        return "invalid_action"
    if last.truncated:
        return "step_limit"
    return "wrong_answer"


def outcome_shares(trajectories: Sequence[Trajectory]) -> dict[str, float]:
    """The share of episodes in each category (0 for categories that never occur)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for t in trajectories:
        counts[episode_outcome(t)] += 1
    n = max(len(trajectories), 1)
    return {k: v / n for k, v in counts.items()}


def outcome_deltas(
    base: Mapping[str, Sequence[Trajectory]],
    variant: Mapping[str, Sequence[Trajectory]],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per capability (and ``"all"``) and category: the base and variant shares over the
    episodes both ran (paired by env and seed) and the variant-minus-base delta with a
    stratified paired bootstrap interval (tasks as strata).

    ``base`` and ``variant`` map an env id to its trajectories.
    """
    per_cap: dict[str, list[tuple[list[str], list[str]]]] = {}
    for env_id, b_trajs in sorted(base.items()):
        v_by_seed = {t.seed: t for t in variant.get(env_id, ())}
        pairs = [(t, v_by_seed[t.seed]) for t in b_trajs if t.seed in v_by_seed]
        if not pairs:
            continue
        cap = pairs[0][0].capability or "other"
        group = ([episode_outcome(b) for b, _ in pairs], [episode_outcome(v) for _, v in pairs])
        per_cap.setdefault(cap, []).append(group)
        per_cap.setdefault("all", []).append(group)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cap, groups in sorted(per_cap.items()):
        rows: dict[str, dict[str, Any]] = {}
        for cat in OUTCOMES:
            paired = [
                PairedGroup(
                    base=tuple(float(x == cat) for x in b),
                    compressed=tuple(float(x == cat) for x in v),
                    weight=float(len(b)),
                )
                for b, v in groups
            ]
            d = paired_bootstrap_delta(paired, resamples=resamples, seed=seed)
            rows[cat] = {
                "episodes": d.pairs,
                "base": d.base_mean,
                "variant": d.compressed_mean,
                "delta": d.absolute,
                "ci": [d.ci_low, d.ci_high],
                "significant": bool(d.significant),
            }
        out[cap] = rows
    return out


def outcome_counts(trajectories: Sequence[Trajectory]) -> dict[str, int]:
    """Episodes per category."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for t in trajectories:
        counts[episode_outcome(t)] += 1
    return counts


__all__ = [
    "LOOP_LENGTH",
    "OUTCOMES",
    "episode_outcome",
    "outcome_counts",
    "outcome_deltas",
    "outcome_shares",
]
