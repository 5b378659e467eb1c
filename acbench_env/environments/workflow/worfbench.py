"""WorfBench: generate the workflow graph of a task given in WorfBench's own files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import positive_int
from acbench_env.environments import ladders
from acbench_env.environments.workflow.base import WorkflowEnvBase, WorkflowTask
from acbench_env.scoring.workflow import DEFAULT_THRESHOLD, parse_workflow

#: The six subsets whose gold files WorfBench publishes as ``<subset>/graph_eval.json``.
SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")
SAMPLE_FILE = "worfbench_sample.json"


class Turn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str


class WorfBenchItem(BaseModel):
    """One item of a ``graph_eval.json`` file."""

    model_config = ConfigDict(extra="allow")

    id: str
    conversations: list[Turn]
    source: str | None = None
    target: str | None = None
    category: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_to_str(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("conversations")
    @classmethod
    def _has_prompt_and_answer(cls, turns: list[Turn]) -> list[Turn]:
        if len(turns) < 2 or turns[-1].role != "assistant":
            raise ValueError(
                "needs at least a prompt turn and a final 'assistant' turn with the gold workflow"
            )
        return turns


@dataclass(frozen=True)
class LoadedItem:
    item_id: str
    subset: str
    prompt: str
    gold_text: str


def _prompt(turns: list[Turn]) -> str:
    """The prompt turns (system, user, ...) joined, as one user message."""
    return "\n\n".join(t.content.strip() for t in turns[:-1] if t.content.strip())


def load_worfbench_file(path: Path, subset: str) -> list[LoadedItem]:
    """Read and validate one ``graph_eval.json``; errors name the file and the problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"WorfBench file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"WorfBench file {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"WorfBench file {path} must hold a non-empty JSON list of items")
    items: list[LoadedItem] = []
    for k, entry in enumerate(raw):
        try:
            item = WorfBenchItem.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"WorfBench file {path}, item {k}: {where}: {first['msg']}") from exc
        gold_text = item.conversations[-1].content
        parsed = parse_workflow(gold_text)
        if not parsed.ok:
            raise ConfigError(
                f"WorfBench file {path}, item {item.id}: the gold workflow cannot be parsed: "
                f"{parsed.error}"
            )
        items.append(
            LoadedItem(
                item_id=item.id,
                subset=item.source or subset,
                prompt=_prompt(item.conversations),
                gold_text=gold_text,
            )
        )
    return items


#: Where few-shot examples come from (see :class:`WorfBenchEnv`).
FEW_SHOT_SOURCES = ("next", "subset")


def _sample_path() -> Path:
    return Path(str(resources.files("acbench_env.environments.workflow") / "data" / SAMPLE_FILE))


class WorfBenchEnv(WorkflowEnvBase):
    """Plan the workflow (subtask nodes and dependency edges) of a WorfBench task.

    ## Description
    WorfBench (Qiao et al., 2024) asks a model to decompose a task (tool use with a list of
    APIs, embodied household tasks, web shopping, shell tasks, multi-step reasoning, wikiHow
    procedures) into subtask nodes and to connect them into a directed acyclic graph from
    ``START`` to ``END``. This environment reads WorfBench's ``graph_eval.json`` files.

    ## Action / Observation
    Observation: the item's prompt turns (WorfBench's planner instructions and the task),
    joined into one message; ``few_shot`` solved items of the same file come before it as
    prior chat turns (``info["few_shot_messages"]``). Action: the workflow in WorfBench's text format (``Node:`` list, ``Edges:``
    pairs; ``1.text``, ``1. text`` and ``1: text`` all read) or the JSON form.

    ## Rewards / Metric
    One step; reward and ``info["score"]`` are ``metric`` (``graph_f1`` by default, or
    ``node_f1``) from :func:`~acbench_env.scoring.workflow.score_workflow` in ``mode``
    (``"fixed"`` by default; ``"upstream"`` reproduces the reference scorer's quirks).
    ``info`` holds node/graph/edge precision, recall and F1, the match counts, the
    similarity backend (``info["similarity"]``) and threshold. An unreadable workflow
    (no node list, no edges, unknown node id, dangling edge, cycle) scores 0 and sets
    ``info["parse_error"]``. ``success``: node F1 and graph F1 both 1.

    ## Episode End
    After one answer.

    ## Task source
    WorfBench's gold trajectories (``gold_traj/<subset>/graph_eval.json``, MIT licence):
    pass ``data_dir`` (the folder holding ``<subset>/graph_eval.json``, or one such file's
    folder) and ``subset``. Without ``data_dir``, a small sample written by this project
    in the same format (shipped in the package) is used, so the environment runs anywhere.
    The gold workflow is the item's last (assistant) turn; the oracle answers with it.

    ## Arguments
    ``data_dir`` (folder, default ``None`` = bundled sample), ``subset`` (one of
    ``alfworld``, ``lumos``, ``os``, ``toolbench``, ``webshop``, ``wikihow``, or ``"all"``;
    ignored for the sample), ``few_shot`` (solved examples from the same file, default 0),
    ``few_shot_source`` (``"next"``, the default: the items after the task's, in file
    order; ``"subset"``: items of the task's own subset first, then the others),
    ``mode``, ``similarity`` (``"auto"``, ``"embedding"``, ``"lexical"`` or a model folder),
    ``threshold`` (default 0.6, WorfBench's), ``metric``, ``max_tasks`` (first N items).

    ## Difficulty levels
    Set by the data: subsets differ (``os`` and ``webshop`` are mostly chains, ``toolbench``
    and ``wikihow`` have parallel branches, ``alfworld`` has long chains).

    ## Version History
    v0: initial version.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.WORFBENCH

    def __init__(
        self,
        data_dir: str | Path | None = None,
        subset: str = "toolbench",
        few_shot: int = 0,
        mode: str = "fixed",
        similarity: str = "auto",
        threshold: float = DEFAULT_THRESHOLD,
        metric: str = "graph_f1",
        max_tasks: int | None = None,
        render_mode: str | None = None,
        few_shot_source: str = "next",
    ) -> None:
        super().__init__(render_mode, mode, similarity, threshold, metric)
        if isinstance(few_shot, bool) or not isinstance(few_shot, int) or few_shot < 0:
            raise ConfigError(f"few_shot must be a non-negative int, got {few_shot!r}")
        if data_dir is None:
            self.subset = "sample"
            self._items = load_worfbench_file(_sample_path(), "sample")
        else:
            if subset != "all" and subset not in SUBSETS:
                raise ConfigError(f"subset must be 'all' or one of {SUBSETS}, got {subset!r}")
            self.subset = subset
            self._items = []
            for name in SUBSETS if subset == "all" else (subset,):
                self._items.extend(load_worfbench_file(self._file(Path(data_dir), name), name))
        if max_tasks is not None:
            max_tasks = positive_int("max_tasks", max_tasks)
            self._items = self._items[:max_tasks]
        if few_shot >= len(self._items):
            raise ConfigError(
                f"few_shot={few_shot} needs more than {few_shot} items; this source has "
                f"{len(self._items)}"
            )
        self.few_shot = few_shot
        if few_shot_source not in FEW_SHOT_SOURCES:
            raise ConfigError(
                f"few_shot_source must be one of {', '.join(map(repr, FEW_SHOT_SOURCES))}, "
                f"got {few_shot_source!r}"
            )
        self.few_shot_source = few_shot_source

    @staticmethod
    def _file(data_dir: Path, subset: str) -> Path:
        if not data_dir.is_dir():
            raise ConfigError(
                f"WorfBench data_dir {data_dir} is not a folder; pass the folder holding "
                "<subset>/graph_eval.json"
            )
        nested = data_dir / subset / "graph_eval.json"
        flat = data_dir / "graph_eval.json"
        if nested.is_file():
            return nested
        if flat.is_file():
            return flat
        raise ConfigError(
            f"WorfBench file {nested} does not exist (nor {flat}); pass the folder that "
            "holds <subset>/graph_eval.json"
        )

    @property
    def num_tasks(self) -> int:
        return len(self._items)

    def make_task(self, index: int) -> WorkflowTask:
        item = self._items[index]
        gold = parse_workflow(item.gold_text).workflow
        assert gold is not None  # checked when the file was loaded
        n = len(self._items)
        order = [self._items[(index + k) % n] for k in range(1, n)]
        if self.few_shot_source == "subset":
            order.sort(key=lambda other: other.subset != item.subset)  # stable: file order
        shots = order[: self.few_shot]
        return WorkflowTask(
            index=index,
            task_id=f"worfbench-{item.subset}-{item.item_id}",
            observation=item.prompt,
            examples=tuple((shot.prompt, shot.gold_text.strip()) for shot in shots),
            gold_text=item.gold_text,
            gold=gold,
            meta={"subset": item.subset, "item_id": item.item_id},
        )
