"""The method table: what each record declares, and a new method as one kernel plus one record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acbench_env.compression import COMPRESSION_METADATA_FILE, CompressionConfig, method_names
from acbench_env.compression import methods as M
from acbench_env.compression.config import UnknownMethodError


def test_table_names_kinds_and_calibration() -> None:
    assert method_names() == ("gptq", "awq", "rtn", "wanda", "sparsegpt", "magnitude")
    assert method_names("quant") == ("gptq", "awq", "rtn")
    assert method_names("prune") == ("wanda", "sparsegpt", "magnitude")
    calibrating = {m.name for m in M.METHODS if m.calibrates}
    assert calibrating == {"gptq", "awq", "wanda", "sparsegpt"}
    assert M.get_method("gptq").statistic is M.get_method("sparsegpt").statistic is M.HESSIAN
    assert M.get_method("awq").before_layer is not None
    for m in M.METHODS:
        assert set(m.tunables) <= set(M.TUNABLES)
        config = CompressionConfig(m.name)
        assert config.spec is m and config.needs_calibration == m.calibrates
        assert config.is_quantization == (m.kind == "quant")
    with pytest.raises(UnknownMethodError, match="choose one of gptq, awq, rtn, wanda"):
        M.get_method("bogus")
    with pytest.raises(ValueError, match="kind must be"):
        M.Method("x", "both", "", M.get_method("rtn").apply)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown tunables"):
        M.Method("x", "quant", "", M.get_method("rtn").apply, tunables=("speed",))


def test_reading_the_table_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from acbench_env.compression import method_names, CompressionConfig; "
        "CompressionConfig('gptq').record(); print(len(method_names()), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["6", "False"]


def row_magnitude_prune(weight, sparsity: float, pattern: str):  # the new method's kernel
    from acbench_env.compression.prune import mask_from_scores

    w = weight.detach().float().clone()
    w[mask_from_scores(w.abs(), sparsity, pattern, per_row=True)] = 0.0
    return w


def test_a_new_method_is_one_kernel_and_one_record(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from safetensors.torch import load_file

    from acbench_env.compression import compress

    record = M.Method(
        "row-magnitude",
        "prune",
        "prune the smallest |W| of each output row",
        lambda w, _stats, c: row_magnitude_prune(w, c.sparsity, c.pattern),
    )
    monkeypatch.setattr(M, "METHODS", (*M.METHODS, record))
    assert method_names("prune")[-1] == "row-magnitude"
    config = CompressionConfig("row-magnitude", sparsity=0.25)
    result = compress(tiny, "row-magnitude", config, out_dir=tmp_path / "out")
    meta = json.loads((tmp_path / "out" / COMPRESSION_METADATA_FILE).read_text())
    assert meta["method"] == "row-magnitude" and meta["calibration"] is None
    assert (
        meta["measured_sparsity"]
        == pytest.approx(0.25, abs=1e-6)
        == result.metadata["measured_sparsity"]
    )
    weights = load_file(tmp_path / "out" / "model.safetensors")
    pruned = {k: w for k, w in weights.items() if ".layers." in k and k.endswith("proj.weight")}
    assert len(pruned) == 14  # 2 layers x 7 Linears
    for w in pruned.values():  # each row keeps exactly three quarters of its weights
        assert torch.equal((w == 0).sum(dim=1), torch.full((w.shape[0],), w.shape[1] // 4))
