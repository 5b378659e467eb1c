"""Tool domains of ``acbench/FunctionCall-v0``: typed tools and seeded request templates.

Each domain holds tools written as typed, documented Python functions (their JSON Schema
comes from :func:`acbench_env.tools.function_schema`) and, per tool, a sampler that draws
a request in English and the BFCL-style ground truth for it (per parameter, the list of
accepted values; ``""`` = may be omitted). The tools are pure functions of their arguments:
they compute a deterministic, made-up result and touch nothing outside the sandbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from acbench_env.environments.sampling import pick

Answer = dict[str, list[Any]]


def _digest(*parts: Any) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:8], 16)


# ----------------------------------------------------------------------------- tools


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Get the current weather in a city.

    Args:
        city: Name of the city, e.g. "Paris".
        unit: Temperature unit, "celsius" or "fahrenheit".
    """
    t = _digest(city.lower()) % 35
    return {
        "city": city,
        "temperature": t if unit == "celsius" else round(t * 9 / 5 + 32),
        "unit": unit,
    }


def get_forecast(city: str, days: int) -> dict[str, Any]:
    """Get the weather forecast for the next days in a city.

    Args:
        city: Name of the city.
        days: Number of days to forecast (1 to 14).
    """
    return {"city": city, "days": [(_digest(city, d) % 30) for d in range(days)]}


def convert_currency(amount: float, from_currency: str, to_currency: str) -> dict[str, Any]:
    """Convert an amount of money from one currency to another.

    Args:
        amount: The amount of money to convert.
        from_currency: Three-letter code of the source currency, e.g. "USD".
        to_currency: Three-letter code of the target currency, e.g. "EUR".
    """
    rate = 0.5 + (_digest(from_currency.upper(), to_currency.upper()) % 100) / 100
    return {"amount": round(amount * rate, 2), "currency": to_currency}


def calculate_area_circle(radius: float) -> float:
    """Calculate the area of a circle.

    Args:
        radius: Radius of the circle.
    """
    return round(3.141592653589793 * radius * radius, 4)


def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: The first integer.
        b: The second integer.
    """
    return a * b


def send_email(to: str, subject: str, body: str = "") -> str:
    """Send an email.

    Args:
        to: Email address of the recipient.
        subject: Subject line of the email.
        body: Text of the email.
    """
    return f"email to {to} sent"


def create_event(title: str, date: str, duration_minutes: int = 60) -> str:
    """Create an event in the calendar.

    Args:
        title: Title of the event.
        date: Date of the event as YYYY-MM-DD.
        duration_minutes: Length of the event in minutes.
    """
    return f"event {title!r} created on {date}"


def find_flights(origin: str, destination: str, date: str) -> list[dict[str, Any]]:
    """Find flights between two cities on a date.

    Args:
        origin: City of departure.
        destination: City of arrival.
        date: Date of travel as YYYY-MM-DD.
    """
    n = _digest(origin, destination, date) % 3 + 1
    return [{"flight": f"AC{100 + i}", "price": 80 + 40 * i} for i in range(n)]


def add_to_cart(item: str, quantity: int = 1) -> str:
    """Add an item to the shopping cart.

    Args:
        item: Name of the product.
        quantity: How many to add.
    """
    return f"{quantity} x {item} added"


def play_song(title: str, artist: str) -> str:
    """Play a song.

    Args:
        title: Title of the song.
        artist: Name of the artist.
    """
    return f"playing {title} by {artist}"


def set_timer(minutes: int, label: str = "") -> str:
    """Set a countdown timer.

    Args:
        minutes: Length of the timer in minutes.
        label: Optional name of the timer.
    """
    return f"timer set for {minutes} minutes"


def translate_text(text: str, target_language: str) -> str:
    """Translate a text into another language.

    Args:
        text: The text to translate.
        target_language: Name of the language to translate into, e.g. "French".
    """
    return f"[{target_language}] {text}"


# ----------------------------------------------------------------------------- samplers

_CITIES = (
    "Paris",
    "Tokyo",
    "Berlin",
    "Madrid",
    "Toronto",
    "Sydney",
    "Cairo",
    "Lima",
    "Oslo",
    "Seoul",
)
_CURRENCIES = ("USD", "EUR", "JPY", "GBP", "CAD", "CHF")
_NAMES = ("alice", "bob", "carol", "dave", "erin", "frank")
_ITEMS = ("apples", "batteries", "notebooks", "coffee beans", "socks", "pencils")
_SONGS = (
    ("Yesterday", "The Beatles"),
    ("Halo", "Beyonce"),
    ("Hello", "Adele"),
    ("Imagine", "John Lennon"),
)
_TOPICS = ("budget review", "team lunch", "project kickoff", "dentist", "yoga class")
_LANGS = ("French", "German", "Spanish", "Italian", "Japanese")
_PHRASES = ("good morning", "thank you very much", "where is the station", "see you tomorrow")


def _date(rng: np.random.Generator) -> str:
    return f"2025-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"


def _s_weather(rng: np.random.Generator) -> tuple[str, Answer]:
    city = pick(rng, _CITIES)
    if rng.random() < 0.5:
        return f"What is the weather in {city} right now?", {
            "city": [city],
            "unit": ["celsius", ""],
        }
    return f"What is the weather in {city} in fahrenheit?", {"city": [city], "unit": ["fahrenheit"]}


def _s_forecast(rng: np.random.Generator) -> tuple[str, Answer]:
    city, days = pick(rng, _CITIES), int(rng.integers(2, 8))
    return f"Give me the {days}-day weather forecast for {city}.", {"city": [city], "days": [days]}


def _s_currency(rng: np.random.Generator) -> tuple[str, Answer]:
    a, b = rng.choice(len(_CURRENCIES), size=2, replace=False)
    amount = int(rng.integers(1, 50)) * 10
    return (
        f"Convert {amount} {_CURRENCIES[a]} to {_CURRENCIES[b]}.",
        {"amount": [amount], "from_currency": [_CURRENCIES[a]], "to_currency": [_CURRENCIES[b]]},
    )


def _s_circle(rng: np.random.Generator) -> tuple[str, Answer]:
    r = int(rng.integers(1, 20))
    return f"What is the area of a circle with radius {r}?", {"radius": [r]}


def _s_multiply(rng: np.random.Generator) -> tuple[str, Answer]:
    a, b = int(rng.integers(2, 100)), int(rng.integers(2, 100))
    return f"What is {a} times {b}?", {"a": [a], "b": [b]}


def _s_email(rng: np.random.Generator) -> tuple[str, Answer]:
    name, topic = pick(rng, _NAMES), pick(rng, _TOPICS)
    return (
        f"Send an email to {name}@example.com with the subject '{topic}'.",
        {"to": [f"{name}@example.com"], "subject": [topic], "body": [""]},
    )


def _s_event(rng: np.random.Generator) -> tuple[str, Answer]:
    topic, date = pick(rng, _TOPICS), _date(rng)
    if rng.random() < 0.5:
        return (
            f"Put '{topic}' in my calendar on {date}.",
            {"title": [topic], "date": [date], "duration_minutes": [60, ""]},
        )
    minutes = int(rng.integers(1, 5)) * 30
    return (
        f"Create a {minutes}-minute calendar event '{topic}' on {date}.",
        {"title": [topic], "date": [date], "duration_minutes": [minutes]},
    )


def _s_flights(rng: np.random.Generator) -> tuple[str, Answer]:
    a, b = rng.choice(len(_CITIES), size=2, replace=False)
    date = _date(rng)
    return (
        f"Find flights from {_CITIES[a]} to {_CITIES[b]} on {date}.",
        {"origin": [_CITIES[a]], "destination": [_CITIES[b]], "date": [date]},
    )


def _s_cart(rng: np.random.Generator) -> tuple[str, Answer]:
    item, q = pick(rng, _ITEMS), int(rng.integers(2, 10))
    return f"Add {q} {item} to my shopping cart.", {"item": [item], "quantity": [q]}


def _s_song(rng: np.random.Generator) -> tuple[str, Answer]:
    title, artist = pick(rng, _SONGS)
    return f"Play the song {title} by {artist}.", {"title": [title], "artist": [artist]}


def _s_timer(rng: np.random.Generator) -> tuple[str, Answer]:
    m = int(rng.integers(1, 60))
    return f"Set a timer for {m} minutes.", {"minutes": [m], "label": [""]}


def _s_translate(rng: np.random.Generator) -> tuple[str, Answer]:
    phrase, lang = pick(rng, _PHRASES), pick(rng, _LANGS)
    return f"Translate '{phrase}' into {lang}.", {"text": [phrase], "target_language": [lang]}


#: Draws a request in English and its answer (the expected arguments).
Sampler = Callable[[np.random.Generator], tuple[str, Answer]]


@dataclass(frozen=True)
class ToolTemplate:
    """A tool of a domain and the sampler of requests it answers."""

    domain: str
    fn: Callable[..., Any]
    sample: Sampler

    @property
    def name(self) -> str:
        return self.fn.__name__


#: Each domain's tools, as (function, request sampler) pairs; the domain is named once.
_TOOLS_BY_DOMAIN: dict[str, tuple[tuple[Callable[..., Any], Sampler], ...]] = {
    "weather": ((get_weather, _s_weather), (get_forecast, _s_forecast)),
    "finance": ((convert_currency, _s_currency),),
    "math": ((calculate_area_circle, _s_circle), (multiply, _s_multiply)),
    "messaging": ((send_email, _s_email),),
    "calendar": ((create_event, _s_event), (set_timer, _s_timer)),
    "travel": ((find_flights, _s_flights),),
    "shopping": ((add_to_cart, _s_cart),),
    "music": ((play_song, _s_song),),
    "language": ((translate_text, _s_translate),),
}

TEMPLATES: tuple[ToolTemplate, ...] = tuple(
    ToolTemplate(domain, fn, sample)
    for domain, tools in _TOOLS_BY_DOMAIN.items()
    for fn, sample in tools
)

#: The domains, in a fixed order.
DOMAINS: tuple[str, ...] = tuple(dict.fromkeys(t.domain for t in TEMPLATES))
