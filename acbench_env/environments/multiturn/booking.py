"""A room-booking calendar: a few rooms, one-hour bookings on weekdays.

Invariants: a booking needs an existing room, a weekday (``mon`` .. ``fri``) and an hour
from 9 to 17; a room holds at most one booking per day and hour (no double booking);
cancelling or moving a booking that does not exist is refused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from acbench_env.environments.multiturn.apps import (
    STATE_KEY,
    App,
    FrozenState,
    InvariantError,
    bounded,
)
from acbench_env.environments.sampling import pick
from acbench_env.tools.sandbox import Tool, ToolCall

DAYS = ("mon", "tue", "wed", "thu", "fri")
FIRST_HOUR, LAST_HOUR = 9, 17
Day = Literal["mon", "tue", "wed", "thu", "fri"]


@dataclass(frozen=True, order=True)
class Booking:
    """One booking of a room for one hour."""

    room: str
    day: str
    hour: int
    title: str


@dataclass(frozen=True)
class Calendar(FrozenState):
    """The state: the rooms and the bookings (sorted)."""

    rooms: tuple[str, ...]
    bookings: tuple[Booking, ...] = ()

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {f"room:{r}": True for r in self.rooms}
        for b in self.bookings:
            out[f"slot:{b.room}:{b.day}:{b.hour}"] = b.title
        return out

    def find(self, room: str, day: str, hour: int) -> Booking | None:
        for b in self.bookings:
            if (b.room, b.day, b.hour) == (room, day, hour):
                return b
        return None

    def _check_slot(self, room: str, day: str, hour: int) -> None:
        if room not in self.rooms:
            raise InvariantError(f"no room {room!r}; the rooms are {', '.join(self.rooms)}")
        if day not in DAYS:
            raise InvariantError(f"day must be one of {', '.join(DAYS)}, got {day!r}")
        if not FIRST_HOUR <= hour <= LAST_HOUR:
            raise InvariantError(f"hour must be from {FIRST_HOUR} to {LAST_HOUR}, got {hour}")

    def book(self, room: str, day: str, hour: int, title: str) -> Calendar:
        self._check_slot(room, day, hour)
        taken = self.find(room, day, hour)
        if taken is not None:
            raise InvariantError(
                f"room {room} is already booked on {day} at {hour} ({taken.title!r}); "
                "double booking is not allowed"
            )
        if not title.strip():
            raise InvariantError("a booking needs a non-empty title")
        return Calendar(
            self.rooms, tuple(sorted((*self.bookings, Booking(room, day, hour, title))))
        )

    def cancel(self, room: str, day: str, hour: int) -> Calendar:
        self._check_slot(room, day, hour)
        found = self.find(room, day, hour)
        if found is None:
            raise InvariantError(f"room {room} has no booking on {day} at {hour}")
        return Calendar(self.rooms, tuple(b for b in self.bookings if b != found))

    def move(self, room: str, day: str, hour: int, new_day: str, new_hour: int) -> Calendar:
        found = self.find(room, day, hour) if room in self.rooms else None
        if found is None:
            self._check_slot(room, day, hour)
            raise InvariantError(f"room {room} has no booking on {day} at {hour}")
        return self.cancel(room, day, hour).book(room, new_day, new_hour, found.title)


# ----------------------------------------------------------------------------- tools


def list_rooms(state: dict[str, Any]) -> list[str]:
    """List the rooms that can be booked."""
    return list(state[STATE_KEY].rooms)


def list_bookings(state: dict[str, Any], day: Day) -> list[dict[str, Any]]:
    """List the bookings of every room on a day.

    Args:
        day: The weekday: "mon", "tue", "wed", "thu" or "fri".
    """
    cal: Calendar = state[STATE_KEY]
    return [
        {"room": b.room, "hour": b.hour, "title": b.title} for b in cal.bookings if b.day == day
    ]


def find_free_rooms(state: dict[str, Any], day: Day, hour: int) -> list[str]:
    """List the rooms that are free on a day at an hour.

    Args:
        day: The weekday: "mon", "tue", "wed", "thu" or "fri".
        hour: The hour, from 9 to 17.
    """
    cal: Calendar = state[STATE_KEY]
    return [r for r in cal.rooms if cal.find(r, day, hour) is None]


def book_room(state: dict[str, Any], room: str, day: Day, hour: int, title: str) -> str:
    """Book a room for one hour (fails if the room is already booked then).

    Args:
        room: Name of the room.
        day: The weekday: "mon", "tue", "wed", "thu" or "fri".
        hour: Starting hour, from 9 to 17.
        title: Title of the meeting.
    """
    state[STATE_KEY] = state[STATE_KEY].book(room, day, hour, title)
    return f"booked {room} on {day} at {hour} for {title!r}"


def cancel_booking(state: dict[str, Any], room: str, day: Day, hour: int) -> str:
    """Cancel the booking of a room on a day at an hour.

    Args:
        room: Name of the room.
        day: The weekday of the booking.
        hour: Starting hour of the booking.
    """
    state[STATE_KEY] = state[STATE_KEY].cancel(room, day, hour)
    return f"cancelled the booking of {room} on {day} at {hour}"


def move_booking(
    state: dict[str, Any], room: str, day: Day, hour: int, new_day: Day, new_hour: int
) -> str:
    """Move a booking of a room to another day and hour in the same room.

    Args:
        room: Name of the room.
        day: The weekday of the booking now.
        hour: Starting hour of the booking now.
        new_day: The new weekday.
        new_hour: The new starting hour, from 9 to 17.
    """
    state[STATE_KEY] = state[STATE_KEY].move(room, day, hour, new_day, new_hour)
    return f"moved the booking of {room} from {day} {hour} to {new_day} {new_hour}"


# ----------------------------------------------------------------------------- generator

_ROOMS = ("atlas", "birch", "cedar", "delta", "ember", "fjord")
_TITLES = (
    "standup",
    "design review",
    "budget meeting",
    "team lunch",
    "interview",
    "planning",
    "retro",
    "client call",
    "training",
    "one on one",
)


def _hour(rng: np.random.Generator) -> int:
    return int(rng.integers(FIRST_HOUR, LAST_HOUR + 1))


def _initial(rng: np.random.Generator) -> Calendar:
    rooms = tuple(sorted(str(r) for r in rng.choice(_ROOMS, size=4, replace=False)))
    cal = Calendar(rooms)
    count = int(rng.integers(5, 9))
    while len(cal.bookings) < count:
        room, day, hour = pick(rng, rooms), pick(rng, DAYS), _hour(rng)
        if cal.find(room, day, hour) is None:
            cal = cal.book(room, day, hour, str(pick(rng, _TITLES)))
    return cal


def _free_slot(rng: np.random.Generator, cal: Calendar, room: str | None = None) -> Any:
    for _ in range(50):
        r, day, hour = room or pick(rng, cal.rooms), pick(rng, DAYS), _hour(rng)
        if cal.find(r, day, hour) is None:
            return r, day, hour
    return None


def _s_book(rng: np.random.Generator, cal: Calendar) -> tuple[str, ToolCall] | None:
    slot = _free_slot(rng, cal)
    if slot is None:
        return None
    room, day, hour = slot
    title = str(pick(rng, _TITLES))
    return (
        f'Book the room {room} on {day} at {hour} for "{title}".',
        ToolCall("book_room", {"room": room, "day": day, "hour": hour, "title": title}),
    )


def _s_cancel(rng: np.random.Generator, cal: Calendar) -> tuple[str, ToolCall] | None:
    b = pick(rng, cal.bookings)
    return (
        f"Cancel the booking of the room {b.room} on {b.day} at {b.hour}.",
        ToolCall("cancel_booking", {"room": b.room, "day": b.day, "hour": b.hour}),
    )


def _s_move(rng: np.random.Generator, cal: Calendar) -> tuple[str, ToolCall] | None:
    b = pick(rng, cal.bookings)
    slot = _free_slot(rng, cal, b.room)
    if slot is None:
        return None
    _, day, hour = slot
    return (
        f"Move the booking of the room {b.room} on {b.day} at {b.hour} to {day} at {hour}.",
        ToolCall(
            "move_booking",
            {"room": b.room, "day": b.day, "hour": b.hour, "new_day": day, "new_hour": hour},
        ),
    )


_HOURS = {"minimum": FIRST_HOUR, "maximum": LAST_HOUR}


@functools.cache
def booking_app() -> App:
    """The room-booking app (built once, on first use)."""
    return App(
        name="booking",
        description="a room-booking calendar",
        tools=(
            Tool.from_function(list_rooms),
            Tool.from_function(list_bookings),
            bounded(Tool.from_function(find_free_rooms), {"hour": _HOURS}),
            bounded(Tool.from_function(book_room), {"hour": _HOURS}),
            bounded(Tool.from_function(cancel_booking), {"hour": _HOURS}),
            bounded(Tool.from_function(move_booking), {"hour": _HOURS, "new_hour": _HOURS}),
        ),
        read_tools=("list_rooms", "list_bookings", "find_free_rooms"),
        initial_state=_initial,
        samplers=(_s_book, _s_book, _s_cancel, _s_move),
    )
