"""The noise floor: a control comparison that should show no effect, scored like a delta.

A suite may run controls next to its compressed variants (``acbench suite --control``): the
base model again under a nuisance change (another activation dtype) or a named control
variant (e.g. 8-bit RTN). Their delta against the base is what "no effect" looks like at the
suite's size; a report prints it beside the compression deltas. :func:`noise_floor` is that
delta (the same interval as every other delta) plus how many episodes changed score at all.
Pure: paired scores in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from acbench_env.scoring.deltas import Delta, PairedGroup, paired_bootstrap_delta


@dataclass(frozen=True)
class NoiseFloor:
    """A control's delta against the base, and the share of paired episodes whose score
    differs (0 when the nuisance changed nothing)."""

    label: str
    delta: Delta
    changed: int
    pairs: int

    @property
    def changed_fraction(self) -> float:
        return self.changed / self.pairs if self.pairs else float("nan")

    @property
    def holds(self) -> bool:
        """The negative control holds: its interval includes 0."""
        return not self.delta.significant

    def record(self) -> dict[str, object]:
        d = self.delta
        return {
            "label": self.label,
            "pairs": self.pairs,
            "changed": self.changed,
            "absolute": d.absolute,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "method": d.method,
            "mde": d.mde,
            "holds": self.holds,
        }


def noise_floor(
    label: str, groups: Sequence[PairedGroup], *, method: str | None = None
) -> NoiseFloor:
    """The control ``label``'s delta over ``groups`` (base = the base model, compressed = the
    control), with the default interval unless ``method`` is given."""
    delta = (
        paired_bootstrap_delta(groups)
        if method is None
        else paired_bootstrap_delta(groups, method=method)
    )
    changed = sum(1 for g in groups for b, c in zip(g.base, g.compressed) if abs(b - c) > 1e-12)
    return NoiseFloor(label, delta, changed, sum(len(g.base) for g in groups))
