"""A small stateful MCP server (official ``mcp`` SDK): a shop's stock and its orders.

Run by the scenario ``examples/mcp/shop.yaml`` over stdio (one fresh process per episode,
so each episode starts from the same stock). It can also serve Streamable HTTP, for a
scenario that declares ``url: http://127.0.0.1:PORT/mcp`` with ``reset_tool: reset`` (one
long-lived server, reset at the start of each episode):

    python examples/mcp/inventory_server.py              # MCP on stdin/stdout
    python examples/mcp/inventory_server.py --port 8765  # MCP at http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

server = MCPServer("inventory", log_level="WARNING")

INITIAL_STOCK: dict[str, int] = {"apples": 12, "pears": 3, "plums": 0}
STOCK: dict[str, int] = copy.deepcopy(INITIAL_STOCK)
ORDERS: list[dict[str, Any]] = []


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def get_stock(item: str) -> int:
    """How many units of an item are in stock.

    Args:
        item: Name of the item, e.g. apples.
    """
    if item not in STOCK:
        raise ToolError(f"unknown item {item!r}; items: {', '.join(sorted(STOCK))}")
    return STOCK[item]


@server.tool()
def take_stock(item: str, quantity: int) -> str:
    """Take units of an item out of stock (they are sold or used).

    Args:
        item: Name of the item.
        quantity: How many units to take (at least 1).
    """
    if item not in STOCK:
        raise ToolError(f"unknown item {item!r}")
    if quantity < 1:
        raise ToolError("quantity must be at least 1")
    if STOCK[item] < quantity:
        raise ToolError(f"only {STOCK[item]} {item} in stock")
    STOCK[item] -= quantity
    return f"took {quantity} {item}; {STOCK[item]} left"


@server.tool()
def order(item: str, quantity: int) -> str:
    """Order units of an item from the supplier (adds a pending order).

    Args:
        item: Name of the item.
        quantity: How many units to order (at least 1).
    """
    if quantity < 1:
        raise ToolError("quantity must be at least 1")
    ORDERS.append({"item": item, "quantity": quantity})
    return f"ordered {quantity} {item}"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def dump_state() -> dict[str, Any]:
    """The whole stock and the list of orders (read-only)."""
    return {"stock": dict(STOCK), "orders": [dict(o) for o in ORDERS]}


@server.tool()
def reset() -> str:
    """Put the stock and the orders back to the start (used between episodes)."""
    STOCK.clear()
    STOCK.update(copy.deepcopy(INITIAL_STOCK))
    ORDERS.clear()
    return "reset"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The inventory MCP server.")
    parser.add_argument("--port", type=int, default=None, help="serve Streamable HTTP here")
    args = parser.parse_args()
    if args.port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)
