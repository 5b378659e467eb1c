"""Shared long-context machinery: placement, length checks, truncation, tokenizer loading,
and lengths in the default tokenizer's tokens for every long-context env."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from acbench_env.core.errors import ConfigError, ContextLengthError, ModelNotFoundError
from acbench_env.core.models import token_counter
from acbench_env.environments import longctx
from acbench_env.environments.documents import Insert, place
from acbench_env.environments.haystack import Haystack
from acbench_env.environments.needle import NeedleEnv

LONG_ENVS = [
    "acbench/Needle-v0",
    "acbench/NeedleMultiKey-v0",
    "acbench/NeedleMultiValue-v0",
    "acbench/NeedleMultiQuery-v0",
    "acbench/VariableTracking-v0",
    "acbench/LongDocQA-v0",
]


def test_place_orders_inserts_and_reports_depths() -> None:
    hay = Haystack.generate(np.random.default_rng(0), 400)
    n = len(hay)
    inserts = [Insert("<B>", 0.9), Insert("<A>", 0.1), Insert("<C>", 0.9)]
    units, depths = place(hay, n, inserts)
    assert [u for u in units if u.startswith("<")] == ["<A>", "<B>", "<C>"]  # ties keep order
    assert abs(depths[1] - 0.1) < 0.05 and abs(depths[0] - 0.9) < 0.05
    assert len(units) == n + 3
    # every insert sits at a sentence boundary
    for name, d in zip("BAC", depths):
        assert round(d * n) in (*hay.starts, n), name


@pytest.mark.parametrize("length", [0, -5, True, 2.5, "100"])
def test_non_positive_or_non_int_lengths(length) -> None:
    with pytest.raises(ConfigError, match="context_length must be a positive int"):
        longctx.check_context_length(length, 8192, "m")


def test_window_errors_name_the_window_and_the_opt_in() -> None:
    with pytest.raises(ContextLengthError, match=r"8192 tokens.*<= 8128.*truncation='left'"):
        longctx.check_context_length(9000, 8192, "m")
    assert longctx.check_context_length(9000, 8192, "m", "left") == 8128
    assert longctx.check_context_length(8128, 8192, "m") is None
    assert longctx.check_context_length(10**6, None, "m") is None  # unknown window
    with pytest.raises(ConfigError, match="truncation must be"):
        longctx.check_context_length(100, 8192, "m", "right")


@pytest.mark.parametrize("depth", [-0.01, 1.01, float("nan"), "deep", None])
def test_bad_depths(depth) -> None:
    with pytest.raises(ConfigError, match=r"depth must be a fraction in \[0, 1\]"):
        longctx.check_depth(depth)


@pytest.mark.parametrize(
    ("policy", "depth", "lost"),
    [("left", 0.0, True), ("left", 1.0, False), ("middle", 0.5, True), ("middle", 0.0, False)],
)
def test_truncation_is_opt_in_and_recorded(word_counter, policy, depth, lost) -> None:
    with pytest.raises(ContextLengthError, match="500 tokens"):
        NeedleEnv(context_length=800, depth=depth, tokenizer=word_counter, window=500)
    env = NeedleEnv(
        context_length=800, depth=depth, tokenizer=word_counter, window=500, truncation=policy
    )
    obs, info = env.reset(options={"task_index": 0})
    rec = info["truncation"]
    assert rec["policy"] == policy and rec["limit_tokens"] == 436
    assert 790 <= rec["requested_tokens"] <= 800 and rec["removed_units"] > 0
    assert word_counter.count(obs) == info["context_tokens"]
    assert 430 <= info["context_tokens"] <= 436
    needle = f"The special magic number for {env.task.key} is {env.task.value}."
    assert (needle not in obs) == lost == bool(rec["lost_inserts"])
    assert obs.startswith("Below is a long document.") and obs.rstrip().endswith("number only.")
    # within the window, truncation changes nothing and records nothing
    short = NeedleEnv(context_length=300, tokenizer=word_counter, window=500, truncation=policy)
    assert "truncation" not in short.reset(seed=0)[1]


def test_unloadable_tokenizer_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="no tokenizer.json"):
        gymnasium.make("acbench/NeedleMultiKey-v0", tokenizer=str(tmp_path / "missing"))
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{ not a tokenizer")
    with pytest.raises(ModelNotFoundError, match="cannot load the tokenizer"):
        gymnasium.make("acbench/VariableTracking-v0", tokenizer=str(bad))
    with pytest.raises(ModelNotFoundError):
        NeedleEnv(tokenizer=12345)


@pytest.mark.parametrize("env_id", LONG_ENVS)
@pytest.mark.parametrize("length", [700, 3000])
def test_lengths_match_the_default_tokenizer(env_id: str, length: int) -> None:
    counter = token_counter("default")
    env = (
        gymnasium.make(env_id, context_length=length, level="hard")
        if env_id != LONG_ENVS[0]
        else gymnasium.make(env_id, context_length=length)
    )
    for index in range(2):
        obs, info = env.reset(options={"task_index": index})
        assert info["context_tokens"] == counter.count(obs)
        assert length * 0.99 <= info["context_tokens"] <= length, (env_id, info["context_tokens"])


@pytest.mark.parametrize("env_id", LONG_ENVS)
def test_every_long_env_refuses_beyond_window_unless_opted_in(env_id: str) -> None:
    with pytest.raises(ContextLengthError, match="8192 tokens"):
        gymnasium.make(env_id, context_length=8200)
    with pytest.raises(ConfigError, match="positive int"):
        gymnasium.make(env_id, context_length=0)
    env = gymnasium.make(env_id, context_length=8300, truncation="middle", num_tasks=1)
    _, info = env.reset(seed=0)
    assert info["truncation"]["policy"] == "middle"
    assert info["context_tokens"] <= 8192 - 64
