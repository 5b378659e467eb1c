"""acbench/WorfBench-v0 (loader) and acbench/Workflow-v0 (generator)."""

from __future__ import annotations

import json

import gymnasium
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.environments.workflow.generator import WorkflowEnv
from acbench_env.environments.workflow.worfbench import WorfBenchEnv
from acbench_env.scoring.workflow import START, format_workflow, parse_workflow
from tests.conftest import SHARED_DATA

WORFBENCH = SHARED_DATA / "worfbench"
COUNTS = {"alfworld": 312, "lumos": 489, "os": 20, "toolbench": 114, "webshop": 133, "wikihow": 262}
needs_data = pytest.mark.skipif(
    not WORFBENCH.is_dir(), reason=f"shared WorfBench data not found at {WORFBENCH}"
)


def step(env: gymnasium.Env, action: str, index: int = 0) -> dict:
    env.reset(options={"task_index": index})
    _, reward, terminated, _, info = env.step(action)
    assert terminated
    info["reward"] = reward
    return info


# ---------------------------------------------------------------------- WorfBench-v0
def test_worfbench_default_is_the_bundled_sample() -> None:
    env = WorfBenchEnv(similarity="lexical")
    assert env.subset == "sample" and env.num_tasks == 10
    sources = {env.get_task(i).meta["subset"] for i in range(env.num_tasks)}
    assert sources == set(COUNTS)


@needs_data
@pytest.mark.parametrize("subset", sorted(COUNTS))
def test_worfbench_loads_each_real_subset(subset: str) -> None:
    env = WorfBenchEnv(data_dir=WORFBENCH, subset=subset, similarity="lexical")
    assert env.num_tasks == COUNTS[subset]
    task = env.get_task(env.num_tasks - 1)
    assert task.task_id.startswith(f"worfbench-{subset}-")
    assert "START" in task.observation and task.gold.nodes
    info = step(env, env.get_task(0).gold_text)
    assert info["score"] == 1.0 and info["success"]


@needs_data
def test_worfbench_all_subsets_and_upstream_mode() -> None:
    env = WorfBenchEnv(data_dir=WORFBENCH, subset="all", similarity="lexical")
    assert env.num_tasks == sum(COUNTS.values())
    up = WorfBenchEnv(data_dir=WORFBENCH, subset="os", mode="upstream", similarity="lexical")
    info = step(up, up.get_task(0).gold_text)
    assert info["mode"] == "upstream" and info["parse_error"] is None
    assert 0.0 < info["score"] <= 1.0


def test_worfbench_few_shot_uses_other_items() -> None:
    env = WorfBenchEnv(few_shot=2, similarity="lexical")
    task = env.get_task(0)
    assert task.observation == WorfBenchEnv(similarity="lexical").get_task(0).observation
    one, two = env.get_task(1), env.get_task(2)
    assert task.examples == (
        (one.observation, one.gold_text.strip()),
        (two.observation, two.gold_text.strip()),
    )
    assert all(task.gold_text.strip() != answer for _, answer in task.examples)


def test_worfbench_bad_sources_name_the_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        WorfBenchEnv(data_dir=tmp_path / "missing")
    with pytest.raises(ConfigError, match="graph_eval.json does not exist"):
        WorfBenchEnv(data_dir=tmp_path, subset="os")
    with pytest.raises(ConfigError, match="subset"):
        WorfBenchEnv(data_dir=tmp_path, subset="gsm8k")
    folder = tmp_path / "os"
    folder.mkdir()
    target = folder / "graph_eval.json"
    target.write_text("{not json")
    with pytest.raises(ConfigError, match=r"graph_eval.json is not valid JSON"):
        WorfBenchEnv(data_dir=tmp_path, subset="os")
    target.write_text(
        json.dumps([{"id": "a", "conversations": [{"role": "user", "content": "x"}]}])
    )
    with pytest.raises(ConfigError, match=r"item 0: conversations"):
        WorfBenchEnv(data_dir=tmp_path, subset="os")
    turns = [{"role": "user", "content": "task"}, {"role": "assistant", "content": "no plan"}]
    target.write_text(json.dumps([{"id": "os_7", "conversations": turns}]))
    with pytest.raises(ConfigError, match=r"item os_7: the gold workflow cannot be parsed"):
        WorfBenchEnv(data_dir=tmp_path, subset="os")


# ---------------------------------------------------------------------- Workflow-v0
def test_generator_is_a_pure_function_of_index_and_seed() -> None:
    a, b = WorkflowEnv(similarity="lexical"), WorkflowEnv(similarity="lexical")
    other = WorkflowEnv(similarity="lexical", generator_seed=1)
    for i in range(10):
        assert a.make_task(i) == b.make_task(i)
    assert [a.make_task(i).gold_text for i in range(10)] != [
        other.make_task(i).gold_text for i in range(10)
    ]
    assert len({a.make_task(i).gold_text for i in range(50)}) >= 45


@pytest.mark.parametrize(("level", "low", "high"), [(1, 2, 3), (2, 3, 6), (3, 5, 10)])
def test_levels_set_graph_size_and_branching(level: int, low: int, high: int) -> None:
    env = WorkflowEnv(level=level, num_tasks=60, similarity="lexical")
    sizes, widths = [], []
    for i in range(env.num_tasks):
        task = env.get_task(i)
        wf = task.gold
        sizes.append(len(wf.nodes))
        widths.append(sum(1 for u, _ in wf.edges if u == START))
        assert task.meta == {"domain": ("tools", "household")[i % 2], "level": level}
        again = parse_workflow(task.gold_text).workflow
        assert again is not None and again.nodes == wf.nodes and again.edge_set == wf.edge_set
    assert low <= min(sizes) and max(sizes) <= high
    if level >= 2:
        assert min(widths) >= 2  # parallel branches
    if level == 3:
        assert max(widths) >= 4 and max(sizes) >= 8


def test_tool_tasks_name_listed_tools() -> None:
    env = WorkflowEnv(level=3, domain="tools", num_tasks=20, similarity="lexical")
    for i in range(env.num_tasks):
        task = env.get_task(i)
        task_part = task.observation.split("Now it's your turn.")[-1]
        for node in task.gold.nodes:
            tool = node.rsplit(" with ", 1)[-1].rstrip(".")
            assert f"- {tool}(" in task_part, (i, node)


def test_few_shot_examples() -> None:
    zero = WorkflowEnv(few_shot=0, similarity="lexical").get_task(3)
    two = WorkflowEnv(few_shot=2, similarity="lexical").get_task(3)
    # Examples are prior chat turns; the instructions open the first one only.
    header = zero.observation[: zero.observation.index("You are a household robot")]
    assert zero.examples == () and header.startswith("You are a helpful task planner")
    assert two.observation == zero.observation[len(header) :]
    assert len(two.examples) == 2
    assert two.examples[0][0].startswith(header) and not two.examples[1][0].startswith(header)
    for prompt, answer in two.examples:
        assert "Task: " in prompt and prompt != two.observation
        assert answer.startswith("Node:") and answer != two.gold_text


def test_scoring_through_the_env() -> None:
    env = gymnasium.make("acbench/Workflow-v0", level=2, similarity="lexical")
    task = env.unwrapped.get_task(0)
    gold = task.gold
    # Drop the last branch node before the join: partial credit.
    nodes = list(gold.nodes)
    join = len(nodes) - 1
    partial = format_workflow(
        type(gold)(nodes=tuple(nodes[1:]), edges=tuple(_shift(gold.edges, drop=0)))
    )
    info = step(env, partial)
    assert info["parse_error"] is None and 0.0 < info["score"] < 1.0 and not info["success"]
    assert info["reward"] == info["score"] == info["graph_f1"]
    assert info["matched_nodes"] == join
    info = step(env, "Node:\n1.Do nothing\nEdges:\n(START,1)\n(1,2)\n(1,END)")
    assert (
        info["format_failure"]
        and info["reward"] == 0.0
        and "unknown node id 2" in info["parse_error"]
    )
    no_space = task.gold_text.replace(": ", ".", len(nodes))
    info = step(env, no_space)
    assert info["score"] == 1.0 and info["parsed_action"]["nodes"]["1"] == nodes[0]
    node_env = gymnasium.make(
        "acbench/Workflow-v0", level=2, similarity="lexical", metric="node_f1"
    )
    info = step(node_env, partial)
    assert info["score"] == info["node_f1"] and info["score"] > 0.0


def _shift(edges, drop: int):  # noqa: ANN001, ANN202
    """Edges without node ``drop``, renumbered; START links to its successors."""
    out = []
    for u, v in edges:
        if drop in (u, v):
            continue
        out.append(tuple(x - 1 if isinstance(x, int) and x > drop else x for x in (u, v)))
    return out


@pytest.mark.parametrize(
    "kwargs",
    [
        {"level": 4},
        {"domain": "garden"},
        {"few_shot": -1},
        {"num_tasks": 0},
        {"mode": "strict"},
        {"metric": "bleu"},
        {"threshold": 1.5},
        {"similarity": "glove"},
    ],
)
def test_generator_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        WorkflowEnv(**kwargs)
