"""Chat templates shipped with acbench-env.

``chatml_tools.jinja``: ChatML that renders ``tools`` (SmolLM2-135M-Instruct's own template
ignores them). Without tools it renders exactly like SmolLM2's template; with tools it adds
a Hermes-style ``<tools>`` block to the system message and asks for
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` answers, which vLLM's
``hermes`` tool-call parser reads. ``acbench serve`` passes it to vLLM by default, and the
``vllm`` backend uses it for requests that carry tools.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

CHATML_TOOLS = "chatml_tools.jinja"


def template_path(name: str = CHATML_TOOLS) -> Path:
    """File path of a shipped template (for ``--chat-template``)."""
    return Path(str(resources.files(__name__).joinpath(name)))


def template_text(name: str = CHATML_TOOLS) -> str:
    """Text of a shipped template."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def template_sha256(text: str | None) -> str | None:
    """SHA-256 of a chat template's text (recorded with trajectories); None for None."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def tool_info(plain: str | None, with_tools: str | None) -> dict[str, str | None]:
    """What a local backend records about tool calls: no server-side parser (the
    environment parses the text), and the templates for plain and for tool requests."""
    return {
        "tool_parser": None,
        "chat_template_sha256": template_sha256(plain),
        "tools_chat_template_sha256": template_sha256(with_tools),
    }


def render_chat(
    tokenizer: Any,
    messages: Sequence[Any],
    tools: Sequence[dict[str, Any]] | None,
    tools_template: str | None,
) -> str:
    """The prompt text for ``messages`` under ``tokenizer``'s chat template; a request with
    ``tools`` uses ``tools_template`` instead (None: the tokenizer's own)."""
    return str(
        tokenizer.apply_chat_template(
            list(messages),
            tools=list(tools) if tools else None,
            chat_template=tools_template if tools else None,
            add_generation_prompt=True,
            tokenize=False,
        )
    )
