"""The base of the RULER-style variants: a task is a design (the sentences hidden in one
haystack, the question, the gold answers) and a scoring rule, per difficulty level.

:class:`HaystackVariantEnv` turns a subclass's :meth:`~HaystackVariantEnv.design` into a
document fitted to ``context_length`` tokens (through
:class:`~acbench_env.environments.longctx.LongContextEnv`) and its
:meth:`~HaystackVariantEnv.score` into the step's outcome. The variants themselves are in
:mod:`acbench_env.environments.ruler`.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from acbench_env.core.env import StepOutcome
from acbench_env.environments import ladders
from acbench_env.environments.documents import Insert
from acbench_env.environments.longctx import LeveledLongContextEnv, answer_recorded

NEEDLE_INTRO = (
    "Below is a long document. Hidden in it are special magic numbers, each for a key. "
    "Read the document and answer the question after it."
)


@dataclass(frozen=True)
class Design:
    """What a variant hides and asks: inserts, the question, gold answers, the oracle."""

    inserts: tuple[Insert, ...]
    question: str
    gold: tuple[str, ...]
    oracle: str
    intro: str = NEEDLE_INTRO


@dataclass(frozen=True)
class VariantTask:
    """One generated task of a variant."""

    index: int
    observation: str
    context_tokens: int
    gold: tuple[str, ...]
    oracle: str
    depths: tuple[float, ...]
    truncation: dict[str, Any] | None = None


class HaystackVariantEnv(LeveledLongContextEnv[VariantTask]):
    """Shared arguments and episode logic of the RULER-style variants (not registered): a
    subclass states what a task hides and asks (:meth:`design`) and how an answer scores
    (:meth:`score`), per difficulty level (:attr:`presets`, read through :attr:`preset`)."""

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.RULER

    id_prefix: ClassVar[str] = "variant"

    @abstractmethod
    def design(self, rng: np.random.Generator) -> Design:
        """The hidden sentences, question and answers of one task."""

    @abstractmethod
    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        """``(score, parsed answer, parse error)`` of ``action`` (never raises)."""

    def make_task(self, index: int) -> VariantTask:
        rng = self.task_rng(index)
        d = self.design(rng)
        doc = self.fit_haystack(
            rng, f"{d.intro}\n\n<document>\n", f"\n</document>\n\nQuestion: {d.question}", d.inserts
        )
        return VariantTask(
            index=index,
            observation=doc.text,
            context_tokens=doc.context_tokens,
            gold=d.gold,
            oracle=d.oracle,
            depths=doc.depths,
            truncation=doc.truncation_info,
        )

    def task_id(self, task: VariantTask) -> str:
        return f"{self.id_prefix}-{self.level}-{self.context_length}-{task.index}"

    def task_info(self, task: VariantTask) -> dict[str, Any]:
        return {"depths": list(task.depths), "level": self.level}

    def apply(self, task: VariantTask, action: str) -> StepOutcome:
        score, parsed, error = self.score(task, action)
        return answer_recorded(
            score,
            success=score == 1.0,
            parsed=parsed,
            error=error,
            info={"gold": list(task.gold), "context_tokens": task.context_tokens},
        )

    def oracle_action(self) -> str:
        return self.task.oracle


ARGS_DOC = """``context_length`` (tokens of the observation in ``tokenizer``'s count, default 1024;
    it must leave 64 tokens of the window free unless ``truncation`` is ``"left"`` or
    ``"middle"``, in which case the document is cut to fit and the cut is recorded in
    ``info["truncation"]``), ``level`` (``"easy"``, ``"medium"``, ``"hard"``), ``num_tasks``
    (default 20), ``tokenizer``, ``window``, ``generator_seed`` (as for
    ``acbench/Needle-v0``)."""
