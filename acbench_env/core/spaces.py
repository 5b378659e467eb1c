"""A Gymnasium space for free-form text (observations and actions of text environments)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

# Printable ASCII plus whitespace and a few non-ASCII characters, so that sampled actions
# exercise the parsers with the kind of text models emit.
_SAMPLE_ALPHABET = [chr(c) for c in range(32, 127)] + ["\n", "\t"] + list("éü→✓日本<>{}[]\"'")


class TextSpace(spaces.Space[str]):
    """Any Python ``str`` of at most ``max_length`` characters.

    Unlike :class:`gymnasium.spaces.Text`, whose character set is alphanumeric by default,
    this space admits every character: the observations of text environments are prose and
    JSON, and their actions are whatever a language model emits.
    """

    def __init__(self, max_length: int = 1_000_000, seed: int | np.random.Generator | None = None):
        if max_length < 1:
            raise ValueError(f"max_length must be positive, got {max_length}")
        self.max_length = int(max_length)
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        """Random text of up to 64 characters drawn from a mixed alphabet (seeded via ``seed``)."""
        length = int(self.np_random.integers(0, min(64, self.max_length) + 1))
        idx = self.np_random.integers(0, len(_SAMPLE_ALPHABET), size=length)
        return "".join(_SAMPLE_ALPHABET[i] for i in idx)

    def __repr__(self) -> str:
        return f"TextSpace(max_length={self.max_length})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextSpace) and other.max_length == self.max_length

    def __hash__(self) -> int:
        return hash(("TextSpace", self.max_length))
