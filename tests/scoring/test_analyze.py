"""Representation analysis with the transformers backend on tiny models (known answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from acbench_env.agents.backends import create_backend  # noqa: E402
from acbench_env.cli import main  # noqa: E402
from acbench_env.core.errors import ConfigError  # noqa: E402
from acbench_env.experiments.analysis import analyze_pair, probe_conversations  # noqa: E402
from tests.scoring.suite_fixtures import MINI  # noqa: E402
from tests.scoring.tiny_models import make_tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {
        "base": make_tiny_model(root / "base", seed=0),
        "same": make_tiny_model(root / "same", seed=0),
        "noisy": make_tiny_model(
            root / "noisy", seed=0, noise=0.05, compression={"method": "noise"}
        ),
    }


def test_probe_set_is_fixed_by_its_seed_and_drawn_from_the_suite() -> None:
    a = probe_conversations(MINI, 5, seed=1)
    b = probe_conversations(MINI, 5, seed=1)
    c = probe_conversations(MINI, 5, seed=2)
    assert a == b and [x[:2] for x in a] != [x[:2] for x in c]
    ids = {t.env_id for t in MINI.tasks}
    assert all(env_id in ids and messages[-1]["role"] == "user" for env_id, _, messages in a)
    # More probes than episodes: every episode once.
    assert len(probe_conversations(MINI, 1000, seed=0)) == sum(t.episodes for t in MINI.tasks)
    with pytest.raises(ConfigError, match="at least 1"):
        probe_conversations(MINI, 0, seed=0)


def test_identical_models_agree_perfectly_and_a_perturbed_one_does_not(tiny) -> None:
    probes = [m for _, _, m in probe_conversations(MINI, 5, seed=0)]
    base = create_backend("transformers", model=str(tiny["base"]))
    same = create_backend("transformers", model=str(tiny["same"]))
    noisy = create_backend("transformers", model=str(tiny["noisy"]))
    r = analyze_pair(base, same, probes, max_tokens=24, batch_size=2)
    assert r["probes"] == 5 and r["positions"] == 5 * 24  # all probes are longer than 24 tokens
    assert len(r["erank_layers_base"]) == 3  # embeddings + 2 layers
    assert r["erank_layers_base"] == pytest.approx(r["erank_layers_compressed"])
    assert r["erank_logits_base"] == pytest.approx(r["erank_logits_compressed"])
    for row in r["topk"]:
        assert (row["kendall_tau"], row["spearman_rho"], row["jaccard"]) == pytest.approx((1, 1, 1))
    assert r["energy"]["mean_abs_shift"] == pytest.approx(0.0, abs=1e-9)
    assert r["energy"]["wasserstein"] == pytest.approx(0.0, abs=1e-9)
    assert sum(r["energy"]["histogram"]["base"]) == r["positions"]
    n = analyze_pair(base, noisy, probes, max_tokens=24, batch_size=3)
    assert n["positions"] == r["positions"]  # batching and padding do not change positions
    assert n["energy"]["mean_abs_shift"] > 0
    assert min(row["jaccard"] for row in n["topk"]) < 1.0
    assert n["erank_layers_base"] == pytest.approx(r["erank_layers_base"], rel=1e-4)


def test_padding_does_not_change_the_metrics(tiny) -> None:
    """Probes of different lengths in one padded batch give the metrics of separate runs."""
    probes = [m for _, _, m in probe_conversations(MINI, 4, seed=0)]
    base = create_backend("transformers", model=str(tiny["base"]))
    noisy = create_backend("transformers", model=str(tiny["noisy"]))
    short = [[{"role": "user", "content": "hi"}], *probes[:1]]
    together = analyze_pair(base, noisy, short, max_tokens=64, batch_size=2)
    apart = analyze_pair(base, noisy, short, max_tokens=64, batch_size=1)
    assert together["positions"] < 2 * 64  # the short probe is padded, and masked
    assert together["positions"] == apart["positions"]
    assert together["energy"]["mean_abs_shift"] == pytest.approx(
        apart["energy"]["mean_abs_shift"], rel=1e-4
    )
    assert together["erank_layers_base"] == pytest.approx(apart["erank_layers_base"], rel=1e-4)


def test_analyze_cli_writes_records(tiny, tmp_path, capsys) -> None:
    out = tmp_path / "an"
    args = ["analyze", "--base", str(tiny["base"]), "--compressed", str(tiny["noisy"])]
    assert main([*args, "--out", str(out), "--probes", "3", "--max-tokens", "32"]) == 0
    rec = json.loads((out / "analysis" / "base__vs__noisy.json").read_text())
    assert rec["base"] == "base" and rec["compressed"] == "noisy" and rec["probes"] == 3
    assert rec["compression"] == {"method": "noise"}
    assert [r["k"] for r in rec["topk"]] == [3, 10, 20]
    assert "Jaccard@10" in capsys.readouterr().out
    assert main([*args[:3], "--compressed", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
