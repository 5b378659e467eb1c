"""The fast subset of methods (RTN, magnitude, Wanda) on the real default model (slow).

GPTQ, AWQ and SparseGPT on the default model run in benchmarks/compression.py (see README).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_ppl() -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from acbench_env.compression.calibration import EVAL_TEXT
    from acbench_env.compression.evaluate import perplexity
    from acbench_env.core.errors import ModelNotFoundError
    from acbench_env.core.models import default_model_dir

    try:
        path = default_model_dir()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return perplexity(model, AutoTokenizer.from_pretrained(path), EVAL_TEXT)


def _ppl(folder: Path) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from acbench_env.compression.calibration import EVAL_TEXT
    from acbench_env.compression.evaluate import perplexity

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    return perplexity(model, AutoTokenizer.from_pretrained(folder), EVAL_TEXT)


def _answers(folder: Path) -> str:
    from acbench_env.agents.backends import create_backend
    from acbench_env.core.protocols import GenerationRequest

    backend = create_backend("transformers", model=str(folder))
    msg = {"role": "user", "content": "What is the capital of France? Answer in one word."}
    done = backend.generate([GenerationRequest(messages=(msg,), max_new_tokens=8)])
    assert backend.compression is not None
    return done[0].text


@pytest.mark.skipif(
    importlib.util.find_spec("compressed_tensors") is None,
    reason="compressed-tensors is not installed (pip install 'acbench-env[compress]')",
)
def test_rtn_w8_is_within_two_percent_of_base(tmp_path: Path, base_ppl: float) -> None:
    from acbench_env.compression import CompressionConfig
    from acbench_env.compression.pipeline import compress

    out = tmp_path / "rtn8"
    compress("default", "rtn", CompressionConfig("rtn", bits=8, group_size=64), "builtin", out)
    assert _ppl(out) == pytest.approx(base_ppl, rel=0.02)
    assert "Paris" in _answers(out)


def test_magnitude_is_worse_than_wanda(tmp_path: Path, base_ppl: float) -> None:
    from acbench_env.compression.pipeline import compress

    ppl = {}
    for method in ("magnitude", "wanda"):
        out = tmp_path / method
        result = compress("default", method, None, "builtin", out, samples=16, seq_len=128)
        assert result.metadata["measured_sparsity"] == pytest.approx(0.5, abs=0.005)
        ppl[method] = _ppl(out)
    assert base_ppl < ppl["wanda"] < ppl["magnitude"]
    assert _answers(tmp_path / "wanda").strip()
