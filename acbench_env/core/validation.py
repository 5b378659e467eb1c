"""Checked integer and fraction arguments: one :class:`ConfigError` message style.

Every public constructor and driver that takes a count, a bounded integer or a fraction
checks it with one of these, so a bad value always fails the same way, before any work is
done: ``num_tasks must be a positive int (at least 1), got 0``.

Integers: anything with ``__index__`` (``int``, NumPy integers) except ``bool``; floats and
strings are refused rather than rounded. Fractions: any real number except ``bool``; NaN
is refused (it is in no interval).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Collection
from typing import Any, TypeVar

from acbench_env.core.errors import ConfigError

T = TypeVar("T")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def int_at_least(name: str, value: Any, low: int) -> int:
    """``value`` as an int ``>= low``, else a :class:`ConfigError` naming ``name``."""
    number = _as_int(value)
    if number is None or number < low:
        if low == 1:
            raise ConfigError(f"{name} must be a positive int (at least 1), got {value!r}")
        raise ConfigError(f"{name} must be an int of at least {low}, got {value!r}")
    return number


def positive_int(name: str, value: Any) -> int:
    """``value`` as an int ``>= 1`` (a count), else a :class:`ConfigError` naming ``name``."""
    return int_at_least(name, value, 1)


def int_in_range(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high]``, else a :class:`ConfigError` naming ``name``."""
    number = _as_int(value)
    if number is None or not low <= number <= high:
        raise ConfigError(f"{name} must be an int from {low} to {high}, got {value!r}")
    return number


def fraction(
    name: str, value: Any, *, include_low: bool = True, include_high: bool = True
) -> float:
    """``value`` as a float in ``[0, 1]`` (an end is open when its ``include_`` flag is
    false), else a :class:`ConfigError` naming ``name`` and the interval."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = (
            not math.isnan(x)
            and (x >= 0.0 if include_low else x > 0.0)
            and (x <= 1.0 if include_high else x < 1.0)
        )
    if not ok:
        interval = f"{'[' if include_low else '('}0, 1{']' if include_high else ')'}"
        raise ConfigError(f"{name} must be a fraction in {interval}, got {value!r}")
    return float(value)


def one_of(name: str, value: T, choices: Collection[Any]) -> T:
    """``value`` if it is one of ``choices``, else a :class:`ConfigError` naming ``name``
    and the choices (as ``choices`` prints: pass a sorted list for a set or a mapping)."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}")
    return value
