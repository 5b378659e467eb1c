"""A small stateful MCP server (official ``mcp`` SDK): a shop's stock and its orders.

Run by the scenario ``examples/mcp/shop.yaml`` over stdio (one fresh process per episode,
so each episode starts from the same stock). Try it by hand with the SDK's inspector, or:

    python examples/mcp/inventory_server.py      # speaks MCP on stdin/stdout
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

server = MCPServer("inventory", log_level="WARNING")

STOCK: dict[str, int] = {"apples": 12, "pears": 3, "plums": 0}
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


if __name__ == "__main__":
    server.run()
