"""The real vLLM offline engine (``vllm`` backend) on the CPU with the default model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm")

from acbench_env.agents import LLMPolicyAgent  # noqa: E402
from acbench_env.agents.backends import GenerationRequest, create_backend  # noqa: E402
from acbench_env.core.errors import ContextLengthError  # noqa: E402
from acbench_env.experiments.runner import Lane, drive, run_episodes  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


@pytest.fixture(scope="module")
def backend() -> Iterator:
    b = create_backend("vllm", model="default", kv_cache_gb=1, max_model_len=2048)
    try:
        yield b
    finally:
        b.close()


def test_batched_equals_sequential_with_tokens(backend, tmp_path: Path) -> None:
    agent = LLMPolicyAgent(backend, max_new_tokens=16, record_tokens=True)
    runs = {
        bs: run_episodes(
            "acbench/Needle-v0",
            agent,
            episodes=6,
            seed=0,
            out=tmp_path / f"b{bs}.jsonl",
            env_kwargs={"context_length": 192},
            batch_size=bs,
        )
        for bs in (1, 6)
    }
    steps = {bs: [s for t in r.trajectories for s in t.steps] for bs, r in runs.items()}
    assert [s.raw_output for s in steps[1]] == [s.raw_output for s in steps[6]]
    assert [s.completion_token_ids for s in steps[1]] == [s.completion_token_ids for s in steps[6]]
    for s in steps[6]:
        assert s.prompt_token_ids and s.completion_token_ids is not None
        assert s.logprobs is not None and len(s.logprobs) == len(s.completion_token_ids)
        assert s.prompt_tokens == len(s.prompt_token_ids)


def test_seed_reaches_the_sampler(backend) -> None:
    msgs = ({"role": "user", "content": "Tell me a story."},)
    reqs = [
        GenerationRequest(messages=msgs, max_new_tokens=16, temperature=1.0, seed=s)
        for s in (1, 1, 2)
    ]
    a, b, c = backend.generate(reqs)
    assert a.text == b.text
    assert a.token_ids != c.token_ids


def test_prompt_past_the_window_is_a_clear_error(backend) -> None:
    msgs = ({"role": "user", "content": "word " * 3000},)
    with pytest.raises(ContextLengthError, match="context window"):
        backend.generate([GenerationRequest(messages=msgs, max_new_tokens=8)])


def test_streaming_drive_keeps_the_engine_fed_with_the_same_outputs(backend) -> None:
    class Counting:
        """Passes the streaming calls on and counts requests that joined a running batch."""

        def __init__(self) -> None:
            self.name, self.model_id = backend.name, backend.model_id
            self.compression = backend.compression
            self.in_flight = 0
            self.joined = 0

        def generate(self, requests):
            return backend.generate(requests)

        def submit(self, key, request) -> None:
            self.joined += self.in_flight > 0
            self.in_flight += 1
            backend.submit(key, request)

        def collect(self):
            out = backend.collect()
            self.in_flight -= len(out)
            return out

        def cancel(self) -> None:
            backend.cancel()

    counting = Counting()

    def lanes():
        return [
            Lane(
                "acbench/Needle-v0",
                LLMPolicyAgent(counting, max_new_tokens=12, record_tokens=True),
                (0, 1, 2),
                {"context_length": 192},
            ),
            Lane(
                "acbench/BlocksWorld-v0",
                LLMPolicyAgent(counting, max_new_tokens=8, record_tokens=True),
                (0, 1),
                {"max_steps": 3},
            ),
        ]

    def outputs(stream: bool) -> dict:
        got = drive(lanes(), width=4, stream=stream)
        return {(i, t.seed): [s.completion_token_ids for s in t.steps] for i, t in got}

    lockstep = outputs(stream=False)
    assert counting.joined == 0
    streamed = outputs(stream=True)
    assert counting.joined > 0 and counting.in_flight == 0
    assert streamed == lockstep
    assert max(len(v) for v in streamed.values()) > 1  # multi-step episodes took part
