"""A test MCP server whose `wait` tool can take longer than a call's time limit."""

from __future__ import annotations

import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("slow", log_level="WARNING")


@server.tool()
def wait(seconds: float) -> str:
    """Sleep, then answer.

    Args:
        seconds: How long to sleep.
    """
    time.sleep(seconds)
    return f"waited {seconds} s"


if __name__ == "__main__":
    server.run()
