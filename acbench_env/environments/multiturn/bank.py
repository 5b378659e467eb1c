"""Bank accounts: named accounts with whole-dollar balances.

Invariants: amounts are positive whole dollars; a withdrawal or transfer larger than the
balance (an overdraft) is refused; the accounts of a call must exist (and differ, for a
transfer); an account name can be opened once; only an empty account can be closed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.environments.multiturn.apps import (
    STATE_KEY,
    App,
    InvariantError,
    PairsState,
    bounded,
)
from acbench_env.environments.sampling import pick
from acbench_env.tools.sandbox import Tool, ToolCall


@dataclass(frozen=True)
class Bank(PairsState[int]):
    """The state: ``accounts`` as (name, balance) pairs sorted by name."""

    accounts: tuple[tuple[str, int], ...] = ()

    view_prefix = "account"

    def balance(self, name: str) -> int:
        accounts = self.as_dict()
        if name not in accounts:
            raise InvariantError(f"no account {name!r}; the accounts are {', '.join(accounts)}")
        return accounts[name]

    @staticmethod
    def _positive(amount: int) -> None:
        if amount <= 0:
            raise InvariantError(f"the amount must be a positive whole number, got {amount}")

    def deposit(self, name: str, amount: int) -> Bank:
        self._positive(amount)
        return Bank.of({**self.as_dict(), name: self.balance(name) + amount})

    def withdraw(self, name: str, amount: int) -> Bank:
        self._positive(amount)
        balance = self.balance(name)
        if amount > balance:
            raise InvariantError(
                f"overdraft: {name} holds {balance} dollars, cannot take out {amount}"
            )
        return Bank.of({**self.as_dict(), name: balance - amount})

    def transfer(self, source: str, destination: str, amount: int) -> Bank:
        if source == destination:
            raise InvariantError("the source and destination accounts must differ")
        self.balance(destination)
        return self.withdraw(source, amount).deposit(destination, amount)

    def open(self, name: str) -> Bank:
        if not name.strip():
            raise InvariantError("an account needs a non-empty name")
        if name in self.as_dict():
            raise InvariantError(f"an account {name!r} already exists")
        return Bank.of({**self.as_dict(), name: 0})

    def close(self, name: str) -> Bank:
        balance = self.balance(name)
        if balance != 0:
            raise InvariantError(f"{name} still holds {balance} dollars; empty it before closing")
        accounts = self.as_dict()
        del accounts[name]
        return Bank.of(accounts)


# ----------------------------------------------------------------------------- tools


def list_accounts(state: dict[str, Any]) -> list[str]:
    """List the names of the accounts."""
    return [n for n, _ in state[STATE_KEY].accounts]


def get_balance(state: dict[str, Any], account: str) -> int:
    """Get the balance of an account, in dollars.

    Args:
        account: Name of the account.
    """
    return int(state[STATE_KEY].balance(account))


def deposit(state: dict[str, Any], account: str, amount: int) -> str:
    """Deposit money into an account.

    Args:
        account: Name of the account.
        amount: Amount in whole dollars.
    """
    state[STATE_KEY] = state[STATE_KEY].deposit(account, amount)
    return f"deposited {amount} dollars into {account}"


def withdraw(state: dict[str, Any], account: str, amount: int) -> str:
    """Withdraw money from an account (fails if the balance is too low).

    Args:
        account: Name of the account.
        amount: Amount in whole dollars.
    """
    state[STATE_KEY] = state[STATE_KEY].withdraw(account, amount)
    return f"withdrew {amount} dollars from {account}"


def transfer(state: dict[str, Any], source: str, destination: str, amount: int) -> str:
    """Transfer money from one account to another (fails if the balance is too low).

    Args:
        source: Name of the account the money comes from.
        destination: Name of the account the money goes to.
        amount: Amount in whole dollars.
    """
    state[STATE_KEY] = state[STATE_KEY].transfer(source, destination, amount)
    return f"transferred {amount} dollars from {source} to {destination}"


def open_account(state: dict[str, Any], name: str) -> str:
    """Open a new, empty account.

    Args:
        name: Name of the new account.
    """
    state[STATE_KEY] = state[STATE_KEY].open(name)
    return f"opened the account {name}"


def close_account(state: dict[str, Any], name: str) -> str:
    """Close an empty account.

    Args:
        name: Name of the account.
    """
    state[STATE_KEY] = state[STATE_KEY].close(name)
    return f"closed the account {name}"


# ----------------------------------------------------------------------------- generator

_NAMES = (
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
    "peggy",
    "trent",
)


def _initial(rng: np.random.Generator) -> Bank:
    names = [str(n) for n in rng.choice(_NAMES, size=int(rng.integers(8, 11)), replace=False)]
    accounts = {n: int(rng.integers(1, 40)) * 10 for n in names}
    accounts[names[0]] = 0  # one empty account, which can be closed
    return Bank.of(accounts)


def _amount(rng: np.random.Generator, at_most: int) -> int | None:
    if at_most < 10:
        return None
    return int(rng.integers(1, at_most // 10 + 1)) * 10


def _s_deposit(rng: np.random.Generator, bank: Bank) -> tuple[str, ToolCall] | None:
    name, amount = pick(rng, [n for n, _ in bank.accounts]), int(rng.integers(1, 20)) * 10
    return (
        f"Deposit {amount} dollars into the account {name}.",
        ToolCall("deposit", {"account": name, "amount": amount}),
    )


def _s_withdraw(rng: np.random.Generator, bank: Bank) -> tuple[str, ToolCall] | None:
    name, balance = pick(rng, bank.accounts)
    amount = _amount(rng, balance)
    if amount is None:
        return None
    return (
        f"Withdraw {amount} dollars from the account {name}.",
        ToolCall("withdraw", {"account": name, "amount": amount}),
    )


def _s_transfer(rng: np.random.Generator, bank: Bank) -> tuple[str, ToolCall] | None:
    if len(bank.accounts) < 2:
        return None
    i, j = (int(x) for x in rng.choice(len(bank.accounts), size=2, replace=False))
    (src, balance), (dst, _) = bank.accounts[i], bank.accounts[j]
    amount = _amount(rng, balance)
    if amount is None:
        return None
    return (
        f"Transfer {amount} dollars from the account {src} to the account {dst}.",
        ToolCall("transfer", {"source": src, "destination": dst, "amount": amount}),
    )


def _s_open(rng: np.random.Generator, bank: Bank) -> tuple[str, ToolCall] | None:
    free = [n for n in _NAMES if n not in bank.as_dict()]
    if not free:
        return None
    name = pick(rng, free)
    return f"Open a new account named {name}.", ToolCall("open_account", {"name": name})


def _s_close(rng: np.random.Generator, bank: Bank) -> tuple[str, ToolCall] | None:
    empty = [n for n, b in bank.accounts if b == 0]
    if not empty:
        return None
    name = pick(rng, empty)
    return f"Close the empty account {name}.", ToolCall("close_account", {"name": name})


_POSITIVE = {"amount": {"minimum": 1}}


@functools.cache
def bank_app() -> App:
    """The bank app (built once, on first use)."""
    return App(
        name="bank",
        description="bank accounts",
        tools=(
            Tool.from_function(list_accounts),
            Tool.from_function(get_balance),
            bounded(Tool.from_function(deposit), _POSITIVE),
            bounded(Tool.from_function(withdraw), _POSITIVE),
            bounded(Tool.from_function(transfer), _POSITIVE),
            Tool.from_function(open_account),
            Tool.from_function(close_account),
        ),
        read_tools=("list_accounts", "get_balance"),
        initial_state=_initial,
        samplers=(_s_deposit, _s_withdraw, _s_transfer, _s_transfer, _s_open, _s_close),
    )
