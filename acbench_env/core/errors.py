"""The error hierarchy of acbench-env.

Every error a user can cause derives from :class:`AcbenchError` and carries a message that
says what to do. The CLI prints such errors as one line, without a traceback.
"""

from __future__ import annotations


class AcbenchError(Exception):
    """Base class of every error that acbench-env raises on purpose."""


class UnknownEnvError(AcbenchError, KeyError):
    """An environment id is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(AcbenchError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed; "
            f"install it with: pip install 'acbench-env[{extra}]'"
        )


def require(
    modules: str | tuple[str, ...], extra: str, purpose: str, *, package: str | None = None
) -> None:
    """Raise :class:`MissingDependencyError` for the first of ``modules`` that is not
    installed (found with :func:`importlib.util.find_spec`, so nothing is imported).

    ``extra`` is the acbench-env extra that installs it and ``purpose`` what needs it (the
    message's subject); ``package`` is the name to print where the distribution's name
    differs from the module's (``compressed-tensors`` for ``compressed_tensors``)."""
    import importlib.util

    for module in (modules,) if isinstance(modules, str) else modules:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(package or module, extra, purpose)


class ModelNotFoundError(AcbenchError, FileNotFoundError):
    """A model argument does not name the default model or a model folder."""


class ContextLengthError(AcbenchError, ValueError):
    """A requested context length does not fit the target model's context window."""


class TrajectoryFileError(AcbenchError, ValueError):
    """A trajectory file cannot be read, is corrupt, or belongs to another run."""


class ConfigError(AcbenchError, ValueError):
    """An argument or configuration value is invalid."""


class BackendError(AcbenchError, RuntimeError):
    """A model backend failed: a server is unreachable, refused a request, or replied badly."""


class CompressionError(AcbenchError, RuntimeError):
    """A model cannot be compressed as asked (wrong model type, unsupported layout)."""


class OutputExistsError(AcbenchError, FileExistsError):
    """An output folder exists already and overwriting was not asked for."""


class ExecutorError(AcbenchError, RuntimeError):
    """An executor cannot run the work: a cluster is unreachable or too small, a replica
    cannot start, or a cell failed more often than the retry bound allows."""
