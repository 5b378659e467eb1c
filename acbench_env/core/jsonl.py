"""Trajectory files: JSON Lines, one episode per line, append-only.

Each record is written with one ``write`` of the whole line followed by ``fsync``, so a
complete line is a complete episode. A process killed mid-write can leave at most one
partial last line (no trailing newline); :func:`read_trajectories` with ``repair=True``
cuts it off so the run can resume. Any other unreadable line is an error: the file is
corrupt or not a trajectory file, and nothing is changed.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from acbench_env.core.errors import TrajectoryFileError
from acbench_env.core.types import Trajectory

logger = logging.getLogger(__name__)


def to_jsonable(value: Any) -> Any:
    """Plain JSON types for ``value`` (numpy scalars/arrays, tuples, sets, paths)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    # Other objects (a tokenizer passed as an env argument, say): a stable description
    # without the memory address that str() would include.
    name = getattr(value, "name", None)
    kind = type(value).__qualname__
    return f"<{kind} {name}>" if isinstance(name, str) else f"<{kind}>"


def dumps(traj: Trajectory) -> str:
    """One JSON line (sorted keys, so equal records give equal bytes)."""
    return json.dumps(to_jsonable(traj.to_dict()), sort_keys=True, ensure_ascii=False) + "\n"


def encode_line(traj: Trajectory) -> bytes:
    """:func:`dumps` as UTF-8 bytes. A lone surrogate (a server may send ``"\\ud800"`` in
    JSON) cannot be UTF-8; it is written as its JSON escape, which reads back unchanged."""
    return dumps(traj).encode("utf-8", "backslashreplace")


def append_trajectory(path: Path, traj: Trajectory) -> None:
    """Append one record durably (single write + fsync)."""
    data = encode_line(traj)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_trajectories(path: Path | str, *, repair: bool = False) -> list[Trajectory]:
    """All records in ``path`` (empty if it does not exist).

    A partial last line (left by a killed writer) is ignored, and with ``repair=True``
    removed from the file. Any other bad line raises :class:`TrajectoryFileError`.
    """
    path = Path(path)
    if not path.exists():
        return []
    if path.is_dir():
        raise TrajectoryFileError(f"{path} is a directory; pass a .jsonl file path")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TrajectoryFileError(
            f"cannot read {path}: {exc.strerror}; check its permissions"
        ) from exc
    complete_end = raw.rfind(b"\n") + 1
    out = []
    for lineno, line in enumerate(raw[:complete_end].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(Trajectory.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise TrajectoryFileError(
                f"line {lineno} of {path} is not an acbench trajectory record ({exc!s:.80}); "
                "the file is corrupt or of another kind: move it away or choose another output file"
            ) from exc
    if complete_end < len(raw):
        logger.warning(
            "%s ends with a partial record (%d bytes, from an interrupted run)%s",
            path,
            len(raw) - complete_end,
            "; removing it" if repair else "",
        )
        if repair:
            with path.open("r+b") as fh:
                fh.truncate(complete_end)
                fh.flush()
                os.fsync(fh.fileno())
    return out


def step_values(folder: Path | str, field: str) -> dict[tuple[str, int], list[Any]]:
    """One step field of every episode in a suite folder's trajectory files
    (``folder/runs/**/*.jsonl``), by (env id, seed), in step order: e.g. ``"raw_output"`` to
    compare two runs' outputs episode by episode."""
    got: dict[tuple[str, int], list[Any]] = {}
    for f in sorted((Path(folder) / "runs").rglob("*.jsonl")):
        for traj in read_trajectories(f):
            got[(traj.env_id, traj.seed)] = [getattr(s, field) for s in traj.steps]
    return got
