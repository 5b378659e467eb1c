"""Magic-number needles, shared by ``acbench/Needle-v0`` and the RULER-style variants:
keys, values, the needle sentence, and reading numbers back out of an answer.

A needle is "The special magic number for <key> is <value>." with a two-word key
(``amber-falcon``) and a seven-digit value. The draws are seeded by the caller's RNG.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.environments.sampling import pick

KEY_FIRST = (
    "silver", "amber", "cobalt", "crimson", "ivory", "jade", "scarlet", "golden", "violet",
    "copper", "indigo", "olive", "coral", "slate", "pearl", "russet",
)  # fmt: skip
KEY_SECOND = (
    "falcon", "harbor", "lantern", "meadow", "orchid", "glacier", "compass", "willow",
    "beacon", "thistle", "canyon", "sparrow", "quarry", "ember", "tundra", "marble",
)  # fmt: skip
#: Needle values are drawn from ``[low, high)``: seven digits.
VALUE_RANGE = (1_000_000, 10_000_000)
_NUMBER = re.compile(r"\d(?:[\d,_]*\d)?")


def needle(key: str, value: str) -> str:
    """The needle sentence hiding ``value`` under ``key``."""
    return f"The special magic number for {key} is {value}."


def random_key(rng: np.random.Generator) -> str:
    """One ``first-second`` key."""
    return f"{pick(rng, KEY_FIRST)}-{pick(rng, KEY_SECOND)}"


def distinct_keys(rng: np.random.Generator, count: int, near_miss: bool) -> list[str]:
    """``count`` distinct ``first-second`` keys (the first drawn as :func:`random_key` draws
    it); with ``near_miss`` every key after the first shares one of its two words with the
    first (the query key)."""
    if count > len(KEY_FIRST) * len(KEY_SECOND) or (
        near_miss and count > len(KEY_FIRST) + len(KEY_SECOND) - 1
    ):
        raise ConfigError(f"cannot make {count} distinct keys")
    first = (pick(rng, KEY_FIRST), pick(rng, KEY_SECOND))
    keys = [first]
    while len(keys) < count:
        if near_miss and len(keys) % 2 == 1:
            cand = (first[0], pick(rng, KEY_SECOND))
        elif near_miss:
            cand = (pick(rng, KEY_FIRST), first[1])
        else:
            cand = (pick(rng, KEY_FIRST), pick(rng, KEY_SECOND))
        if cand not in keys:
            keys.append(cand)
    return [f"{a}-{b}" for a, b in keys]


def distinct_numbers(
    rng: np.random.Generator, count: int, low: int = VALUE_RANGE[0], high: int = VALUE_RANGE[1]
) -> list[str]:
    """``count`` distinct numbers from ``[low, high)`` as text (needle values by default)."""
    out: list[str] = []
    while len(out) < count:
        value = str(int(rng.integers(low, high)))
        if value not in out:
            out.append(value)
    return out


def random_depths(rng: np.random.Generator, count: int) -> list[float]:
    """``count`` depths drawn uniformly from [0, 1)."""
    return [float(d) for d in rng.uniform(0.0, 1.0, size=count)]


def normalize(text: str) -> str:
    """NFKC, lower case, single spaces, stripped."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def parse_number(text: str) -> str | None:
    """The first number in ``text`` (digit-group separators ``,``/``_`` removed), or None."""
    match = _NUMBER.search(unicodedata.normalize("NFKC", text))
    return None if match is None else re.sub(r"[,_]", "", match.group(0))
