"""Watch what environment code does to the host while it steps.

:func:`watch` records, while it is active, every Python audit event that touches the
host (files opened, sockets, processes, code compiled or run from strings, files
removed or renamed; Python importing a module lazily is not counted) and every call of the usual escape hatches (``builtins.open``,
``socket.socket``, ``subprocess.Popen``, ``os.system``, ...), replaced for the duration
by recorders that refuse to act. Used by ``tests/reliability/test_isolation.py`` and
``benchmarks/reliability.py``.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium

from acbench_env.core.jsonl import to_jsonable
from tests.reliability.payloads import INJECTIONS, TOOL_NAMES

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


def _is_import(event: str, args: tuple[Any, ...]) -> bool:
    """Whether an event is Python importing a module (a lazy import is not an escape)."""
    if event in ("import", "marshal.loads"):
        return True
    if event == "exec":
        filename = getattr(args[0], "co_filename", "<string>") if args else "<string>"
        return not filename.startswith("<")
    if event in ("open", "os.listdir", "os.scandir") and args:
        path = args[0]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        path = os.fsdecode(path)
        roots = [os.path.abspath(p) for p in sys.path if p not in ("", ".")]
        roots += [sys.prefix, sys.base_prefix]
        in_root = any(path.startswith(r) for r in roots)
        module_file = path.endswith((".py", ".pyc", ".so"))
        return in_root and (event != "open" or module_file)
    return False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _recording and event in WATCHED_EVENTS and not _is_import(event, args):
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


_NAME_IN_LISTING = re.compile(r'"name":\s*"([A-Za-z_][\w.\-]*)"')


def tool_names(observation: str) -> list[str]:
    """Tool names listed in an observation (JSON tool specs), at most eight."""
    return sorted(set(_NAME_IN_LISTING.findall(observation)))[:8]


def escape_payloads(sentinel: Path, names: list[str]) -> list[str]:
    """Actions that would read, write or delete ``sentinel`` or run code if interpreted."""
    rel = "../" * 12 + str(sentinel).lstrip("/")
    code = [
        f"__import__('os').remove({str(sentinel)!r})",
        f"open({str(sentinel)!r}, 'w').write('pwned')",
        f'eval("open({str(sentinel)!r}).read()")',
        "__import__('subprocess').Popen(['touch', 'pwned'])",
        "__import__('socket').create_connection(('127.0.0.1', 22))",
    ]
    values = [str(sentinel), rel, *code, *INJECTIONS]
    out = list(values)
    for name in [*names, *TOOL_NAMES]:
        for v in values[:6]:
            args = {k: v for k in ("path", "file", "item", "query", "code", "filename")}
            out.append(f"<tool_call>{json.dumps({'name': name, 'arguments': args})}</tool_call>")
            out.append(json.dumps({"name": name, "arguments": {"item": v}}))
        out.append(f"Action: {name}\nAction Input: {json.dumps({'path': rel})}")
    for verb in ("search", "click", "go to", "open", "take", "read", "cat", "put", "query"):
        out += [f"{verb}[{rel}]", f"{verb} {sentinel}", f"{verb}[{code[0]}]"]
    out.append("<tool_call>" + json.dumps({"name": "x", "arguments": {"v": "A" * 90_000}}))
    return out


@dataclass
class ProbeResult:
    """What stepping one env with :func:`escape_payloads` did to the host."""

    env_id: str
    attempts: int = 0
    host_calls: list[tuple[str, str]] = field(default_factory=list)
    sentinel_intact: bool = True
    secret_shown: bool = False
    new_files: list[str] = field(default_factory=list)

    @property
    def escaped(self) -> bool:
        return bool(
            self.host_calls or not self.sentinel_intact or self.secret_shown or self.new_files
        )


def probe_env(env_id: str, tmp: Path, chdir: Callable[[Path], Any] = os.chdir) -> ProbeResult:
    """Step ``env_id`` with every escape payload (one fresh episode each) under
    :func:`watch`, with a sentinel file in ``tmp/outside`` and the working directory in
    ``tmp/cwd`` (``chdir`` moves there; pass pytest's ``monkeypatch.chdir`` in tests)."""
    secret = f"SENTINEL-{uuid.uuid4().hex}"
    outside, workdir = tmp / "outside", tmp / "cwd"
    outside.mkdir()
    workdir.mkdir()
    sentinel = outside / "secret.txt"
    sentinel.write_text(secret)
    before = sentinel.stat().st_mtime_ns
    chdir(workdir)
    result = ProbeResult(env_id)
    env = gymnasium.make(env_id)
    for seed in range(1, 8):  # build the probed tasks (and their tool schemas) unwatched
        env.reset(seed=seed)
    obs, _ = env.reset(seed=0)
    env.step("warm-up: not an action")  # lazy imports happen outside the watch
    payloads = escape_payloads(sentinel, tool_names(obs))
    seen = []
    with watch() as calls:
        for i, action in enumerate(payloads):
            env.reset(seed=i % 8)  # a few tasks (each is built once)
            obs, _, _, _, info = env.step(action)
            seen.append(obs)
            seen.append(json.dumps(to_jsonable(info)))
            result.attempts += 1
    env.close()
    result.host_calls = list(calls)
    result.sentinel_intact = (
        sentinel.read_text() == secret and sentinel.stat().st_mtime_ns == before
    )
    result.secret_shown = any(secret in text for text in seen)
    result.new_files = [p.name for p in outside.iterdir() if p != sentinel]
    result.new_files += [p.name for p in workdir.iterdir()]
    return result
