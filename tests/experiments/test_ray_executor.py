"""The Ray executor on a real Ray: a two-node cluster on this machine (head and a second
node, 1 CPU each) running a small suite of the default model and a plain-torch compressed
copy, a worker node killed mid-run, a node that joins mid-run, and bad input."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from pathlib import Path

import pytest

from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.experiments.executors import make_executor
from acbench_env.experiments.suite import run_suite
from tests.experiments.test_executors import suite_files
from tests.scoring.suite_fixtures import only

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SMALL = Suite(
    name="ray-small",
    version=1,
    seed=0,
    description="three short-prompt tasks (about 160 prompt tokens), two episodes each",
    tasks=(
        SuiteTask("acbench/Needle-v0", 2, {"context_length": 128}, max_new_tokens=8),
        SuiteTask("acbench/NeedleMultiKey-v0", 2, {"context_length": 128}, max_new_tokens=8),
        SuiteTask("acbench/LongGen-v0", 2, {}, max_new_tokens=8),
    ),
    fallback=SuiteTask("", 1, {}),
)
#: Episodes stepped at once and episodes per work unit (three units per model).
WIDTH, UNIT = 2, 2
TOTAL = 12
#: Fast node-death detection for the test cluster.
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 4}


@pytest.fixture(scope="module")
def variant(tmp_path_factory) -> str:
    """A plain-torch compressed copy of the default model (50% magnitude pruning), made with
    benchmarks/make_test_variants.py's function."""
    import json

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from acbench_env.core.models import resolve_model, weights_sha256

    spec = importlib.util.spec_from_file_location(
        "make_test_variants", ROOT / "benchmarks" / "make_test_variants.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    src = resolve_model("default")
    out = tmp_path_factory.mktemp("variants") / "magnitude-s50"
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    mod.magnitude_prune(model, 0.5)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)
    record = {"method": "magnitude", "sparsity": 0.5, "source_model_sha256": weights_sha256(src)}
    (out / "acbench_compression.json").write_text(json.dumps(record))
    return str(out)


def _count(out: Path) -> int:
    return _count_dir(out / "runs")


def _count_dir(folder: Path) -> int:
    return sum(len(f.read_text().splitlines()) for f in folder.rglob("*.jsonl"))


def test_two_node_suite_survives_a_lost_node_and_matches_local(
    tmp_path, variant, monkeypatch, caplog
) -> None:
    from ray.cluster_utils import Cluster

    only(SMALL, monkeypatch)
    models = ["default", variant]
    local = tmp_path / "local"
    run_suite(models, SMALL, local, batch_size=WIDTH, unit_episodes=UNIT)
    expected = suite_files(local)
    assert sum(len(v) for v in expected.values()) == TOTAL

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": SYSTEM_CONFIG}
    )
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        out = tmp_path / "ray"
        result: dict = {}

        def go() -> None:
            try:
                result["run"] = run_suite(
                    models,
                    SMALL,
                    out,
                    batch_size=WIDTH,
                    unit_episodes=UNIT,
                    executor=make_executor("ray", cpus_per_replica=1),
                )
            except BaseException as exc:  # reported below
                result["error"] = exc

        caplog.set_level(logging.INFO, logger="acbench_env.experiments.executors")
        thread = threading.Thread(target=go)
        thread.start()
        # kill the worker node once the model whose replica it holds has written an episode
        # (and is not done): "replica N of LABEL is up on node ID" names it
        node = worker.node_id[:12]
        deadline = time.monotonic() + 300
        label = None
        while time.monotonic() < deadline and thread.is_alive():
            for r in caplog.records:
                text = r.getMessage()
                if text.endswith(f"is up on node {node}"):
                    label = text.split(" of ", 1)[1].split(" is up", 1)[0]
            runs = out / "runs" / str(label)
            if label and runs.is_dir() and 1 <= _count_dir(runs) < TOTAL // 2:
                break
            time.sleep(0.1)
        assert thread.is_alive() and label, result
        killed_at = _count(out)
        cluster.remove_node(worker, allow_graceful=False)
        thread.join(timeout=300)
        assert not thread.is_alive()
        assert "error" not in result, result.get("error")
        assert killed_at < TOTAL
        # the worker's replica was lost mid-run (its unit queued again, or already done)
        assert any(f"of {label} lost" in r.getMessage() for r in caplog.records)
        got = suite_files(out)
        for name, trajs in got.items():
            seeds = [t["seed"] for t in trajs]
            assert len(seeds) == len(set(seeds)), f"{name} holds an episode twice"
        assert got == expected  # exactly the requested episodes, as the local executor's
        again = run_suite(
            models,
            SMALL,
            out,
            batch_size=WIDTH,
            unit_episodes=UNIT,
            executor=make_executor("ray", cpus_per_replica=1),
        )
        assert again.new_episodes == 0 and again.resumed_episodes == TOTAL
    finally:
        ray.shutdown()
        cluster.shutdown()


class _GatedBackend:
    """A scripted backend for model ``a`` that, after its first reply, waits for ``gate`` to
    exist: the test creates it once model ``b`` has written an episode, which needs a node
    that joined after the run started (and in its ``finally``). The wait is bounded only as
    a last resort (15 minutes): if it ran out while the driver was still slow to record a's
    first episode (a loaded machine), a's replica would finish, free the head, and take b's
    cells there before the new node joined."""

    def __init__(self, gate: str, model_id: str) -> None:
        from acbench_env.agents.backends.scripted import ScriptedBackend

        self._inner = ScriptedBackend(["I do not know."], model_id=model_id)
        self._gate = Path(gate)
        self._calls = 0
        self.name, self.model_id, self.compression = "scripted", model_id, None

    def generate(self, requests):
        self._calls += 1
        if self._calls > 1 and self.model_id == "a":
            deadline = time.monotonic() + 900
            while not self._gate.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        return self._inner.generate(requests)

    def close(self) -> None:
        return None


def test_a_node_that_joins_mid_run_gets_work(tmp_path, monkeypatch) -> None:
    from ray.cluster_utils import Cluster

    from acbench_env.agents import LLMPolicyAgent

    only(SMALL, monkeypatch)
    gate = str(tmp_path / "b-started")
    backends: dict = {}

    def factory(entry, task, repeat):
        if entry.label not in backends:
            backends[entry.label] = _GatedBackend(gate, entry.label)
        return LLMPolicyAgent(backends[entry.label], max_new_tokens=task.max_new_tokens)

    entries = [
        {"label": m, "model": m, "backend": "scripted", "weights_sha256": m} for m in ("a", "b")
    ]
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        out = tmp_path / "ray"
        result: dict = {}

        def go() -> None:
            try:
                result["run"] = run_suite(
                    ["a", "b"],
                    SMALL,
                    out,
                    agent_factory=factory,
                    model_entries=entries,
                    batch_size=1,
                    unit_episodes=2,
                    executor=make_executor("ray"),
                )
            except BaseException as exc:  # reported below
                result["error"] = exc

        thread = threading.Thread(target=go)
        thread.start()
        # Generous limits: on a loaded 2-core machine starting the cluster, its workers and
        # a node takes minutes; on an idle one the test takes about 20 s.
        deadline = time.monotonic() + 600
        while not (out / "runs" / "a").is_dir() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (out / "runs" / "a").is_dir(), result
        assert not (out / "runs" / "b").exists()  # b's replica has no room on the head
        cluster.add_node(num_cpus=1)
        while not (out / "runs" / "b").is_dir() and time.monotonic() < deadline + 600:
            time.sleep(0.1)
        b_started = (out / "runs" / "b").is_dir()
        Path(gate).touch()
        thread.join(timeout=600)
        assert "error" not in result, result.get("error")
        assert b_started, "model b got no work on the node that joined"
        assert result["run"].new_episodes == TOTAL
    finally:
        Path(gate).touch()
        ray.shutdown()
        cluster.shutdown()
