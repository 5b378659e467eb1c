"""Documents of an exact token length: haystack prose with sentences inserted at chosen
depths, fitted to a token budget, and cut (only on request) to fit a context window.

A document is fixed text before and after a body of haystack words with some sentences
(needles, assignments, facts) inserted at chosen depths. :func:`fit_document` finds the
number of haystack words by binary search on the *target tokenizer's* count, so that the
document is as close as possible to the requested length without exceeding it. With a
``limit`` (the usable part of the model's window) and a truncation policy, a longer
document has whole units removed from its start (``"left"``) or middle (``"middle"``) until
it fits, and the cut is recorded (:class:`TruncationRecord`), never hidden. Which lengths
are allowed, and the tokenizer, are decided by :class:`~acbench_env.environments.longctx.
LongContextEnv`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.models import TokenCounter
from acbench_env.environments.haystack import Haystack


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
        return {**asdict(self), "lost_inserts": list(self.lost_inserts)}


@dataclass(frozen=True)
class FittedDocument:
    """An observation fitted to a token budget."""

    text: str
    context_tokens: int
    depths: tuple[float, ...]
    truncation: TruncationRecord | None = None

    @property
    def truncation_info(self) -> dict[str, Any] | None:
        """The cut as recorded in ``info["truncation"]``, or None when nothing was cut."""
        return None if self.truncation is None else self.truncation.as_info()


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
