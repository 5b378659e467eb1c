"""The shipped ChatML-with-tools template."""

from __future__ import annotations

import pytest

from acbench_env.agents.templates import template_path, template_text

pytest.importorskip("transformers")

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.mark.slow
def test_matches_smollm2_without_tools_and_renders_tools() -> None:
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model("default"))
    conversations = [
        [{"role": "user", "content": "hi"}],
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": "c"},
        ],
    ]
    for msgs in conversations:
        own = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ours = tok.apply_chat_template(
            msgs, tokenize=False, add_generation_prompt=True, chat_template=template_text()
        )
        assert ours == own
    # SmolLM2's own template drops the tools; ours renders them.
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    own = tok.apply_chat_template(msgs, tools=TOOLS, tokenize=False, add_generation_prompt=True)
    assert "get_weather" not in own
    ours = tok.apply_chat_template(
        msgs
        + [
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "P"}}}],
            },
            {"role": "tool", "content": "sunny"},
        ],
        tools=TOOLS,
        tokenize=False,
        add_generation_prompt=True,
        chat_template=template_text(),
    )
    assert '"name": "get_weather"' in ours and "<tools>" in ours
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "P"}}\n</tool_call>' in ours
    assert "<tool_response>\nsunny\n</tool_response>" in ours
    assert ours.endswith("<|im_start|>assistant\n")


def test_template_file_is_shipped() -> None:
    assert template_path().is_file()
    assert "tool_call" in template_text()


@pytest.mark.slow
def test_transformers_backend_renders_native_tools_and_records_template_hashes() -> None:
    import hashlib

    from acbench_env.agents.backends import create_backend

    backend = create_backend("transformers", model="default")
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    assert "get_weather" in backend.render(msgs, TOOLS)  # SmolLM2's own would drop them
    assert "get_weather" not in backend.render(msgs)
    info = backend.tool_call_info()
    sha = hashlib.sha256(template_text().encode()).hexdigest()
    own = hashlib.sha256(backend.tokenizer.chat_template.encode()).hexdigest()
    assert info == {
        "tool_parser": None,
        "chat_template_sha256": own,
        "tools_chat_template_sha256": sha,
    }
