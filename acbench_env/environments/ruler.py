"""RULER-style variants of the needle task: several needles, several values, several
queries, and variable tracking, all in generated haystacks of an exact token length."""

from __future__ import annotations

import re
import string
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.environments import longctx
from acbench_env.environments.longctx import Insert
from acbench_env.environments.needle import _KEY_FIRST, _KEY_SECOND, parse_number
from acbench_env.scoring.text_match import parse_numbers, positional_match, set_match

_NEEDLE_INTRO = (
    "Below is a long document. Hidden in it are special magic numbers, each for a key. "
    "Read the document and answer the question after it."
)
_VT_INTRO = (
    "Below is a long document. Hidden in it are variable assignments of the form "
    "'VAR NAME = value' or 'VAR NAME = VAR OTHER'. Read the document and answer the "
    "question after it."
)
_VAR_NAME = re.compile(r"\b[A-Z]{5}\b")


@dataclass(frozen=True)
class Design:
    """What a variant hides and asks: inserts, the question, gold answers, the oracle."""

    inserts: tuple[Insert, ...]
    question: str
    gold: tuple[str, ...]
    oracle: str
    intro: str = _NEEDLE_INTRO


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


def distinct_keys(rng: np.random.Generator, count: int, near_miss: bool) -> list[str]:
    """``count`` distinct ``first-second`` keys; with ``near_miss`` every key after the
    first shares one of its two words with the first (the query key)."""
    if count > len(_KEY_FIRST) * len(_KEY_SECOND) or (
        near_miss and count > len(_KEY_FIRST) + len(_KEY_SECOND) - 1
    ):
        raise ConfigError(f"cannot make {count} distinct keys")
    first = (
        _KEY_FIRST[int(rng.integers(len(_KEY_FIRST)))],
        _KEY_SECOND[int(rng.integers(len(_KEY_SECOND)))],
    )
    keys = [first]
    while len(keys) < count:
        if near_miss and len(keys) % 2 == 1:
            cand = (first[0], _KEY_SECOND[int(rng.integers(len(_KEY_SECOND)))])
        elif near_miss:
            cand = (_KEY_FIRST[int(rng.integers(len(_KEY_FIRST)))], first[1])
        else:
            cand = (
                _KEY_FIRST[int(rng.integers(len(_KEY_FIRST)))],
                _KEY_SECOND[int(rng.integers(len(_KEY_SECOND)))],
            )
        if cand not in keys:
            keys.append(cand)
    return [f"{a}-{b}" for a, b in keys]


def distinct_numbers(rng: np.random.Generator, count: int, low: int, high: int) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        value = str(int(rng.integers(low, high)))
        if value not in out:
            out.append(value)
    return out


def needle(key: str, value: str) -> str:
    return f"The special magic number for {key} is {value}."


def random_depths(rng: np.random.Generator, count: int) -> list[float]:
    return [float(d) for d in rng.uniform(0.0, 1.0, size=count)]


class HaystackVariantEnv(TextEnv[VariantTask]):
    """Shared arguments and episode logic of the RULER-style variants (not registered)."""

    capability = "long_context"
    #: Per-level settings, read by :meth:`design`.
    presets: dict[str, dict[str, Any]] = {}
    id_prefix = "variant"

    def __init__(
        self,
        context_length: int = 1024,
        level: str = "easy",
        num_tasks: int = 20,
        tokenizer: Any = "default",
        window: int | None = None,
        truncation: str | None = None,
        generator_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        self.level = longctx.check_level(level)
        if isinstance(num_tasks, bool) or not isinstance(num_tasks, int) or num_tasks < 1:
            raise ConfigError(f"num_tasks must be a positive int, got {num_tasks!r}")
        length = longctx.setup_length(context_length, tokenizer, window, truncation)
        self.counter, self.window, self.limit = length.counter, length.window, length.limit
        self.truncation, self.context_length = truncation, context_length
        self._num_tasks = num_tasks
        self.generator_seed = int(generator_seed)

    @property
    def preset(self) -> dict[str, Any]:
        return self.presets[self.level]

    @abstractmethod
    def design(self, rng: np.random.Generator) -> Design:
        """The hidden sentences, question and answers of one task."""

    @abstractmethod
    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        """``(score, parsed answer, parse error)`` of ``action`` (never raises)."""

    @property
    def num_tasks(self) -> int:
        return self._num_tasks

    def make_task(self, index: int) -> VariantTask:
        rng = np.random.default_rng([self.generator_seed, index])
        d = self.design(rng)
        doc = longctx.haystack_document(
            rng,
            self.counter,
            self.context_length,
            f"{d.intro}\n\n<document>\n",
            f"\n</document>\n\nQuestion: {d.question}",
            d.inserts,
            limit=self.limit,
            truncation=self.truncation,
        )
        return VariantTask(
            index=index,
            observation=doc.text,
            context_tokens=doc.context_tokens,
            gold=d.gold,
            oracle=d.oracle,
            depths=doc.depths,
            truncation=None if doc.truncation is None else doc.truncation.as_info(),
        )

    def task_id(self, task: VariantTask) -> str:
        return f"{self.id_prefix}-{self.level}-{self.context_length}-{task.index}"

    def start(self, task: VariantTask) -> tuple[str, dict[str, Any]]:
        extra: dict[str, Any] = {
            "context_tokens": task.context_tokens,
            "depths": list(task.depths),
            "level": self.level,
            "tokenizer": self.counter.name,
        }
        if task.truncation is not None:
            extra["truncation"] = task.truncation
        return task.observation, extra

    def apply(self, task: VariantTask, action: str) -> StepOutcome:
        score, parsed, error = self.score(task, action)
        return StepOutcome(
            observation="Answer recorded.",
            reward=float(score),
            terminated=True,
            score=float(score),
            success=score == 1.0,
            parsed_action=parsed,
            parse_error=error,
            info={"gold": list(task.gold), "context_tokens": task.context_tokens},
        )

    def oracle_action(self) -> str:
        return self.task.oracle


_ARGS_DOC = """``context_length`` (tokens of the observation in ``tokenizer``'s count, default 1024;
    it must leave 64 tokens of the window free unless ``truncation`` is ``"left"`` or
    ``"middle"``, in which case the document is cut to fit and the cut is recorded in
    ``info["truncation"]``), ``level`` (``"easy"``, ``"medium"``, ``"hard"``), ``num_tasks``
    (default 20), ``tokenizer``, ``window``, ``generator_seed`` (as for
    ``acbench/Needle-v0``)."""


class MultiKeyNeedleEnv(HaystackVariantEnv):
    """Several needles with different keys; the question asks for one key's number.

    ## Description
    RULER's multi-key NIAH: the haystack hides needles "The special magic number for <key>
    is <value>." for several keys; the question names one of them.

    ## Action / Observation
    Action: the answer as text. Observation: document and question, then an acknowledgement.

    ## Rewards / Metric
    Exact match (as in ``acbench/Needle-v0``): the first number in the answer must equal the
    queried key's value; 1.0 or 0.0. An answer with no number is a format failure.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (seeded haystack prose, random keys and seven-digit values);
    task ``i`` is a pure function of ``i`` and the arguments.

    ## Arguments
    {args}

    ## Difficulty levels
    easy: 2 needles with unrelated keys; medium: 4 needles whose other keys share a word
    with the queried key (near-miss distractors); hard: 8 such needles.

    ## Version History
    v0: initial version.
    """

    primary_metric = "exact_match"
    id_prefix = "multikey"
    presets = {
        "easy": {"needles": 2, "near_miss": False},
        "medium": {"needles": 4, "near_miss": True},
        "hard": {"needles": 8, "near_miss": True},
    }

    def design(self, rng: np.random.Generator) -> Design:
        p = self.preset
        keys = distinct_keys(rng, p["needles"], p["near_miss"])
        values = distinct_numbers(rng, len(keys), 1_000_000, 10_000_000)
        depths = random_depths(rng, len(keys))
        return Design(
            inserts=tuple(Insert(needle(k, v), d) for k, v, d in zip(keys, values, depths)),
            question=(
                f"What is the special magic number for {keys[0]} mentioned in the document? "
                "Answer with the number only."
            ),
            gold=(values[0],),
            oracle=values[0],
        )

    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        answer = parse_number(action)
        if answer is None:
            return 0.0, None, "no number in the answer"
        return (1.0 if answer == task.gold[0] else 0.0), answer, None


class MultiValueNeedleEnv(HaystackVariantEnv):
    """One key with several values hidden in the document; the answer must list them all.

    ## Description
    RULER's multi-value NIAH: several needles share the queried key, each with its own
    value; at harder levels needles of other keys are distractors.

    ## Action / Observation
    Action: the answer as text. Observation: document and question, then an acknowledgement.

    ## Rewards / Metric
    Set match over the numbers in the answer (in any order): correct distinct values /
    max(number of values, number of distinct numbers given), so a missing value and an
    extra number cost the same. Success: score 1.0. An answer with no number is a format
    failure.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (seeded haystack prose, random keys and seven-digit values).

    ## Arguments
    {args}

    ## Difficulty levels
    easy: 2 values, no distractors; medium: 3 values and 2 needles of other keys; hard: 4
    values and 4 needles of near-miss keys (sharing a word with the queried key).

    ## Version History
    v0: initial version.
    """

    primary_metric = "set_match"
    id_prefix = "multivalue"
    presets = {
        "easy": {"values": 2, "distractors": 0, "near_miss": False},
        "medium": {"values": 3, "distractors": 2, "near_miss": False},
        "hard": {"values": 4, "distractors": 4, "near_miss": True},
    }

    def design(self, rng: np.random.Generator) -> Design:
        p = self.preset
        keys = distinct_keys(rng, 1 + p["distractors"], p["near_miss"])
        values = distinct_numbers(rng, p["values"] + p["distractors"], 1_000_000, 10_000_000)
        owners = [keys[0]] * p["values"] + keys[1:]
        depths = random_depths(rng, len(owners))
        gold = tuple(values[: p["values"]])
        return Design(
            inserts=tuple(Insert(needle(k, v), d) for k, v, d in zip(owners, values, depths)),
            question=(
                f"What are all the special magic numbers for {keys[0]} mentioned in the "
                "document? Answer with the numbers only, separated by commas."
            ),
            gold=gold,
            oracle=", ".join(gold),
        )

    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        numbers = parse_numbers(action)
        if not numbers:
            return 0.0, None, "no number in the answer"
        return set_match(task.gold, numbers), numbers, None


class MultiQueryNeedleEnv(HaystackVariantEnv):
    """Several keys are asked for at once; the answer lists their numbers in order.

    ## Description
    RULER's multi-query NIAH: needles for several keys; the question names some of them
    and asks for all their numbers in the order named.

    ## Action / Observation
    Action: the answer as text. Observation: document and question, then an acknowledgement.

    ## Rewards / Metric
    Positional match: the numbers of the answer are read in order; the score is the
    fraction of queried keys ``i`` whose value is the answer's ``i``-th number. Success:
    score 1.0. An answer with no number is a format failure.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (seeded haystack prose, random keys and seven-digit values).

    ## Arguments
    {args}

    ## Difficulty levels
    easy: 2 queried keys, no other needles; medium: 2 queried keys and 2 needles of other
    keys; hard: 4 queried keys and 4 needles of near-miss keys.

    ## Version History
    v0: initial version.
    """

    primary_metric = "positional_match"
    id_prefix = "multiquery"
    presets = {
        "easy": {"queries": 2, "distractors": 0, "near_miss": False},
        "medium": {"queries": 2, "distractors": 2, "near_miss": False},
        "hard": {"queries": 4, "distractors": 4, "near_miss": True},
    }

    def design(self, rng: np.random.Generator) -> Design:
        p = self.preset
        count = p["queries"] + p["distractors"]
        keys = distinct_keys(rng, count, p["near_miss"])
        values = distinct_numbers(rng, count, 1_000_000, 10_000_000)
        depths = random_depths(rng, count)
        queried = [int(i) for i in rng.permutation(count)[: p["queries"]]]
        names = [keys[i] for i in queried]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        gold = tuple(values[i] for i in queried)
        return Design(
            inserts=tuple(Insert(needle(k, v), d) for k, v, d in zip(keys, values, depths)),
            question=(
                f"What are the special magic numbers for {listed} mentioned in the document? "
                "Answer with the numbers only, in this order, separated by commas."
            ),
            gold=gold,
            oracle=", ".join(gold),
        )

    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        numbers = parse_numbers(action)
        if not numbers:
            return 0.0, None, "no number in the answer"
        return positional_match(task.gold, numbers), numbers, None


def variable_names(rng: np.random.Generator, count: int) -> list[str]:
    letters = string.ascii_uppercase
    out: list[str] = []
    while len(out) < count:
        name = "".join(letters[int(i)] for i in rng.integers(0, 26, size=5))
        if name not in out:
            out.append(name)
    return out


class VariableTrackingEnv(HaystackVariantEnv):
    """Follow a chain of variable assignments hidden in the document.

    ## Description
    RULER's variable tracking: "VAR AAAAA = 12345." then "VAR BBBBB = VAR AAAAA." and so on,
    spread through the haystack in order; the question asks for every variable that holds
    the first value. Harder levels add distractor chains with other values.

    ## Action / Observation
    Action: the variable names as text. Observation: document and question, then an
    acknowledgement.

    ## Rewards / Metric
    Set match over the answer's words of exactly five capital letters: correct distinct
    names / max(chain length, number of distinct names given). Success: score 1.0. An answer
    with no such word is a format failure.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (seeded haystack prose, random five-letter names and
    five-digit values).

    ## Arguments
    {args}

    ## Difficulty levels
    easy: one chain of 3 variables; medium: a chain of 4 and 1 distractor chain; hard: a
    chain of 5 and 2 distractor chains.

    ## Version History
    v0: initial version.
    """

    primary_metric = "set_match"
    id_prefix = "vartrack"
    presets = {
        "easy": {"chain": 3, "distractor_chains": 0},
        "medium": {"chain": 4, "distractor_chains": 1},
        "hard": {"chain": 5, "distractor_chains": 2},
    }

    def design(self, rng: np.random.Generator) -> Design:
        p = self.preset
        chains = 1 + p["distractor_chains"]
        names = variable_names(rng, p["chain"] * chains)
        values = distinct_numbers(rng, chains, 10_000, 100_000)
        inserts: list[Insert] = []
        for c in range(chains):
            chain = names[c * p["chain"] : (c + 1) * p["chain"]]
            depths = sorted(random_depths(rng, len(chain)))
            inserts.append(Insert(f"VAR {chain[0]} = {values[c]}.", depths[0]))
            for prev, name, depth in zip(chain, chain[1:], depths[1:]):
                inserts.append(Insert(f"VAR {name} = VAR {prev}.", depth))
        gold = tuple(names[: p["chain"]])
        return Design(
            inserts=tuple(inserts),
            question=(
                f"Find all variables that are assigned the value {values[0]} in the document, "
                "directly or through another variable. Answer with the variable names only, "
                "separated by spaces."
            ),
            gold=gold,
            oracle=" ".join(gold),
            intro=_VT_INTRO,
        )

    def score(self, task: VariantTask, action: str) -> tuple[float, Any, str | None]:
        names = _VAR_NAME.findall(action)
        if not names:
            return 0.0, None, "no five-capital-letter variable name in the answer"
        return set_match(task.gold, names), names, None


for _cls in (MultiKeyNeedleEnv, MultiValueNeedleEnv, MultiQueryNeedleEnv, VariableTrackingEnv):
    _cls.__doc__ = (_cls.__doc__ or "").replace("{args}", _ARGS_DOC)
