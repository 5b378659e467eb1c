"""Seeded draws shared by the task generators: one element, or a shuffled copy.

Each helper makes exactly one generator call (``integers`` or ``permutation``), so code that
uses it draws the same stream as code that writes the call out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element of ``options``, drawn with ``rng``."""
    return options[int(rng.integers(len(options)))]


def shuffle(rng: np.random.Generator, items: Sequence[T]) -> list[T]:
    """The elements of ``items`` in an order drawn with ``rng`` (a new list)."""
    return [items[int(i)] for i in rng.permutation(len(items))]
