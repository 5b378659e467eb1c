"""The base of generated long-context tasks: lengths in the target model's tokens, capped
at its window, never silently truncated.

A long-context environment (``acbench/Needle-v0``, the RULER-style variants, LongDocQA)
shows one generated document of ``context_length`` tokens *of the target model's
tokenizer* and asks a question about it. :class:`LongContextEnv` owns what they share:
checking the length and the truncation policy before anything is loaded, loading the
tokenizer that counts (:func:`load_counter`), refusing a length that does not fit the
model's window (:func:`check_context_length`) unless the caller opts in to a truncation
policy (:data:`TRUNCATION_POLICIES`, the cut then recorded in ``info["truncation"]``),
fitting documents to the length (:meth:`LongContextEnv.fit_haystack`,
:meth:`LongContextEnv.fit_sections`, built on :mod:`acbench_env.environments.documents`),
the seeded task stream (:class:`~acbench_env.core.env.GeneratedTasks`), one answer per
episode, and the ``info`` of ``reset`` (``context_tokens``, ``tokenizer``, ``truncation``,
plus what :meth:`LongContextEnv.task_info` adds).

A subclass sets ``primary_metric``, writes ``make_task`` (drawing from
``self.task_rng(index)`` and fitting with the methods above), ``task_id``, ``apply`` and
``oracle_action``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from acbench_env.core.env import GeneratedTasks, StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.models import TokenCounter
from acbench_env.core.validation import fraction, one_of, positive_int
from acbench_env.environments import documents
from acbench_env.environments.documents import FittedDocument, Insert, Units
from acbench_env.environments.haystack import Haystack

#: Tokens kept free beyond the observation for the chat template and the answer.
RESERVED_TOKENS = 64
#: Opt-in truncation policies for lengths beyond the window.
TRUNCATION_POLICIES = ("left", "middle")
#: Difficulty presets shared by the long-context variants.
LEVELS = ("easy", "medium", "hard")


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
    context_length = positive_int("context_length", context_length)
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
    return fraction("depth", depth)


def check_level(level: Any) -> str:
    """``level`` if it is one of :data:`LEVELS`, else a :class:`ConfigError`."""
    return str(one_of("level", level, list(LEVELS)))


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


class LongContextTask(Protocol):
    """What :class:`LongContextEnv` reads from a task: its observation and how it was fitted."""

    @property
    def observation(self) -> str: ...

    @property
    def context_tokens(self) -> int: ...

    @property
    def truncation(self) -> dict[str, Any] | None: ...


TaskT = TypeVar("TaskT", bound=LongContextTask)


def answer_recorded(
    score: float,
    *,
    success: bool,
    parsed: Any = None,
    error: str | None = None,
    info: dict[str, Any],
) -> StepOutcome:
    """The outcome of the one answer of a long-context episode: the reward is the score."""
    return StepOutcome(
        observation="Answer recorded.",
        reward=float(score),
        terminated=True,
        score=float(score),
        success=success,
        parsed_action=parsed,
        parse_error=error,
        info=info,
    )


class LongContextEnv(GeneratedTasks, TextEnv[TaskT]):
    """Shared arguments and episode set-up of the generated long-context tasks (not
    registered; see the module docstring).

    Arguments (subclasses list them in their own order and pass them on in this one):
    ``context_length`` (tokens of the observation in ``tokenizer``'s count; it must leave
    :data:`RESERVED_TOKENS` of the window free unless ``truncation`` is given),
    ``tokenizer`` (``"default"``, a model folder, a ``tokenizer.json`` path, a transformers
    tokenizer, or a :class:`~acbench_env.core.models.TokenCounter`), ``window`` (overrides
    the window read from the tokenizer's model), ``truncation`` (``None``, ``"left"`` or
    ``"middle"``), ``num_tasks``, ``generator_seed``.
    """

    capability = "long_context"

    def __init__(
        self,
        context_length: int,
        tokenizer: Any,
        window: int | None,
        truncation: str | None,
        num_tasks: int,
        generator_seed: int,
        render_mode: str | None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        self._set_generated_tasks(num_tasks, generator_seed)
        # The length is checked before the tokenizer is loaded, the window after.
        self.context_length = positive_int("context_length", context_length)
        self.counter = load_counter(tokenizer)
        self.window = window if window is not None else self.counter.window
        self.limit = check_context_length(
            self.context_length, self.window, self.counter.name, truncation
        )
        self.truncation = truncation

    # ------------------------------------------------------------------ fitting
    def fit_haystack(
        self, rng: np.random.Generator, prefix: str, suffix: str, inserts: Sequence[Insert]
    ) -> FittedDocument:
        """One haystack holding ``inserts``, between ``prefix`` and ``suffix``, fitted to
        ``context_length`` tokens (and cut to the window only under a truncation policy)."""
        return documents.haystack_document(
            rng,
            self.counter,
            self.context_length,
            prefix,
            suffix,
            inserts,
            limit=self.limit,
            truncation=self.truncation,
        )

    def fit_sections(
        self,
        rng: np.random.Generator,
        compose: Callable[[list[Haystack], int], tuple[Units, list[float]]],
        *,
        sections: int,
        inserts: Sequence[str],
    ) -> FittedDocument:
        """A document of ``sections`` haystacks laid out by ``compose`` (see
        :func:`~acbench_env.environments.documents.fit_document`), fitted like
        :meth:`fit_haystack`; ``inserts`` are the inserted sentences, checked for loss."""
        return documents.fit_document(
            rng,
            self.counter,
            self.context_length,
            compose,
            sections=sections,
            inserts=inserts,
            limit=self.limit,
            truncation=self.truncation,
        )

    # ------------------------------------------------------------------ episode
    def task_info(self, task: TaskT) -> dict[str, Any]:
        """What ``reset`` reports about ``task`` besides its length, tokenizer and cut."""
        return {}

    def start(self, task: TaskT) -> tuple[str, dict[str, Any]]:
        extra: dict[str, Any] = {
            "context_tokens": task.context_tokens,
            **self.task_info(task),
            "tokenizer": self.counter.name,
        }
        if task.truncation is not None:
            extra["truncation"] = task.truncation
        return task.observation, extra


class LeveledLongContextEnv(LongContextEnv[TaskT]):
    """A generated long-context task with difficulty levels (:data:`LEVELS`), each a preset
    of settings the subclass reads (:attr:`preset`).

    Arguments: ``context_length`` (default: the class's :attr:`default_context_length`),
    ``level`` (``"easy"``, ``"medium"``, ``"hard"``), ``num_tasks`` (default 20),
    ``tokenizer``, ``window``, ``truncation``, ``generator_seed`` (as for
    :class:`LongContextEnv`).
    """

    #: Per-level settings, read by the subclass through :attr:`preset`.
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    #: ``context_length`` when the argument is not given.
    default_context_length: ClassVar[int] = 1024

    def __init__(
        self,
        context_length: int | None = None,
        level: str = "easy",
        num_tasks: int = 20,
        tokenizer: Any = "default",
        window: int | None = None,
        truncation: str | None = None,
        generator_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        self.level = check_level(level)
        length = self.default_context_length if context_length is None else context_length
        super().__init__(
            length, tokenizer, window, truncation, num_tasks, generator_seed, render_mode
        )

    @property
    def preset(self) -> dict[str, Any]:
        """The settings of this environment's level."""
        return self.presets[self.level]
