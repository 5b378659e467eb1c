"""Difficulty ladders: every environment declares its settings from easiest to hardest.

A :class:`Ladder` is an ordered tuple of :class:`Rung` s; a rung is a name and the environment
arguments that set it (``env_kwargs`` passed to ``gymnasium.make``). Rung 0 is the easiest:
settings that help a small model without changing the skill measured (more solved examples
as chat turns, fewer candidates or distractors, shorter documents); the last rung is the
hardest. An environment class declares its ladder in the class attribute ``ladder``
(:attr:`acbench_env.core.env.TextEnv.ladder`); ``acbench envs --ladders`` lists them and
``acbench calibrate`` searches them for the rung whose base-model score is nearest a target.

:func:`rung_of` names the rung that a run's effective arguments select (recorded in each
trajectory as ``rung``), so a score is never separated from the difficulty it was measured at.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from acbench_env.core.errors import ConfigError


@dataclass(frozen=True)
class Rung:
    """One setting of an environment's difficulty: a name, its env arguments, a note."""

    name: str
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "env_kwargs": dict(self.env_kwargs), "note": self.note}


@dataclass(frozen=True)
class Ladder:
    """Rungs ordered from easiest (index 0) to hardest. Names are unique."""

    rungs: tuple[Rung, ...] = ()

    def __post_init__(self) -> None:
        names = [r.name for r in self.rungs]
        if len(set(names)) != len(names):
            raise ConfigError(f"ladder rung names must be unique, got {names}")

    def __len__(self) -> int:
        return len(self.rungs)

    def __iter__(self) -> Iterator[Rung]:
        return iter(self.rungs)

    def __getitem__(self, index: int) -> Rung:
        return self.rungs[index]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rungs)

    def index(self, name: str) -> int:
        """Position of the rung called ``name`` (0 = easiest)."""
        for i, rung in enumerate(self.rungs):
            if rung.name == name:
                return i
        raise ConfigError(
            f"unknown rung {name!r}; this ladder has {', '.join(self.names) or 'no rungs'}"
        )

    def rung(self, name: str) -> Rung:
        return self.rungs[self.index(name)]

    def match(self, effective_kwargs: Mapping[str, Any]) -> Rung | None:
        """The rung whose arguments all equal ``effective_kwargs`` (the env's arguments with
        its defaults filled in); of several, the one that fixes the most arguments, then the
        easiest. ``None`` when no rung matches (a custom setting)."""
        best: Rung | None = None
        for rung in self.rungs:
            if all(
                k in effective_kwargs and _same(effective_kwargs[k], v)
                for k, v in rung.env_kwargs.items()
            ) and (best is None or len(rung.env_kwargs) > len(best.env_kwargs)):
                best = rung
        return best

    def record(self) -> list[dict[str, Any]]:
        return [r.record() for r in self.rungs]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def effective_kwargs(
    cls: type, registered: Mapping[str, Any], env_kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments an env of class ``cls`` runs with: ``__init__`` defaults, overridden by
    the registration's ``kwargs``, overridden by ``env_kwargs``."""
    out: dict[str, Any] = {}
    try:
        params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    for name, p in params.items():
        if p.default is not inspect.Parameter.empty:
            out[name] = p.default
    out.update(registered)
    out.update(env_kwargs)
    return out


def rung_of(cls: type, registered: Mapping[str, Any], env_kwargs: Mapping[str, Any]) -> str | None:
    """Name of the rung of ``cls.ladder`` that ``env_kwargs`` select, or ``None``."""
    ladder = getattr(cls, "ladder", None)
    if not isinstance(ladder, Ladder) or not ladder.rungs:
        return None
    rung = ladder.match(effective_kwargs(cls, registered, env_kwargs))
    return None if rung is None else rung.name
