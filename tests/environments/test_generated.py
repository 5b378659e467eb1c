"""Generated tasks: the shared seed pattern (GeneratedTasks) over every registered env that
uses it, and the long-context base (LongContextEnv) as a new task would use it."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium
import pytest

from acbench_env.core.env import GeneratedTasks, StepOutcome
from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.registry import env_ids
from acbench_env.environments.documents import Insert
from acbench_env.environments.longctx import LongContextEnv, answer_recorded


def env_class(env_id: str) -> type:
    module, _, name = str(gymnasium.spec(env_id).entry_point).partition(":")
    return getattr(importlib.import_module(module), name)


GENERATED = [env_id for env_id in env_ids() if issubclass(env_class(env_id), GeneratedTasks)]


def test_the_generated_envs_are_the_ones_with_a_generator_seed() -> None:
    assert len(GENERATED) >= 14
    for env_id in env_ids():
        takes_seed = "generator_seed" in inspect.signature(env_class(env_id)).parameters
        assert issubclass(env_class(env_id), GeneratedTasks) == takes_seed, env_id


@pytest.mark.parametrize("env_id", GENERATED)
def test_tasks_follow_the_generator_seed(env_id: str) -> None:
    a = gymnasium.make(env_id, num_tasks=3).unwrapped
    b = gymnasium.make(env_id, num_tasks=3).unwrapped
    c = gymnasium.make(env_id, num_tasks=3, generator_seed=1).unwrapped
    assert a.num_tasks == 3
    assert a.make_task(2) == b.make_task(2)
    assert a.make_task(2) != c.make_task(2)
    # The reset seed picks the task index; the same seed picks the same task.
    assert a.reset(seed=5)[0] == b.reset(seed=5)[0]


@pytest.mark.parametrize("env_id", GENERATED)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_tasks": 0}, "num_tasks must be a positive int"),
        ({"num_tasks": 2.5}, "num_tasks must be a positive int"),
        ({"generator_seed": -1}, "generator_seed must be an int of at least 0"),
    ],
)
def test_bad_generation_arguments_are_config_errors(env_id: str, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message):
        gymnasium.make(env_id, **kwargs)


@dataclass(frozen=True)
class PasswordTask:
    index: int
    password: str
    observation: str
    context_tokens: int
    truncation: dict[str, Any] | None


class PasswordEnv(LongContextEnv[PasswordTask]):
    """A new long-context task written on the base: one password hidden in a haystack."""

    primary_metric = "exact_match"

    def __init__(self, context_length: int = 300, **kwargs: Any) -> None:
        kwargs.setdefault("num_tasks", 4)
        kwargs.setdefault("generator_seed", 0)
        kwargs.setdefault("window", None)
        kwargs.setdefault("truncation", None)
        kwargs.setdefault("render_mode", None)
        super().__init__(context_length=context_length, **kwargs)

    def make_task(self, index: int) -> PasswordTask:
        rng = self.task_rng(index)
        password = f"pw{int(rng.integers(10**6))}"
        doc = self.fit_haystack(
            rng, "Text:\n", "\nWhat is the password?", [Insert(f"The password is {password}.", 0.5)]
        )
        return PasswordTask(index, password, doc.text, doc.context_tokens, doc.truncation_info)

    def task_id(self, task: PasswordTask) -> str:
        return f"password-{task.index}"

    def task_info(self, task: PasswordTask) -> dict[str, Any]:
        return {"password_length": len(task.password)}

    def apply(self, task: PasswordTask, action: str) -> StepOutcome:
        ok = action.strip() == task.password
        return answer_recorded(float(ok), success=ok, parsed=action.strip(), info={})

    def oracle_action(self) -> str:
        return self.task.password


def test_a_new_long_context_task_gets_lengths_tokenizer_and_info_from_the_base(
    word_counter,
) -> None:
    env = PasswordEnv(tokenizer=word_counter)
    obs, info = env.reset(seed=3)
    assert (
        word_counter.count(obs) == info["context_tokens"] and 290 <= info["context_tokens"] <= 300
    )
    assert info["tokenizer"] == "words" and info["password_length"] >= 3
    assert "truncation" not in info and info["capability"] == "long_context"
    _, reward, terminated, _, info = env.step(env.oracle_action())
    assert (reward, terminated, info["success"]) == (1.0, True, True)
    assert PasswordEnv(tokenizer=word_counter).make_task(1) == env.make_task(1)

    with pytest.raises(ContextLengthError, match="200 tokens"):
        PasswordEnv(tokenizer=word_counter, window=200)
    cut = PasswordEnv(tokenizer=word_counter, window=200, truncation="left")
    _, info = cut.reset(seed=0)
    assert info["truncation"]["limit_tokens"] == 136 and info["context_tokens"] <= 136
    with pytest.raises(ConfigError, match="context_length must be a positive int"):
        PasswordEnv(context_length=0, tokenizer=word_counter)
