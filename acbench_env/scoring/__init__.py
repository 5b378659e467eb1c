"""Scoring: pure functions from trajectories to numbers (no model needed)."""

from acbench_env.scoring.summary import RunSummary, bootstrap_ci, format_table, summarize

__all__ = ["RunSummary", "bootstrap_ci", "format_table", "summarize"]
