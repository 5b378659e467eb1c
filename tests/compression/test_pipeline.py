"""compress() end to end on a tiny random Llama: every method, formats, metadata, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file  # noqa: E402

from acbench_env.compression import COMPRESSION_METADATA_FILE, CompressionConfig  # noqa: E402
from acbench_env.compression import prune as P  # noqa: E402
from acbench_env.compression import quantize as Q  # noqa: E402
from acbench_env.compression.calibration import load_calibration  # noqa: E402
from acbench_env.compression.config import (  # noqa: E402
    PRUNE_METHODS,
    QUANT_METHODS,
    GroupSizeError,
    UnknownMethodError,
)
from acbench_env.compression.methods import method_names  # noqa: E402
from acbench_env.compression.pipeline import compress  # noqa: E402
from acbench_env.core.errors import (  # noqa: E402
    ConfigError,
    ModelNotFoundError,
    OutputExistsError,
)

needs_ct = pytest.mark.skipif(
    __import__("importlib").util.find_spec("compressed_tensors") is None,
    reason="compressed-tensors is not installed (pip install 'acbench-env[compress]')",
)
CALIB = {"samples": 4, "seq_len": 32}


def _layer_weights(folder: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    with torch.no_grad():
        model(input_ids=torch.tensor([[1, 2, 3]]))  # compressed-tensors decompresses on first use
    return {
        n: m.weight.detach().clone()
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and ".layers." in n
    }


QUANT = [
    CompressionConfig("rtn", group_size=32),
    CompressionConfig("gptq", group_size=32),
    CompressionConfig("awq", group_size=32),
    CompressionConfig("rtn", bits=8, group_size=None, symmetric=False),
]
PRUNE = [
    CompressionConfig("magnitude"),
    CompressionConfig("wanda"),
    CompressionConfig("sparsegpt"),
    CompressionConfig("magnitude", pattern="2:4"),
    CompressionConfig("wanda", pattern="2:4"),
    CompressionConfig("sparsegpt", pattern="2:4"),
    CompressionConfig("wanda", sparsity=0.3),
]


@needs_ct
@pytest.mark.parametrize("config", QUANT, ids=lambda c: f"{c.method}-w{c.bits}")
def test_quantized_checkpoint_round_trips(tiny: Path, tmp_path: Path, config) -> None:
    out = tmp_path / "q"
    result = compress(tiny, config.method, config, "builtin", out, **CALIB)
    cfg = json.loads((out / "config.json").read_text())
    qc = cfg["quantization_config"]
    assert qc["quant_method"] == "compressed-tensors" and qc["format"] == "pack-quantized"
    weights = qc["config_groups"]["group_0"]["weights"]
    assert weights["num_bits"] == config.bits and weights["group_size"] == config.group_size
    assert "lm_head" in qc["ignore"]
    stored = load_file(out / "model.safetensors")
    assert any(k.endswith("q_proj.weight_packed") for k in stored)
    assert not any(k.endswith("q_proj.weight") for k in stored)
    meta = json.loads((out / COMPRESSION_METADATA_FILE).read_text())
    assert meta == result.metadata
    for key in ("method", "bits", "symmetric", "libraries", "wall_time_s", "source_model_sha256"):
        assert meta[key] is not None
    assert meta["group_size"] == config.group_size and meta["sparsity"] is None
    assert (
        meta["calibration"] is None
        if config.method == "rtn"
        else meta["calibration"]["samples"] == 4
    )
    # the stored integers reproduce the kernel's weights
    loaded = _layer_weights(out)
    if config.method == "rtn":
        src = _layer_weights(tiny)
        for name, w in src.items():
            expect = Q.rtn_quantize(w, config.bits, config.group_size, config.symmetric).weight
            assert torch.allclose(loaded[name], expect, atol=1e-6), name
    for w in loaded.values():
        groups = w.reshape(w.shape[0], -1, config.group_size or w.shape[1])
        assert max(len(torch.unique(g)) for g in groups[:4].unbind(0)[0]) <= 2**config.bits


@pytest.mark.parametrize("config", PRUNE, ids=lambda c: f"{c.method}-{c.pattern}-{c.sparsity}")
def test_pruned_checkpoint_exact_sparsity(tiny: Path, tmp_path: Path, config) -> None:
    out = tmp_path / "p"
    result = compress(tiny, config.method, config, "builtin", out, **CALIB)
    cfg = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in cfg and "sparsity_config" not in cfg
    loaded = _layer_weights(out)
    zeros = sum(int((w == 0).sum()) for w in loaded.values())
    total = sum(w.numel() for w in loaded.values())
    assert zeros / total == pytest.approx(config.sparsity, abs=0.005)
    assert result.metadata["measured_sparsity"] == pytest.approx(zeros / total, abs=1e-6)
    assert result.metadata["serve_dense"] is True
    if config.pattern == "2:4":
        assert all(P.is_n_m(w, 2, 4) for w in loaded.values())


def test_methods_order_on_output_error(tiny: Path, tmp_path: Path) -> None:
    """On the calibration data, SparseGPT and Wanda keep a layer's output closer than magnitude."""
    base = _layer_weights(tiny)
    errs = {}
    for method in ("magnitude", "wanda", "sparsegpt"):
        out = tmp_path / method
        compress(tiny, method, None, "builtin", out, samples=8, seq_len=64)
        new = _layer_weights(out)
        errs[method] = sum(float(((base[n] - new[n]) ** 2).sum()) for n in base)
    assert errs["magnitude"] < errs["wanda"]  # magnitude minimises weight error...
    assert errs["sparsegpt"] != errs["wanda"]


def test_transformers_backend_loads_and_answers(tiny: Path, tmp_path: Path) -> None:
    from acbench_env.agents.backends import create_backend
    from acbench_env.core.protocols import GenerationRequest

    methods = ["wanda"] + (["gptq"] if not needs_ct.args[0] else [])
    for method in methods:
        out = tmp_path / method
        compress(tiny, method, CompressionConfig(method, group_size=32), "builtin", out, **CALIB)
        backend = create_backend("transformers", model=str(out))
        assert backend.compression is not None and backend.compression["method"] == method
        assert backend.compression["calibration"]["seq_len"] == 32
        done = backend.generate(
            [GenerationRequest(messages=({"role": "user", "content": "hi"},), max_new_tokens=4)]
        )
        assert len(done) == 1 and len(done[0].token_ids) >= 1


def _tensors(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def _assert_same_tensors(a: Path, b: Path) -> None:
    ta, tb = _tensors(a), _tensors(b)
    assert ta.keys() == tb.keys()
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


#: Every method of the table (a new record is picked up), the pruners with both patterns.
RERUN = [
    (name, pattern)
    for name in method_names()
    for pattern in (("unstructured", "2:4") if name in PRUNE_METHODS else ("unstructured",))
]


@pytest.mark.parametrize(("method", "pattern"), RERUN, ids=lambda v: str(v))
def test_recorded_settings_reproduce_the_weights(
    tiny: Path, tmp_path: Path, method: str, pattern: str
) -> None:
    """Compress with settings away from every default, then again from nothing but the
    metadata file: the weights are bit-identical."""
    if method in QUANT_METHODS and needs_ct.args[0]:
        pytest.skip("compressed-tensors is not installed")
    config = CompressionConfig(
        method,
        bits=8,
        group_size=32,
        symmetric=False,
        sparsity=0.5 if pattern == "2:4" else 0.3,
        pattern=pattern,
        dampening=0.05,
        block_size=32,
        awq_grid=7,
    )
    compress(tiny, method, config, "builtin", tmp_path / "a", samples=3, seq_len=24)
    meta = json.loads((tmp_path / "a" / COMPRESSION_METADATA_FILE).read_text())
    calib = meta["calibration"]
    again = CompressionConfig(**meta["settings"])
    if CompressionConfig(method).needs_calibration:
        kwargs = {"samples": calib["samples"], "seq_len": calib["seq_len"]}
        source = calib["source"]
    else:
        assert calib is None
        kwargs, source = {}, "builtin"
    compress(meta["source_model"], meta["method"], again, source, tmp_path / "b", **kwargs)
    _assert_same_tensors(tmp_path / "a", tmp_path / "b")
    meta_b = json.loads((tmp_path / "b" / COMPRESSION_METADATA_FILE).read_text())
    assert meta_b["settings"] == meta["settings"] and meta_b["calibration"] == calib


@pytest.mark.parametrize("method", method_names())
def test_recorded_command_reproduces_the_weights(tiny: Path, tmp_path: Path, method: str) -> None:
    """The metadata's ``command`` (the CLI's settings) writes the same weights again."""
    from acbench_env.cli import main

    if method in QUANT_METHODS and needs_ct.args[0]:
        pytest.skip("compressed-tensors is not installed")
    tunables = {"dampening": 0.05, "block_size": 32, "awq_grid": 7}
    config = CompressionConfig(method, group_size=32, symmetric=False, sparsity=0.4, **tunables)
    compress(tiny, method, config, "builtin", tmp_path / "a", samples=2, seq_len=16)
    meta = json.loads((tmp_path / "a" / COMPRESSION_METADATA_FILE).read_text())
    argv = meta["command"].split()
    for key in config.spec.tunables:  # settings away from their defaults are in the command
        assert argv[argv.index(f"--{key.replace('_', '-')}") + 1] == str(tunables[key])
    assert argv[:2] == ["acbench", "compress"] and argv[-1] == str(tmp_path / "a")
    assert main([*argv[1:-1], "--no-progress", str(tmp_path / "b")]) == 0
    _assert_same_tensors(tmp_path / "a", tmp_path / "b")


def test_builtin_calibration_is_deterministic(tiny: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny)
    a = load_calibration("builtin", tok, 3, 40)
    b = load_calibration("builtin", tok, 5, 40)
    assert a.input_ids.shape == (3, 40)
    assert torch.equal(a.input_ids, b.input_ids[:3])  # sample i depends only on i
    assert a.sha256 != b.sha256
    assert len({tuple(r) for r in b.input_ids.tolist()}) == 5
    user = tmp_path / "c.jsonl"
    user.write_text(
        "\n".join(json.dumps({"text": f"line {i} of the user's text"}) for i in range(50))
    )
    c = load_calibration(str(user), tok, 2, 16)
    assert c.source == "file:c.jsonl" and c.input_ids.shape == (2, 16)
    with pytest.raises(ConfigError, match="lower --samples"):
        load_calibration(str(user), tok, 1000, 64)
    with pytest.raises(ConfigError, match="does not exist"):
        load_calibration(str(tmp_path / "nope.txt"), tok, 2, 16)


# --- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "bogus"}, UnknownMethodError, "choose one of"),
        ({"method": "rtn", "bits": 1}, ConfigError, "bits=1 is out of range"),
        ({"method": "gptq", "bits": 16}, ConfigError, "out of range"),
        ({"method": "rtn", "group_size": 0}, ConfigError, "group size 0"),
        ({"method": "wanda", "sparsity": 1.5}, ConfigError, "sparsity=1.5"),
        ({"method": "wanda", "sparsity": 0.0}, ConfigError, "between 0 and 1"),
        ({"method": "magnitude", "pattern": "3:4"}, ConfigError, "2:4"),
        ({"method": "sparsegpt", "pattern": "2:4", "sparsity": 0.7}, ConfigError, "half"),
    ],
)
def test_bad_settings(kwargs, error, message) -> None:
    with pytest.raises(error, match=message):
        CompressionConfig(**kwargs)


def test_group_size_must_divide_every_layer(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(GroupSizeError, match=r"does not divide .* use --group-size 64 or 32"):
        compress(tiny, "rtn", CompressionConfig("rtn", group_size=48), "builtin", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_model_that_is_not_a_causal_lm(tmp_path: Path) -> None:
    folder = tmp_path / "bert"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "bert", "architectures": ["BertModel"]})
    )
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="not a causal language model"):
        compress(folder, "rtn", None, "builtin", tmp_path / "o")
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        compress(tmp_path / "missing", "rtn", None, "builtin", tmp_path / "o")


def test_existing_output_needs_overwrite(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        compress(tiny, "magnitude", None, "builtin", out)
    assert (out / "keep.txt").exists()
    compress(tiny, "magnitude", None, "builtin", out, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / COMPRESSION_METADATA_FILE).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def test_failed_compression_leaves_nothing(tiny: Path, tmp_path: Path, monkeypatch) -> None:
    from transformers import PreTrainedTokenizerBase

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(PreTrainedTokenizerBase, "save_pretrained", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        compress(tiny, "magnitude", None, "builtin", tmp_path / "o")
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old"
    old.mkdir()
    (old / "keep.txt").write_text("x")
    with pytest.raises(RuntimeError, match="disk full"):
        compress(tiny, "magnitude", None, "builtin", old, overwrite=True)
    assert (old / "keep.txt").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_cli_compress(tiny: Path, tmp_path: Path, capsys) -> None:
    from acbench_env.cli import main

    out = tmp_path / "cli"
    args = [
        "compress",
        "--method",
        "wanda",
        "--pattern",
        "2:4",
        "--samples",
        "2",
        "--seq-len",
        "16",
    ]
    assert main([*args, "--no-progress", str(tiny), str(out)]) == 0
    assert "measured sparsity 0.5000" in capsys.readouterr().out
    meta = json.loads((out / COMPRESSION_METADATA_FILE).read_text())
    assert meta["pattern"] == "2:4" and meta["command"].startswith(
        "acbench compress --method wanda"
    )
    assert main([*args, str(tiny), str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(["compress", "--method", "rtn", "--group-size", "48", str(tiny), str(tmp_path / "x")])
        == 2
    )
    assert "use --group-size 64 or 32" in capsys.readouterr().err
