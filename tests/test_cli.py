"""The acbench command: output, and one clear error (no traceback, nothing written) per bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from acbench_env.cli import main


def run_cli(python_exe, python_env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python_exe, "-m", "acbench_env.cli", *args],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=300,
    )


def test_envs_lists_needle(capsys) -> None:
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "acbench/Needle-v0" in out and "[long_context]" in out


def test_run_oracle_and_score(tmp_path, capsys) -> None:
    out = tmp_path / "o.jsonl"
    args = [
        "run",
        "--env",
        "acbench/Needle-v0",
        "--agent",
        "oracle",
        "--episodes",
        "4",
        "--seed",
        "2",
        "--out",
        str(out),
        "--env-arg",
        "context_length=256",
        "--no-progress",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "4 episodes" in text and "1.000 [1.000, 1.000]" in text
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(r["seed"] for r in recs) == [2, 3, 4, 5]
    assert all(r["env_kwargs"] == {"context_length": 256} for r in recs)
    assert main(args) == 0  # re-run: nothing new
    assert "(0 run now, 4 resumed)" in capsys.readouterr().out
    assert main(["score", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary[0]["episodes"] == 4 and summary[0]["mean_score"] == 1.0
    assert summary[0]["format_failure_rate"] == 0.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "acbench/Needle-v1"], "did you mean acbench/Needle-v0"),
        (["--env", "acbench/Needle-v0", "--model", "{tmp}"], "is not a model folder"),
        (["--env", "acbench/Needle-v0", "--model", "{tmp}/nothing"], "does not exist"),
        (
            ["--env", "acbench/Needle-v0", "--agent", "oracle", "--env-arg", "context_length=9000"],
            "context window",
        ),
        (["--env", "acbench/Needle-v0", "--agent", "oracle", "--env-arg", "bogus"], "KEY=VALUE"),
        (["--env", "acbench/Needle-v0", "--episodes", "0"], "episodes must be"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, python_exe, python_env, args, message) -> None:
    out = tmp_path / "out.jsonl"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = run_cli(python_exe, python_env, "run", *args, "--out", str(out), "--no-progress")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_corrupt_output_file_is_an_error(tmp_path, python_exe, python_env) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("garbage\n")
    proc = run_cli(python_exe, python_env, "run", "--env", "acbench/Needle-v0", "--out", str(out))
    assert proc.returncode == 2 and "not an acbench trajectory record" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_text() == "garbage\n"
    proc = run_cli(python_exe, python_env, "score", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_score_missing_file(tmp_path, capsys) -> None:
    assert main(["score", str(tmp_path / "missing.jsonl")]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_unknown_backend(tmp_path, capsys) -> None:
    # The choices come from the backend registry; argparse refuses others (status 2).
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "run",
                "--env",
                "acbench/Needle-v0",
                "--backend",
                "nope",
                "--out",
                str(tmp_path / "x.jsonl"),
            ]
        )
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "transformers" in err and "vllm" in err
    assert not Path(tmp_path / "x.jsonl").exists()


def test_suite_backend_choices_are_the_in_process_backends(capsys) -> None:
    from acbench_env.agents.backends import backend_names

    with pytest.raises(SystemExit):
        main(["suite", "--models", "default", "--out", "x", "--backend", "openai"])
    err = capsys.readouterr().err
    assert "invalid choice: 'openai'" in err
    for name in backend_names(loads_model=True):
        assert repr(name) in err


@pytest.mark.slow
def test_ctrl_c_then_rerun_completes_exactly(tmp_path, python_exe, python_env) -> None:
    import signal
    import time

    out = tmp_path / "int.jsonl"
    args = [
        python_exe,
        "-m",
        "acbench_env.cli",
        "run",
        "--env",
        "acbench/Needle-v0",
        "--agent",
        "oracle",
        "--episodes",
        "600",
        "--out",
        str(out),
        "--env-arg",
        "num_tasks=600",
        "--env-arg",
        "context_length=4096",
        "--batch-size",
        "1",
        "--no-progress",
    ]
    # A shell's background job (`cmd &` without job control) ignores SIGINT, and Python then
    # never raises KeyboardInterrupt: give the child the default disposition back.
    proc = subprocess.Popen(
        args,
        env=python_env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    saved = out.read_text().count("\n")
    assert 5 <= saved < 600
    done = subprocess.run(args, env=python_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"({600 - saved} run now, {saved} resumed)" in done.stdout
    seeds = [json.loads(x)["seed"] for x in out.read_text().splitlines()]
    assert sorted(seeds) == list(range(600))


def test_needle_grid_with_a_model_argument_reaches_model_checks(tmp_path, capsys) -> None:
    # The llm agent path of needle-grid goes through the same agent builder as `run`.
    args = [
        "needle-grid",
        "--model",
        str(tmp_path / "missing"),
        "--lengths",
        "256",
        "--depths",
        "0.5",
        "--out",
        str(tmp_path / "g"),
        "--no-progress",
    ]
    assert main(args) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "g").exists()


def test_analysis_commands_take_the_suite_labels_of_the_models_it_ran() -> None:
    import argparse

    from acbench_env.cli.suites import _models_and_labels
    from acbench_env.core.manifest import Manifest, ModelEntry
    from acbench_env.core.suites import QUICK

    args = argparse.Namespace(base="default", compressed=["/m/w4, /m/w8", "/m/w4b"])
    compressed, labels = _models_and_labels(args, None)
    assert compressed == ["/m/w4", "/m/w8", "/m/w4b"]
    assert labels == ["default", "w4", "w8", "w4b"]
    manifest = Manifest(
        QUICK,
        QUICK.fingerprint(),
        (ModelEntry("base", "default", "transformers"), ModelEntry("int4", "/m/w4", "vllm")),
    )
    assert _models_and_labels(args, manifest) == (compressed, ["base", "int4", "w8", "w4b"])
