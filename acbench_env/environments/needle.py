"""Needle in a haystack: retrieve one fact hidden at a given depth of a long document."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.models import TokenCounter, token_counter
from acbench_env.environments import haystack

#: Tokens kept free beyond the observation for the chat template and the answer.
RESERVED_TOKENS = 64

_KEY_FIRST = (
    "silver",
    "amber",
    "cobalt",
    "crimson",
    "ivory",
    "jade",
    "scarlet",
    "golden",
    "violet",
    "copper",
    "indigo",
    "olive",
    "coral",
    "slate",
    "pearl",
    "russet",
)
_KEY_SECOND = (
    "falcon",
    "harbor",
    "lantern",
    "meadow",
    "orchid",
    "glacier",
    "compass",
    "willow",
    "beacon",
    "thistle",
    "canyon",
    "sparrow",
    "quarry",
    "ember",
    "tundra",
    "marble",
)
_NUMBER = re.compile(r"\d(?:[\d,_]*\d)?")

_INTRO = (
    "Below is a long document. Somewhere in it is a special magic number. "
    "Read the document and answer the question after it."
)


@dataclass(frozen=True)
class NeedleTask:
    """One needle task: the observation and what it hides."""

    index: int
    key: str
    value: str
    depth: float
    observation: str
    context_tokens: int


def normalize(text: str) -> str:
    """NFKC, lower case, single spaces, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def parse_number(text: str) -> str | None:
    """The first number in ``text`` (digit-group separators ``,``/``_`` removed), or None."""
    match = _NUMBER.search(unicodedata.normalize("NFKC", text))
    return None if match is None else re.sub(r"[,_]", "", match.group(0))


def _compose(
    words: list[str], starts: list[int], n: int, depth: float, needle: str, question: str
) -> tuple[str, float]:
    """The observation with the first ``n`` haystack words and the needle at ``depth``."""
    target = depth * n
    boundaries = [b for b in starts if b <= n] + [n]
    pos = min(boundaries, key=lambda b: (abs(b - target), b))
    body = " ".join([*words[:pos], needle, *words[pos:n]])
    text = f"{_INTRO}\n\n<document>\n{body}\n</document>\n\nQuestion: {question}"
    return text, (pos / n if n else 0.0)


def build_task(
    index: int,
    rng: np.random.Generator,
    counter: TokenCounter,
    context_length: int,
    depth: float,
) -> NeedleTask:
    """Generate needle task ``index`` whose observation is at most ``context_length`` tokens.

    The haystack is cut at the word that brings the observation closest to
    ``context_length`` tokens of ``counter`` without exceeding it; the needle sentence sits
    at the sentence boundary nearest to ``depth`` (a fraction of the document).
    """
    key = f"{haystack._pick(rng, _KEY_FIRST)}-{haystack._pick(rng, _KEY_SECOND)}"
    value = str(int(rng.integers(1_000_000, 10_000_000)))
    needle = f"The special magic number for {key} is {value}."
    question = (
        f"What is the special magic number for {key} mentioned in the document? "
        "Answer with the number only."
    )
    min_words = context_length
    while True:
        sents = haystack.sentences(rng, min_words)
        words: list[str] = []
        starts: list[int] = []
        for s in sents:
            starts.append(len(words))
            words.extend(s.split(" "))
        full, _ = _compose(words, starts, len(words), depth, needle, question)
        if counter.count(full) >= context_length:
            break
        min_words *= 2
    empty, _ = _compose(words, starts, 0, depth, needle, question)
    if counter.count(empty) > context_length:
        raise ConfigError(
            f"context_length={context_length} is too short: the instructions, needle and "
            f"question alone take {counter.count(empty)} tokens; use a larger context_length"
        )
    lo, hi = 0, len(words)  # invariant: count(lo) <= target, count(hi) may exceed
    while lo < hi:
        mid = (lo + hi + 1) // 2
        text, _ = _compose(words, starts, mid, depth, needle, question)
        if counter.count(text) <= context_length:
            lo = mid
        else:
            hi = mid - 1
    text, actual_depth = _compose(words, starts, lo, depth, needle, question)
    return NeedleTask(
        index=index,
        key=key,
        value=value,
        depth=round(actual_depth, 4),
        observation=text,
        context_tokens=counter.count(text),
    )


class NeedleEnv(TextEnv[NeedleTask]):
    """Find one number hidden in a long, generated document.

    ## Description
    The observation is a document of filler prose, ``context_length`` tokens long in the
    target model's tokenizer, with one sentence "The special magic number for <key> is
    <value>." at a given depth, followed by a question asking for that number.

    ## Action / Observation
    Action: the model's answer as text. Observation: the document and question (reset);
    a short acknowledgement (after the answer).

    ## Rewards / Metric
    Exact match after normalisation: the first number in the answer (NFKC-normalised,
    digit-group separators ``,`` and ``_`` removed) must equal the needle's value; reward
    and ``info["score"]`` are 1.0 or 0.0. An answer with no number is a format failure
    (``info["parse_error"]``). ``info["contains"]`` tells whether the value appears anywhere
    in the answer (secondary, for analysis only).

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project: seeded haystack prose (:mod:`acbench_env.environments.haystack`),
    random keys and seven-digit values. Task ``i`` is a pure function of ``i``,
    ``generator_seed`` and the other arguments.

    ## Arguments
    ``context_length`` (tokens of the observation in ``tokenizer``, default 1024; it must
    leave 64 tokens of the model's window free for the chat template and the answer),
    ``depth`` (fraction in [0, 1]; ``None`` draws each task's depth from ``depths``),
    ``num_tasks``, ``tokenizer`` (``"default"``, a model folder, a ``tokenizer.json`` path, a
    transformers tokenizer, or a :class:`~acbench_env.core.models.TokenCounter`), ``window``
    (overrides the context window read from the tokenizer's model), ``generator_seed``.

    ## Difficulty levels
    Longer ``context_length`` and middle depths are harder.

    ## Version History
    v0: initial version.
    """

    capability = "long_context"
    primary_metric = "exact_match"

    def __init__(
        self,
        context_length: int = 1024,
        depth: float | None = None,
        depths: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
        num_tasks: int = 50,
        tokenizer: Any = "default",
        window: int | None = None,
        generator_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        if not isinstance(context_length, int) or context_length < 1:
            raise ConfigError(f"context_length must be a positive int, got {context_length!r}")
        for d in depths if depth is None else (depth,):
            if not 0.0 <= float(d) <= 1.0:
                raise ConfigError(f"depth must be a fraction in [0, 1], got {d!r}")
        if num_tasks < 1:
            raise ConfigError(f"num_tasks must be at least 1, got {num_tasks}")
        self.counter = token_counter(tokenizer)
        self.window = window if window is not None else self.counter.window
        if self.window is not None and context_length + RESERVED_TOKENS > self.window:
            raise ContextLengthError(
                f"context_length={context_length} does not fit the context window of "
                f"{self.counter.name} ({self.window} tokens, of which {RESERVED_TOKENS} are kept "
                f"for the chat template and the answer); use context_length <= "
                f"{self.window - RESERVED_TOKENS}"
            )
        self.context_length = context_length
        self.depth = None if depth is None else float(depth)
        self.depths = tuple(float(d) for d in depths)
        self._num_tasks = int(num_tasks)
        self.generator_seed = int(generator_seed)

    @property
    def num_tasks(self) -> int:
        return self._num_tasks

    def make_task(self, index: int) -> NeedleTask:
        rng = np.random.default_rng([self.generator_seed, index])
        depth = (
            self.depth
            if self.depth is not None
            else float(self.depths[int(rng.integers(len(self.depths)))])
        )
        return build_task(index, rng, self.counter, self.context_length, depth)

    def task_id(self, task: NeedleTask) -> str:
        return f"needle-{self.context_length}-{task.index}"

    def start(self, task: NeedleTask) -> tuple[str, dict[str, Any]]:
        return task.observation, {
            "context_tokens": task.context_tokens,
            "depth": task.depth,
            "tokenizer": self.counter.name,
        }

    def apply(self, task: NeedleTask, action: str) -> StepOutcome:
        answer = parse_number(action)
        correct = answer is not None and answer == task.value
        return StepOutcome(
            observation="Answer recorded.",
            reward=1.0 if correct else 0.0,
            terminated=True,
            score=1.0 if correct else 0.0,
            success=correct,
            parsed_action=answer,
            parse_error=None if answer is not None else "no number in the answer",
            info={
                "gold": task.value,
                "contains": task.value in normalize(action).replace(",", ""),
                "context_tokens": task.context_tokens,
                "depth": task.depth,
            },
        )

    def oracle_action(self) -> str:
        return self.task.value
