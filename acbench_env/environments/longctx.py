"""Shared machinery of the long-context environments: documents of an exact token length.

Every long-context environment builds its observation the same way: seeded haystack prose
(:mod:`acbench_env.environments.haystack`) with some sentences (needles, assignments,
facts) inserted at chosen depths, a fixed text before it and a question after it. The
number of haystack words is fitted by binary search on the *target tokenizer's* count so
that the observation is as close as possible to ``context_length`` tokens without
exceeding it.

A length that does not fit the model's window is an error (:func:`check_context_length`)
unless the caller opts in to a truncation policy (:data:`TRUNCATION_POLICIES`): the
document is then built at the requested length and whole words (and whole inserted
sentences) are removed from its start (``"left"``) or its middle (``"middle"``) until it
fits; what was removed is recorded (:class:`TruncationRecord`), never hidden.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.models import TokenCounter
from acbench_env.environments import haystack

#: Tokens kept free beyond the observation for the chat template and the answer.
RESERVED_TOKENS = 64
#: Opt-in truncation policies for lengths beyond the window.
TRUNCATION_POLICIES = ("left", "middle")
#: Difficulty presets shared by the long-context variants.
LEVELS = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Haystack:
    """Filler words and the word index at which each sentence starts."""

    words: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def generate(cls, rng: np.random.Generator, min_words: int) -> Haystack:
        words: list[str] = []
        starts: list[int] = []
        for s in haystack.sentences(rng, min_words):
            starts.append(len(words))
            words.extend(s.split(" "))
        return cls(tuple(words), tuple(starts))

    def __len__(self) -> int:
        return len(self.words)


@dataclass(frozen=True)
class Insert:
    """A sentence to place in a haystack at ``depth`` (a fraction of its words)."""

    text: str
    depth: float


@dataclass(frozen=True)
class Units:
    """A document as fixed text before and after a body of units joined by spaces.

    A unit is a haystack word, an inserted sentence or a section header; truncation
    removes whole units. ``marks[i]`` is the position of insert ``i`` among the units.
    """

    prefix: str
    units: tuple[str, ...]
    suffix: str

    @property
    def text(self) -> str:
        body = " ".join(self.units).replace(" \n", "\n").replace("\n ", "\n")
        return f"{self.prefix}{body}{self.suffix}"


@dataclass(frozen=True)
class TruncationRecord:
    """How a document longer than the window was cut (recorded in ``info``)."""

    policy: str
    requested_tokens: int
    limit_tokens: int
    removed_units: int
    lost_inserts: tuple[str, ...]

    def as_info(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "requested_tokens": self.requested_tokens,
            "limit_tokens": self.limit_tokens,
            "removed_units": self.removed_units,
            "lost_inserts": list(self.lost_inserts),
        }


@dataclass(frozen=True)
class FittedDocument:
    """An observation fitted to a token budget."""

    text: str
    context_tokens: int
    depths: tuple[float, ...]
    truncation: TruncationRecord | None = None


def _nearest(boundaries: Sequence[int], target: float) -> int:
    """The boundary nearest ``target`` (the earlier one on a tie)."""
    return min(boundaries, key=lambda b: (abs(b - target), b))


def place(hay: Haystack, n: int, inserts: Sequence[Insert]) -> tuple[list[str], list[float]]:
    """The first ``n`` haystack words with each insert at the sentence boundary nearest its
    depth (inserts at the same boundary keep their order); also each insert's actual depth."""
    boundaries = [b for b in hay.starts if b <= n] + [n]
    positions = [_nearest(boundaries, ins.depth * n) for ins in inserts]
    order = sorted(range(len(inserts)), key=lambda i: (positions[i], i))
    units: list[str] = []
    cursor = 0
    for i in order:
        units.extend(hay.words[cursor : positions[i]])
        units.append(inserts[i].text)
        cursor = positions[i]
    units.extend(hay.words[cursor:n])
    return units, [(p / n if n else 0.0) for p in positions]


@dataclass(frozen=True)
class LengthSetup:
    """The checked length arguments of a long-context env and the tokenizer that counts."""

    context_length: int
    counter: TokenCounter
    window: int | None
    limit: int | None
    truncation: str | None


def setup_length(
    context_length: Any, tokenizer: Any, window: int | None, truncation: str | None
) -> LengthSetup:
    """Validate ``context_length`` (before loading anything), load the tokenizer, and check the
    length against the window (``window`` overrides the tokenizer's own)."""
    if (
        isinstance(context_length, bool)
        or not isinstance(context_length, int)
        or context_length < 1
    ):
        raise ConfigError(f"context_length must be a positive int, got {context_length!r}")
    counter = load_counter(tokenizer)
    window = window if window is not None else counter.window
    limit = check_context_length(context_length, window, counter.name, truncation)
    return LengthSetup(context_length, counter, window, limit, truncation)


def check_context_length(
    context_length: Any,
    window: int | None,
    tokenizer_name: str,
    truncation: str | None = None,
) -> int | None:
    """Validate a requested length; return the token limit the observation must meet.

    Without ``truncation``, a length that leaves fewer than :data:`RESERVED_TOKENS` of the
    window free is a :class:`ContextLengthError` naming the window. With a policy, the
    returned limit is the window's usable part (the document is cut to it); ``None`` means
    no limit (unknown window, or the length fits).
    """
    if isinstance(context_length, bool) or not isinstance(context_length, int):
        raise ConfigError(f"context_length must be a positive int, got {context_length!r}")
    if context_length < 1:
        raise ConfigError(f"context_length must be a positive int, got {context_length!r}")
    if truncation is not None and truncation not in TRUNCATION_POLICIES:
        raise ConfigError(
            f"truncation must be None (refuse lengths beyond the window) or one of "
            f"{list(TRUNCATION_POLICIES)}, got {truncation!r}"
        )
    if window is None or context_length + RESERVED_TOKENS <= window:
        return None
    if truncation is None:
        raise ContextLengthError(
            f"context_length={context_length} does not fit the context window of "
            f"{tokenizer_name} ({window} tokens, of which {RESERVED_TOKENS} are kept "
            f"for the chat template and the answer); use context_length <= "
            f"{window - RESERVED_TOKENS}, or opt in to truncation with truncation='left' or "
            "truncation='middle'"
        )
    return window - RESERVED_TOKENS


def check_depth(depth: Any) -> float:
    """``depth`` as a float in [0, 1], else a :class:`ConfigError`."""
    try:
        value = float(depth)
    except (TypeError, ValueError):
        raise ConfigError(f"depth must be a fraction in [0, 1], got {depth!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"depth must be a fraction in [0, 1], got {depth!r}")
    return value


def check_level(level: Any) -> str:
    if level not in LEVELS:
        raise ConfigError(f"level must be one of {list(LEVELS)}, got {level!r}")
    return str(level)


def largest_fitting(
    counter: TokenCounter, target: int, compose: Callable[[int], str], hi: int
) -> int:
    """The largest ``n`` in ``[0, hi]`` with ``count(compose(n)) <= target`` (binary search).

    Raises :class:`ConfigError` when even ``compose(0)`` is longer than ``target``.
    """
    empty = counter.count(compose(0))
    if empty > target:
        raise ConfigError(
            f"context_length={target} is too short: the instructions, needle and "
            f"question alone take {empty} tokens; use a larger context_length"
        )
    lo = 0  # invariant: count(compose(lo)) <= target
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if counter.count(compose(mid)) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


def grow_haystacks(
    rng: np.random.Generator,
    counter: TokenCounter,
    target: int,
    count: int,
    full_text: Callable[[list[Haystack]], str],
) -> list[Haystack]:
    """``count`` haystacks, regenerated with twice the words until ``full_text`` of them
    reaches ``target`` tokens (so the binary search has enough words to choose from)."""
    min_words = max(1, target // count)
    while True:
        hays = [Haystack.generate(rng, min_words) for _ in range(count)]
        if counter.count(full_text(hays)) >= target:
            return hays
        min_words *= 2


def truncate(counter: TokenCounter, doc: Units, limit: int, policy: str) -> tuple[Units, int]:
    """Remove the fewest whole units from the start (``left``) or middle (``middle``) of
    ``doc``'s body so that it fits ``limit`` tokens; returns the cut document and the
    number of units removed."""

    def cut(k: int) -> Units:
        units = doc.units
        if policy == "left":
            kept = units[k:]
        else:
            start = (len(units) - k) // 2
            kept = units[:start] + units[start + k :]
        return Units(doc.prefix, kept, doc.suffix)

    if counter.count(cut(len(doc.units)).text) > limit:
        raise ContextLengthError(
            f"the fixed text of this task alone exceeds the {limit}-token limit of the window; "
            "use a smaller context_length"
        )
    lo, hi = 0, len(doc.units)  # invariant: cut(hi) fits
    while lo < hi:
        mid = (lo + hi) // 2
        if counter.count(cut(mid).text) <= limit:
            hi = mid
        else:
            lo = mid + 1
    return cut(hi), hi


def fit_document(
    rng: np.random.Generator,
    counter: TokenCounter,
    context_length: int,
    compose: Callable[[list[Haystack], int], tuple[Units, list[float]]],
    *,
    sections: int = 1,
    inserts: Sequence[str] = (),
    limit: int | None = None,
    truncation: str | None = None,
) -> FittedDocument:
    """Build the observation closest to ``context_length`` tokens without exceeding it.

    ``compose(haystacks, n)`` lays out the document using the first ``n`` words of each of
    the ``sections`` haystacks and returns it with the actual depth of each insert. With a
    ``limit`` (the window's usable part, from :func:`check_context_length`) and a
    ``truncation`` policy, a document longer than ``limit`` is cut and the cut recorded;
    ``inserts`` (the inserted sentences) are checked for loss.
    """
    hays = grow_haystacks(
        rng,
        counter,
        context_length,
        sections,
        lambda hs: compose(hs, min(len(h) for h in hs))[0].text,
    )
    hi = min(len(h) for h in hays)
    n = largest_fitting(counter, context_length, lambda k: compose(hays, k)[0].text, hi)
    doc, depths = compose(hays, n)
    record = None
    if limit is not None and counter.count(doc.text) > limit:
        if truncation is None:
            raise ContextLengthError(
                f"the observation needs more than the {limit} tokens the window leaves; "
                "use a smaller context_length or a truncation policy"
            )
        requested = counter.count(doc.text)
        doc, removed = truncate(counter, doc, limit, truncation)
        kept = set(doc.units)
        record = TruncationRecord(
            policy=truncation,
            requested_tokens=requested,
            limit_tokens=limit,
            removed_units=removed,
            lost_inserts=tuple(s for s in inserts if s not in kept),
        )
    text = doc.text
    return FittedDocument(
        text=text,
        context_tokens=counter.count(text),
        depths=tuple(round(d, 4) for d in depths),
        truncation=record,
    )


def haystack_document(
    rng: np.random.Generator,
    counter: TokenCounter,
    context_length: int,
    prefix: str,
    suffix: str,
    inserts: Sequence[Insert],
    *,
    limit: int | None = None,
    truncation: str | None = None,
) -> FittedDocument:
    """One haystack with ``inserts``, between ``prefix`` and ``suffix``, fitted by tokens."""

    def compose(hays: list[Haystack], n: int) -> tuple[Units, list[float]]:
        units, depths = place(hays[0], n, inserts)
        return Units(prefix, tuple(units), suffix), depths

    return fit_document(
        rng,
        counter,
        context_length,
        compose,
        inserts=[i.text for i in inserts],
        limit=limit,
        truncation=truncation,
    )


def load_counter(tokenizer: Any) -> TokenCounter:
    """:func:`~acbench_env.core.models.token_counter`, with any failure to load the
    tokenizer turned into one clear :class:`~acbench_env.core.errors.ModelNotFoundError`.

    Counters named by a string (``"default"``, a path) are loaded once per process and
    shared: a tokenizer used only to count is immutable, and loading it dominates the cost
    of building an environment (a needle grid builds one per cell)."""
    if isinstance(tokenizer, (str, os.PathLike)) or tokenizer is None:
        return _cached_counter(None if tokenizer is None else os.fspath(tokenizer))
    return _load_counter(tokenizer)


@functools.lru_cache(maxsize=8)
def _cached_counter(tokenizer: str | None) -> TokenCounter:
    return _load_counter(tokenizer)


def _load_counter(tokenizer: Any) -> TokenCounter:
    from acbench_env.core.errors import AcbenchError, ModelNotFoundError
    from acbench_env.core.models import token_counter

    try:
        return token_counter(tokenizer)
    except AcbenchError:
        raise
    except Exception as exc:  # tokenizers raises plain Exceptions on a corrupt file
        raise ModelNotFoundError(
            f"cannot load the tokenizer {tokenizer!r} ({type(exc).__name__}: {exc}); pass "
            "'default', a model folder, a valid tokenizer.json, or a transformers tokenizer"
        ) from exc
