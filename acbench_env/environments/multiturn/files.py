"""A virtual file system: files (path -> text) in a few folders.

Invariants: a path is a non-empty relative path of words (``docs/report.txt``; a leading
``/`` or ``./`` is dropped); creating, copying or moving onto an existing file, and reading,
appending to, deleting, copying or moving a missing file are refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.environments.multiturn.apps import (
    STATE_KEY,
    App,
    InvariantError,
    PairsState,
    Sampler,
)
from acbench_env.environments.sampling import pick
from acbench_env.tools.sandbox import Tool, ToolCall

_PATH = re.compile(r"^[A-Za-z0-9_\-]+(?:/[A-Za-z0-9_\-.]+)*$")


def normalize_path(path: str) -> str:
    """``path`` without surrounding blanks and a leading ``/`` or ``./``; refused if invalid."""
    p = path.strip()
    while p.startswith("./"):
        p = p[2:]
    p = p.lstrip("/")
    if not p or not _PATH.match(p) or ".." in p.split("/"):
        raise InvariantError(f"invalid path {path!r}; use a relative path like 'docs/notes.txt'")
    return p


@dataclass(frozen=True)
class FileSystem(PairsState[str]):
    """The state: ``files`` as (path, content) pairs sorted by path."""

    files: tuple[tuple[str, str], ...] = ()

    view_prefix = "file"

    def _existing(self, path: str) -> str:
        p = normalize_path(path)
        if p not in self.as_dict():
            raise InvariantError(f"no file {p!r}")
        return p

    def _free(self, path: str) -> str:
        p = normalize_path(path)
        if p in self.as_dict():
            raise InvariantError(f"a file {p!r} already exists")
        return p

    def read(self, path: str) -> str:
        return self.as_dict()[self._existing(path)]

    def create(self, path: str, content: str) -> FileSystem:
        p = self._free(path)
        return FileSystem.of({**self.as_dict(), p: content})

    def append(self, path: str, text: str) -> FileSystem:
        p = self._existing(path)
        files = self.as_dict()
        files[p] = files[p] + "\n" + text if files[p] else text
        return FileSystem.of(files)

    def delete(self, path: str) -> FileSystem:
        p = self._existing(path)
        files = self.as_dict()
        del files[p]
        return FileSystem.of(files)

    def copy(self, source: str, destination: str) -> FileSystem:
        src, dst = self._existing(source), self._free(destination)
        files = self.as_dict()
        return FileSystem.of({**files, dst: files[src]})

    def move(self, source: str, destination: str) -> FileSystem:
        src, dst = self._existing(source), self._free(destination)
        files = self.as_dict()
        files[dst] = files.pop(src)
        return FileSystem.of(files)


# ----------------------------------------------------------------------------- tools


def list_files(state: dict[str, Any], folder: str = "") -> list[str]:
    """List the paths of the files in a folder (all files when the folder is empty).

    Args:
        folder: Folder name, e.g. "docs"; "" lists every file.
    """
    fs: FileSystem = state[STATE_KEY]
    prefix = normalize_path(folder) + "/" if folder.strip("/ ") else ""
    return [p for p, _ in fs.files if p.startswith(prefix)]


def read_file(state: dict[str, Any], path: str) -> str:
    """Read the content of a file.

    Args:
        path: Path of the file, e.g. "docs/notes.txt".
    """
    fs: FileSystem = state[STATE_KEY]
    return fs.read(path)


def create_file(state: dict[str, Any], path: str, content: str) -> str:
    """Create a new file with the given content (fails if the file exists).

    Args:
        path: Path of the new file, e.g. "docs/notes.txt".
        content: Text of the file.
    """
    state[STATE_KEY] = state[STATE_KEY].create(path, content)
    return f"created {normalize_path(path)}"


def append_to_file(state: dict[str, Any], path: str, text: str) -> str:
    """Append a line of text at the end of an existing file.

    Args:
        path: Path of the file.
        text: The line to append.
    """
    state[STATE_KEY] = state[STATE_KEY].append(path, text)
    return f"appended to {normalize_path(path)}"


def delete_file(state: dict[str, Any], path: str) -> str:
    """Delete a file.

    Args:
        path: Path of the file to delete.
    """
    state[STATE_KEY] = state[STATE_KEY].delete(path)
    return f"deleted {normalize_path(path)}"


def copy_file(state: dict[str, Any], source: str, destination: str) -> str:
    """Copy a file to a new path (fails if the destination exists).

    Args:
        source: Path of the file to copy.
        destination: Path of the copy.
    """
    state[STATE_KEY] = state[STATE_KEY].copy(source, destination)
    return f"copied {normalize_path(source)} to {normalize_path(destination)}"


def move_file(state: dict[str, Any], source: str, destination: str) -> str:
    """Move (rename) a file to a new path (fails if the destination exists).

    Args:
        source: Path of the file to move.
        destination: New path of the file.
    """
    state[STATE_KEY] = state[STATE_KEY].move(source, destination)
    return f"moved {normalize_path(source)} to {normalize_path(destination)}"


# ----------------------------------------------------------------------------- generator

_FOLDERS = ("docs", "notes", "photos", "projects", "archive", "reports")
_NAMES = (
    "todo.txt",
    "ideas.txt",
    "budget.csv",
    "draft.md",
    "plan.txt",
    "log.txt",
    "summary.md",
    "contacts.txt",
    "recipes.txt",
    "agenda.md",
)
_TEXTS = (
    "buy milk",
    "call the bank",
    "meeting at noon",
    "pay rent",
    "water the plants",
    "book the flight",
    "send the invoice",
    "fix the bike",
    "read chapter two",
    "walk the dog",
)


def _initial(rng: np.random.Generator) -> FileSystem:
    files: dict[str, str] = {}
    count = int(rng.integers(6, 9))
    while len(files) < count:
        files[f"{pick(rng, _FOLDERS)}/{pick(rng, _NAMES)}"] = str(pick(rng, _TEXTS))
    return FileSystem.of(files)


def _new_path(rng: np.random.Generator, fs: FileSystem, name: str | None = None) -> str | None:
    existing = fs.as_dict()
    for _ in range(20):
        path = f"{pick(rng, _FOLDERS)}/{name or pick(rng, _NAMES)}"
        if path not in existing:
            return path
    return None


def _s_create(rng: np.random.Generator, fs: FileSystem) -> tuple[str, ToolCall] | None:
    path, text = _new_path(rng, fs), str(pick(rng, _TEXTS))
    if path is None:
        return None
    return (
        f'Create the file {path} with the content "{text}".',
        ToolCall("create_file", {"path": path, "content": text}),
    )


def _s_delete(rng: np.random.Generator, fs: FileSystem) -> tuple[str, ToolCall] | None:
    path = pick(rng, [p for p, _ in fs.files])
    return f"Delete the file {path}.", ToolCall("delete_file", {"path": path})


def _s_append(rng: np.random.Generator, fs: FileSystem) -> tuple[str, ToolCall] | None:
    path, text = pick(rng, [p for p, _ in fs.files]), str(pick(rng, _TEXTS))
    return (
        f'Append the line "{text}" to the file {path}.',
        ToolCall("append_to_file", {"path": path, "text": text}),
    )


def _s_relocate(verb: str, tool: str) -> Sampler:
    """A sampler asking to ``verb`` an existing file to a new path with ``tool``."""

    def sample(rng: np.random.Generator, fs: FileSystem) -> tuple[str, ToolCall] | None:
        src = pick(rng, [p for p, _ in fs.files])
        dst = _new_path(rng, fs, src.split("/")[-1])
        if dst is None:
            return None
        return (
            f"{verb} the file {src} to {dst}.",
            ToolCall(tool, {"source": src, "destination": dst}),
        )

    return sample


_s_move = _s_relocate("Move", "move_file")
_s_copy = _s_relocate("Copy", "copy_file")


@functools.cache
def files_app() -> App:
    """The file-system app (built once, on first use)."""
    return App(
        name="files",
        description="a virtual file system",
        tools=tuple(
            Tool.from_function(fn)
            for fn in (
                list_files,
                read_file,
                create_file,
                append_to_file,
                delete_file,
                copy_file,
                move_file,
            )
        ),
        read_tools=("list_files", "read_file"),
        initial_state=_initial,
        samplers=(_s_create, _s_delete, _s_append, _s_move, _s_copy),
    )
