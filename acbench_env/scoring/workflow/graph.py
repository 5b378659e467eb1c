"""Workflows: nodes (subtask texts) and dependency edges, parsed from model output.

Two input forms are understood:

* the WorfBench text format, a ``Node:`` list followed by ``Edges:`` (or ``Edge:``) pairs::

      Node:
      1: Boil water in the kettle.
      2.Put a tea bag in the mug.
      Edges: (START,1) (START,2) (1,2) (2,END)

  Node lines are ``<id>.<text>`` or ``<id>:<text>``, with or without a space after the
  separator (the WorfBench prompt asks for ``1.{subtask}``, without one). Edges are
  ``(<id>,<id>)`` pairs where an id is a node id, ``START`` or ``END`` (any case);
  parenthesised text that is not such a pair is ignored, since model prose is full of it.
* a JSON object ``{"nodes": [...], "edges": [[a, b], ...]}`` (optionally in a code
  fence), where a node is a string (ids ``1..n`` in list order) or an object with an
  ``id`` and one of ``text``/``task``/``subtask``/``name``, and an edge is a pair or an
  object with ``from``/``to`` (or ``source``/``target``).

:func:`parse_workflow` never raises: a workflow that cannot be read (no node list, no
edges, an edge to an unknown node id, an edge that dangles off ``START``/``END``, a cycle,
a node id listed twice) comes back with ``error`` set.

:func:`parse_workflow_upstream` reproduces the reference parser (WorfBench
``node_eval.workflow_to_graph_list``) for the bug-compatible scoring mode.
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

import networkx as nx

START = "START"
END = "END"

#: A node of the graph: a 0-based node index, ``"START"`` or ``"END"``.
Endpoint = int | str

_HEADER = re.compile(r"^[\s#*_>-]*nodes?[\s*_]*(?::(?P<rest>.*))?$", re.IGNORECASE)
_NODE_LINE = re.compile(
    r"^[\s>]*(?:[-*\u2022]\s*)?(?:\*\*)?(?:node\s*)?(?P<id>\d+)(?:\*\*)?\s*[.:)]\s*(?:\*\*)?"
    r"(?P<text>.*?)\s*$",
    re.IGNORECASE,
)
_ID = r"(START|END|\d+)"
_EDGE = re.compile(r"\(\s*" + _ID + r"\s*,\s*" + _ID + r"\s*\)", re.IGNORECASE)
_DANGLING = re.compile(r"\(\s*" + _ID + r"\s*,\s*\)|\(\s*,\s*" + _ID + r"\s*\)", re.IGNORECASE)
# An unfinished pair at the very end of the text: the answer was cut off (token limit).
_TRUNCATED = re.compile(r"\(\s*(?:" + _ID + r"\s*(?:,\s*(?:" + _ID + r")?\s*)?)?\Z", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class Workflow:
    """A workflow: node texts in listed order and directed dependency edges.

    ``edges`` hold 0-based node indices and the pseudo-nodes ``"START"``/``"END"``;
    ``labels`` are the node ids as written (``"1"``, ``"2"``, ...).
    """

    nodes: tuple[str, ...]
    edges: tuple[tuple[Endpoint, Endpoint], ...]
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.labels:
            object.__setattr__(self, "labels", tuple(str(i + 1) for i in range(len(self.nodes))))

    @cached_property
    def graph(self) -> nx.DiGraph:
        """A frozen ``networkx.DiGraph`` with ``START``, ``END`` and nodes ``0..n-1``
        (attributes ``text`` and ``label``)."""
        g = nx.DiGraph()
        g.add_node(START, text=START, label=START)
        for i, (text, label) in enumerate(zip(self.nodes, self.labels)):
            g.add_node(i, text=text, label=label)
        g.add_node(END, text=END, label=END)
        g.add_edges_from(self.edges)
        return nx.freeze(g)

    @cached_property
    def edge_set(self) -> frozenset[tuple[Endpoint, Endpoint]]:
        return frozenset(self.edges)

    @cached_property
    def _inner(self) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]]:
        """Successors and predecessors among real nodes (START/END left out)."""
        n = len(self.nodes)
        succ: list[list[int]] = [[] for _ in range(n)]
        pred: list[list[int]] = [[] for _ in range(n)]
        for u, v in self.edges:
            if isinstance(u, int) and isinstance(v, int):
                succ[u].append(v)
                pred[v].append(u)
        return tuple(map(tuple, succ)), tuple(map(tuple, pred))

    @cached_property
    def order(self) -> tuple[int, ...]:
        """The execution order of the nodes: the topological order of the graph that keeps
        the listed order wherever the edges allow (equal to it when it is topological).
        Empty if the edges contain a cycle (which :func:`parse_workflow` rejects)."""
        succ, pred = self._inner
        indegree = [len(p) for p in pred]
        ready = [i for i, d in enumerate(indegree) if d == 0]
        heapq.heapify(ready)
        out: list[int] = []
        while ready:
            u = heapq.heappop(ready)
            out.append(u)
            for v in succ[u]:
                indegree[v] -= 1
                if indegree[v] == 0:
                    heapq.heappush(ready, v)
        return tuple(out) if len(out) == len(self.nodes) else ()

    @cached_property
    def ancestors(self) -> tuple[frozenset[int], ...]:
        """For each node index, the node indices from which it can be reached."""
        _, pred = self._inner
        found: list[frozenset[int]] = [frozenset()] * len(self.nodes)
        for v in self.order:
            acc: set[int] = set()
            for u in pred[v]:
                acc.add(u)
                acc |= found[u]
            found[v] = frozenset(acc)
        return tuple(found)


@dataclass(frozen=True)
class WorkflowParse:
    """The result of :func:`parse_workflow`: a workflow, or the reason there is none."""

    workflow: Workflow | None
    error: str | None = None
    source_format: str = "text"
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.workflow is not None


def _fail(message: str, source_format: str = "text") -> WorkflowParse:
    return WorkflowParse(workflow=None, error=message, source_format=source_format)


def _clean_text(text: str) -> str:
    text = text.strip().strip("*").strip()
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1].strip()
    return text


def _endpoint(token: str) -> str:
    upper = token.strip().upper()
    return upper if upper in (START, END) else str(int(token.strip()))


def _build(
    labels: list[str],
    texts: list[str],
    raw_edges: list[tuple[str, str]],
    source_format: str,
) -> WorkflowParse:
    """Check ids and structure and assemble a :class:`Workflow` (shared by both forms)."""
    if not labels:
        return _fail("the workflow lists no nodes", source_format)
    index: dict[str, int] = {}
    for i, label in enumerate(labels):
        if label in index:
            return _fail(f"node id {label} is listed twice", source_format)
        index[label] = i
    for i, text in enumerate(texts):
        if not text:
            return _fail(f"node {labels[i]} has no text", source_format)
    if not raw_edges:
        return _fail("the workflow has no edges; give (START,1) ... (n,END) pairs", source_format)
    edges: list[tuple[Endpoint, Endpoint]] = []
    seen: set[tuple[Endpoint, Endpoint]] = set()
    for a, b in raw_edges:
        if b == START or a == END:
            return _fail(
                f"edge ({a},{b}) dangles: nothing precedes START or follows END", source_format
            )
        for x in (a, b):
            if x not in (START, END) and x not in index:
                return _fail(f"edge ({a},{b}) names unknown node id {x}", source_format)
        if a == b:
            return _fail(f"edge ({a},{b}) is a self-loop (a cycle)", source_format)
        u: Endpoint = a if a in (START, END) else index[a]
        v: Endpoint = b if b in (START, END) else index[b]
        if (u, v) not in seen:
            seen.add((u, v))
            edges.append((u, v))
    wf = Workflow(nodes=tuple(texts), edges=tuple(edges), labels=tuple(labels))
    if not wf.order:  # START/END cannot be on a cycle: only edges among nodes can close one
        g = wf.graph
        cycle = nx.find_cycle(g)
        shown = " -> ".join(str(g.nodes[u]["label"]) for u, _ in cycle)
        return _fail(
            f"the edges contain a cycle: {shown} -> {g.nodes[cycle[0][0]]['label']}", source_format
        )
    return WorkflowParse(workflow=wf, source_format=source_format)


def _parse_text(text: str) -> WorkflowParse:
    lines = text.splitlines()
    start = 0
    header_rest: str | None = None
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m and not _NODE_LINE.match(line):
            start, header_rest = i + 1, m.group("rest") or ""
            break
    labels: list[str] = []
    texts: list[str] = []
    end = start
    if header_rest is not None and (m := _NODE_LINE.match(header_rest.strip())):
        labels.append(str(int(m.group("id"))))
        texts.append(_clean_text(m.group("text")))
    in_block = bool(labels)
    for i in range(start, len(lines)):
        line = lines[i]
        m = _NODE_LINE.match(line)
        if m and not _EDGE.match(line.strip()):
            labels.append(str(int(m.group("id"))))
            texts.append(_clean_text(m.group("text")))
            in_block = True
            end = i + 1
        elif not line.strip() or not in_block:
            if not in_block and _EDGE.search(line):
                break  # edges before any node: no node list
            continue
        else:
            break
    if not labels:
        return _fail("no node list found; expected 'Node:' followed by lines '1: <subtask>'")
    rest = "\n".join(lines[end:]).rstrip()
    warnings: tuple[str, ...] = ()
    if m := _TRUNCATED.search(rest):
        warnings = (f"ignored the unfinished edge {m.group(0)!r} at the end (truncated answer)",)
        rest = rest[: m.start()]
    if m := _DANGLING.search(rest):
        return _fail(f"dangling edge {m.group(0).strip()!r}: an edge needs two node ids")
    raw = [(_endpoint(a), _endpoint(b)) for a, b in _EDGE.findall(rest)]
    parsed = _build(labels, texts, raw, "text")
    return replace(parsed, warnings=warnings) if parsed.ok else parsed


def _node_from_json(i: int, item: Any) -> tuple[str, str] | str:
    if isinstance(item, str):
        return str(i + 1), _clean_text(item)
    if isinstance(item, dict):
        raw_id = item.get("id", i + 1)
        text = next(
            (item[k] for k in ("text", "task", "subtask", "name", "description") if k in item),
            None,
        )
        if not isinstance(text, str):
            return f"node {i + 1} has no text field (text/task/subtask/name)"
        if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)):
            return f"node {i + 1} has an invalid id {raw_id!r}"
        label = str(raw_id).strip()
        if not label.isdigit():
            return f"node id {label!r} is not a number"
        return str(int(label)), _clean_text(text)
    return f"node {i + 1} is neither a string nor an object"


def _edge_from_json(item: Any) -> tuple[str, str] | str:
    pair: Any = item
    if isinstance(item, dict):
        keys = next(
            ((a, b) for a, b in (("from", "to"), ("source", "target"), ("u", "v")) if a in item),
            None,
        )
        if keys is None or keys[1] not in item:
            return f"edge {item!r} needs from/to (or source/target)"
        pair = (item[keys[0]], item[keys[1]])
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        return f"dangling edge {item!r}: an edge needs two node ids"
    out: list[str] = []
    for x in pair:
        if isinstance(x, bool) or not isinstance(x, (int, str)):
            return f"edge {item!r} has an invalid endpoint {x!r}"
        token = str(x).strip()
        if token.upper() in (START, END):
            out.append(token.upper())
        elif token.isdigit():
            out.append(str(int(token)))
        else:
            return f"edge {item!r} has an invalid endpoint {x!r}"
    return out[0], out[1]


def _parse_json(body: str) -> WorkflowParse:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _fail(f"invalid JSON: {exc}", "json")
    if not isinstance(data, dict) or "nodes" not in data:
        return _fail("a JSON workflow must be an object with 'nodes' and 'edges'", "json")
    nodes, edges = data.get("nodes"), data.get("edges", data.get("edge", []))
    if not isinstance(nodes, list) or not isinstance(edges, list):
        return _fail("'nodes' and 'edges' must be lists", "json")
    labels: list[str] = []
    texts: list[str] = []
    for i, item in enumerate(nodes):
        got = _node_from_json(i, item)
        if isinstance(got, str):
            return _fail(got, "json")
        labels.append(got[0])
        texts.append(got[1])
    raw: list[tuple[str, str]] = []
    for item in edges:
        got_e = _edge_from_json(item)
        if isinstance(got_e, str):
            return _fail(got_e, "json")
        raw.append(got_e)
    return _build(labels, texts, raw, "json")


def parse_workflow(text: str) -> WorkflowParse:
    """Parse a workflow from the WorfBench text format or the JSON form; never raises.

    Results are memoised per text (they are immutable), so a gold workflow scored
    against many predictions is parsed once.
    """
    if not isinstance(text, str):
        return _fail(f"a workflow must be text, got {type(text).__name__}")
    if len(text) > 8_000:
        return _parse_uncached(text)
    return _parse_cached(text)


def _parse_uncached(text: str) -> WorkflowParse:
    body = text.strip()
    if m := _FENCE.match(body):
        body = m.group("body").strip()
    if body.startswith("{"):
        return _parse_json(body)
    try:
        return _parse_text(text)
    except RecursionError:  # pragma: no cover - regexes here do not recurse
        return _fail("the workflow text could not be parsed")


_parse_cached = lru_cache(maxsize=4096)(_parse_uncached)


def format_workflow(workflow: Workflow) -> str:
    """The canonical WorfBench text form of ``workflow`` (ids ``1..n`` in list order)."""

    def name(x: Endpoint) -> str:
        return x if isinstance(x, str) else str(x + 1)

    def key(x: Endpoint) -> int:
        return -1 if x == START else (len(workflow.nodes) if x == END else int(x))

    lines = ["Node:"] + [f"{i + 1}: {t}" for i, t in enumerate(workflow.nodes)]
    edges = sorted(workflow.edges, key=lambda e: (key(e[0]), key(e[1])))
    lines.append("Edges: " + " ".join(f"({name(u)},{name(v)})" for u, v in edges))
    return "\n".join(lines)


# ---------------------------------------------------------------------- upstream parser
@dataclass(frozen=True)
class UpstreamGraph:
    """The reference parser's output: ``nodes`` with ``START`` first and ``END`` last,
    ``edges`` as index pairs into that list."""

    nodes: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]


_UP_NODE = re.compile(r"\d+[:.] (.+)")
_UP_EDGE = re.compile(r"\(\s*(\d+|START)\s*,\s*(\d+|END)\s*\)")


def parse_workflow_upstream(text: str) -> UpstreamGraph | None:
    """Reproduce WorfBench's ``workflow_to_graph_list``: ``None`` where it returns ``[]``.

    Its quirks are kept on purpose: node lines need a space after ``1.``/``1:`` (so the
    ``1.{subtask}`` form its own prompt asks for is not read), any such line anywhere in
    the text is a node, node ids in edges are positions (the numbers written in the node
    list are ignored), and ``START``/``END`` are matched case-sensitively.
    """
    if not isinstance(text, str) or "Node" not in text:
        return None
    nodes = [START, *(m.strip() for m in _UP_NODE.findall(text)), END]
    matches = _UP_EDGE.findall(text)
    if not matches:
        return None
    edges: list[tuple[int, int]] = []
    for a, b in matches:
        u = 0 if a == START else int(a)
        v = len(nodes) - 1 if b == END else int(b)
        edges.append((u, v))
    return UpstreamGraph(nodes=tuple(nodes), edges=tuple(edges))
