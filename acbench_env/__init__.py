"""acbench-env: how much of a language model's ability to act survives compression.

Importing this package registers every ``acbench/...`` environment with Gymnasium, so
``gymnasium.make("acbench/Needle-v0")`` works after ``import acbench_env``. It imports no
heavy dependency (torch, transformers, vLLM): those load when a backend is created.
"""

from acbench_env import environments as _environments  # noqa: F401  (registers the envs)
from acbench_env.core.errors import AcbenchError
from acbench_env.core.registry import list_envs, make
from acbench_env.core.types import ModelInfo, StepRecord, Trajectory

__version__ = "0.1.0"

__all__ = [
    "AcbenchError",
    "ModelInfo",
    "StepRecord",
    "Trajectory",
    "__version__",
    "list_envs",
    "make",
]
