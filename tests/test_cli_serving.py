"""CLI options for served backends: --parallel, --backend openai --base-url, serve, export."""

from __future__ import annotations

import pytest

from acbench_env.agents.serve import ServerConfig, free_port, server_command
from acbench_env.cli import build_parser, main


def test_parallel_is_an_alias_of_batch_size() -> None:
    args = build_parser().parse_args(
        ["run", "--env", "acbench/Needle-v0", "--out", "x.jsonl", "--parallel", "32"]
    )
    assert args.batch_size == 32


def test_unreachable_server_is_one_clear_error(tmp_path, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code = main(
        [
            "run",
            "--env",
            "acbench/Needle-v0",
            "--backend",
            "openai",
            "--base-url",
            url,
            "--timeout",
            "2",
            "--episodes",
            "1",
            "--out",
            str(tmp_path / "r.jsonl"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot reach" in err and "acbench serve" in err
    assert not (tmp_path / "r.jsonl").exists()


def test_base_url_needs_the_openai_backend(tmp_path, capsys) -> None:
    code = main(
        [
            "run",
            "--env",
            "acbench/Needle-v0",
            "--base-url",
            "http://127.0.0.1:1/v1",
            "--out",
            str(tmp_path / "r.jsonl"),
        ]
    )
    assert code == 2
    assert "--backend openai" in capsys.readouterr().err


def test_server_command_uses_the_cpu_settings() -> None:
    cmd = server_command(ServerConfig(model="default", port=8123))
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(cmd)
    for part in (
        "--host 127.0.0.1",
        "--port 8123",
        "--dtype float32",
        "--enforce-eager",
        "--served-model-name default",
        "--tool-call-parser hermes",
        "chatml_tools.jinja",
    ):
        assert part in joined
    with pytest.raises(Exception, match="port"):
        server_command(ServerConfig(port=0))


def test_quantized_checkpoints_are_served_in_bfloat16(tmp_path) -> None:
    import json

    from acbench_env.agents.serve import ServerConfig, default_dtype, server_command

    dense, quant = tmp_path / "dense", tmp_path / "quant"
    for folder, extra in (
        (dense, {}),
        (quant, {"quantization_config": {"format": "pack-quantized"}}),
    ):
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({"model_type": "llama", **extra}))
        (folder / "model.safetensors").write_bytes(b"")
    assert default_dtype(dense) == "float32" and default_dtype(quant) == "bfloat16"
    assert default_dtype(tmp_path / "missing") == "float32"
    cmd = server_command(ServerConfig(model=str(quant)))
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16"
    cmd = server_command(ServerConfig(model=str(quant), dtype="float16"))
    assert cmd[cmd.index("--dtype") + 1] == "float16"


def test_serve_picks_the_tool_parser_that_matches_the_chat_template(tmp_path) -> None:
    from acbench_env.agents.serve import ServerConfig, server_command, tool_parser_for_template
    from acbench_env.core.errors import ConfigError

    assert tool_parser_for_template("<|im_start|>user\n...") == "hermes"
    assert tool_parser_for_template("<|start_header_id|>user<|end_header_id|>") == "llama3_json"
    assert tool_parser_for_template("[INST] {{ m }} [/INST]") == "mistral"
    with pytest.raises(ConfigError, match="--tool-parser"):
        tool_parser_for_template("User: {{ m }}\nAssistant:")
    joined = " ".join(server_command(ServerConfig()))
    assert "--enable-auto-tool-choice --tool-call-parser hermes" in joined
    llama = tmp_path / "llama.jinja"
    llama.write_text("<|start_header_id|>{{ messages }}")
    cfg = ServerConfig(chat_template=str(llama))
    assert "--tool-call-parser llama3_json" in " ".join(server_command(cfg))
    assert cfg.client_settings() == {"tool_parser": "llama3_json", "chat_template": llama}
    assert "--tool-call-parser pythonic" in " ".join(
        server_command(ServerConfig(tool_parser="pythonic"))
    )
    off = " ".join(server_command(ServerConfig(tool_parser="none")))
    assert "--enable-auto-tool-choice" not in off and "--tool-call-parser" not in off
