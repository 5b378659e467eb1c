"""Multi-turn token records for training: one token sequence per episode with a loss mask.

:func:`assemble_episode` turns a trajectory recorded with token ids (``record_tokens``) into

    P_0 + C_0 + E_1 + C_1 + ... + E_{n-1} + C_{n-1}

where ``P_0`` is the first turn's prompt as the backend tokenized it (system prompt,
few-shot turns, first observation, the assistant header), ``C_k`` the token ids the backend
*generated* at turn ``k`` (its own ids, never re-tokenized; end-of-turn token excluded), and
``E_k`` the tokens the chat template puts between the model's turn ``k-1`` and its turn
``k``: the end of the assistant message, the environment's observation as a user message,
and the next assistant header. ``E_k`` is cut out of the prompt ids the backend built for
turn ``k`` (``P_k``): ``P_k`` starts with ``P_{k-1}`` followed by the re-tokenized text of the
model's turn ``k-1``, and ``E_k`` is the rest.

The loss mask is 1 exactly on the ``C_k`` tokens; ``logprobs`` holds the sampling
log-probability of each ``C_k`` token and 0.0 elsewhere.

*Retokenization drift*: the model saw its own turn ``k-1`` in ``P_k`` as the chat template
re-tokenized the text, which can differ from the ids it generated (e.g. a word the sampler
spelled as two tokens that the tokenizer merges). A turn drifts when
``encode(text_k) != C_k`` or when ``P_k`` does not extend ``P_{k-1}`` by that text (a
template that rewrites earlier turns). ``drift`` counts such model turns in the episode; for
a drifting turn followed by another, ``E_{k+1}`` is taken after the longest common prefix of
``P_{k+1}`` and the expected tokens, so the sequence stays well formed.

Pure functions: token ids and texts in, records out; the tokenizer is passed as ``encode``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.core.types import Trajectory

#: Roles of the spans of a token sequence.
PROMPT, MODEL, ENV = "prompt", "model", "env"


@dataclass(frozen=True)
class TokenEpisode:
    """One episode as one token sequence (see the module docstring).

    ``turn_starts[i]`` is where span ``i`` begins (spans tile the sequence in order) and
    ``turn_roles[i]`` its role: ``"prompt"`` (first), then ``"model"`` and ``"env"``
    alternating, ending with ``"model"``.
    """

    token_ids: tuple[int, ...]
    loss_mask: tuple[int, ...]
    logprobs: tuple[float, ...]
    turn_starts: tuple[int, ...]
    turn_roles: tuple[str, ...]
    drift: int

    @property
    def prompt_length(self) -> int:
        return self.turn_starts[1] if len(self.turn_starts) > 1 else len(self.token_ids)

    def spans(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(role, token ids)`` of each span, in order."""
        ends = (*self.turn_starts[1:], len(self.token_ids))
        return [
            (role, self.token_ids[start:end])
            for role, start, end in zip(self.turn_roles, self.turn_starts, ends)
        ]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def assemble_episode(
    trajectory: Trajectory, encode: Callable[[str], Sequence[int]]
) -> TokenEpisode:
    """The token sequence, loss mask, logprobs, turn spans and drift of one episode.

    ``encode`` is the model's tokenizer without special tokens added (e.g.
    ``lambda s: tok(s, add_special_tokens=False)["input_ids"]``); it is used only to find
    where the chat template's text of a model turn ends and to count drift. Raises
    :class:`ConfigError` when the trajectory was recorded without token ids.
    """
    steps = trajectory.steps
    if not steps:
        raise ConfigError(f"episode {trajectory.episode_key} has no steps")
    for step in steps:
        if step.prompt_token_ids is None or step.completion_token_ids is None:
            raise ConfigError(
                f"episode {trajectory.episode_key} was recorded without token ids; run it "
                "with record_tokens=True (acbench run --record-tokens, or acbench rollouts)"
            )
    ids: list[int] = []
    mask: list[int] = []
    logprobs: list[float] = []
    starts: list[int] = []
    roles: list[str] = []
    drift = 0
    previous_drifted = False
    expected: list[int] = []  # what the next prompt should start with, as the template renders
    for k, step in enumerate(steps):
        prompt = list(step.prompt_token_ids or ())
        if k == 0:
            span, role = prompt, PROMPT
        else:
            cut = len(expected)
            if prompt[:cut] != expected:
                cut = _common_prefix(prompt, expected)
                drift += 0 if previous_drifted else 1
            span, role = prompt[cut:], ENV
        starts.append(len(ids))
        roles.append(role)
        ids.extend(span)
        mask.extend([0] * len(span))
        logprobs.extend([0.0] * len(span))
        completion = [int(t) for t in step.completion_token_ids or ()]
        step_logprobs = list(step.logprobs or ())
        if len(step_logprobs) != len(completion):
            step_logprobs = (step_logprobs + [0.0] * len(completion))[: len(completion)]
        starts.append(len(ids))
        roles.append(MODEL)
        ids.extend(completion)
        mask.extend([1] * len(completion))
        logprobs.extend(float(x) for x in step_logprobs)
        rendered = [int(t) for t in encode(step.raw_output)]
        previous_drifted = rendered != completion
        drift += int(previous_drifted)
        expected = prompt + rendered
    return TokenEpisode(
        token_ids=tuple(ids),
        loss_mask=tuple(mask),
        logprobs=tuple(logprobs),
        turn_starts=tuple(starts),
        turn_roles=tuple(roles),
        drift=drift,
    )


def group_advantages(
    rewards: Sequence[float], groups: Sequence[object], *, normalize_std: bool = False
) -> list[float]:
    """Group-relative advantages: each reward minus the mean reward of its group.

    With ``normalize_std``, divided by the group's standard deviation (population, ddof=0)
    when it is above 1e-8; a group whose rewards are all equal gets advantage 0.
    """
    if len(rewards) != len(groups):
        raise ConfigError(f"{len(rewards)} rewards for {len(groups)} group labels")
    values = np.asarray(rewards, dtype=np.float64)
    out = np.zeros_like(values)
    labels = list(groups)
    for label in dict.fromkeys(labels):
        idx = np.array([i for i, g in enumerate(labels) if g == label])
        centred = values[idx] - values[idx].mean()
        if normalize_std:
            std = values[idx].std()
            centred = centred / std if std > 1e-8 else np.zeros_like(centred)
        out[idx] = centred
    return [float(x) for x in out]
