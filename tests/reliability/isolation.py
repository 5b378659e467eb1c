"""Watch what environment code does to the host while it steps.

:func:`watch` records, while it is active, every Python audit event that touches the
host (files opened, sockets, processes, code compiled or run from strings, files
removed or renamed) and every call of the usual escape hatches (``builtins.open``,
``socket.socket``, ``subprocess.Popen``, ``os.system``, ...), replaced for the duration
by recorders that refuse to act. Used by ``tests/reliability/test_isolation.py`` and
``benchmarks/reliability.py``.
"""

from __future__ import annotations

import builtins
import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Audit events that reach outside the process's own memory.
WATCHED_EVENTS = frozenset(
    {
        "open",
        "os.listdir",
        "os.scandir",
        "os.remove",
        "os.rename",
        "os.mkdir",
        "os.rmdir",
        "os.truncate",
        "os.chmod",
        "os.chdir",
        "os.symlink",
        "os.link",
        "os.system",
        "os.exec",
        "os.spawn",
        "os.posix_spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.putenv",
        "shutil.rmtree",
        "shutil.copyfile",
        "subprocess.Popen",
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "urllib.Request",
        "ctypes.dlopen",
        "compile",
        "exec",
        "import",
        "pickle.find_class",
        "marshal.loads",
    }
)

_recording: list[list[tuple[str, str]]] = []
_hook_installed = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in WATCHED_EVENTS:
        _recording[-1].append((event, repr(args)[:200]))


def _recorder(name: str, calls: list[tuple[str, str]]) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append((name, repr(args)[:200]))
        raise PermissionError(f"{name} is not allowed while an environment steps")

    return refuse


_PATCHED = (
    (builtins, "open"),
    (io, "open"),
    (os, "open"),
    (os, "system"),
    (os, "popen"),
    (os, "execv"),
    (os, "execve"),
    (os, "fork"),
    (os, "remove"),
    (os, "unlink"),
    (os, "rename"),
    (socket, "socket"),
    (socket, "create_connection"),
    (subprocess, "Popen"),
    (subprocess, "run"),
)


@contextmanager
def watch() -> Iterator[list[tuple[str, str]]]:
    """Record host access (see the module docstring) in the yielded list."""
    global _hook_installed
    if not _hook_installed:  # an audit hook cannot be removed: install one, once
        sys.addaudithook(_hook)
        _hook_installed = True
    calls: list[tuple[str, str]] = []
    saved = [(mod, name, getattr(mod, name)) for mod, name in _PATCHED]
    for mod, name, _ in saved:
        setattr(mod, name, _recorder(f"{mod.__name__}.{name}", calls))
    _recording.append(calls)
    try:
        yield calls
    finally:
        _recording.pop()
        for mod, name, original in saved:
            setattr(mod, name, original)
