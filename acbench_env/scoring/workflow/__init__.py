"""Workflow generation scoring: parse workflows into graphs and compute node / graph F1.

:func:`score_workflow` is the entry point (:func:`score_workflows` for many pairs at
once); see :mod:`acbench_env.scoring.workflow.score` for the metric and
:mod:`acbench_env.scoring.workflow.upstream` for the reference (bug-compatible) mode.
Nothing heavy is imported here: the embedding model loads on the first similarity that
needs it.
"""

from acbench_env.scoring.workflow.graph import (
    END,
    START,
    UpstreamGraph,
    Workflow,
    WorkflowParse,
    format_workflow,
    parse_workflow,
    parse_workflow_upstream,
)
from acbench_env.scoring.workflow.score import (
    DEFAULT_THRESHOLD,
    MODES,
    match_nodes,
    ordered_matches,
    score_fixed,
    score_workflow,
    score_workflows,
)
from acbench_env.scoring.workflow.similarity import (
    EmbeddingSimilarity,
    LexicalSimilarity,
    SimilarityBackend,
    embedding_available,
    embedding_model_dir,
    resolve_similarity,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "END",
    "MODES",
    "START",
    "EmbeddingSimilarity",
    "LexicalSimilarity",
    "SimilarityBackend",
    "UpstreamGraph",
    "Workflow",
    "WorkflowParse",
    "embedding_available",
    "embedding_model_dir",
    "format_workflow",
    "match_nodes",
    "ordered_matches",
    "parse_workflow",
    "parse_workflow_upstream",
    "resolve_similarity",
    "score_fixed",
    "score_workflow",
    "score_workflows",
]
