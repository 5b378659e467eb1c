"""Calibration data: the project's built-in text, or a user's file, as fixed token windows.

The built-in set is written by this project (no data set download): each sample ``i`` is a
pure function of ``i`` (a ``random.Random`` seeded with the sample's index draws from
hand-written prose, agent-style chat turns with tool calls, workflows, arithmetic and
code), so the calibration order and content are deterministic. A user file (plain text, or
JSON Lines with a ``"text"`` field) is tokenized as one stream and cut into consecutive
windows. The samples' token ids are hashed into the metadata.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError

BUILTIN = "builtin"

_PROSE = (
    "The river town woke slowly. Fishermen checked their nets while the baker pulled the "
    "first loaves from the oven, and the smell of bread drifted over the harbour.",
    "A good experiment changes one thing at a time. If two settings move together, the "
    "result cannot say which of them caused the difference, so the second run is wasted.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen. The "
    "chlorophyll in the leaves absorbs red and blue light and reflects the green.",
    "When the committee met on Tuesday, it approved the new budget but postponed the vote "
    "on the bridge repairs until the engineers deliver their final report in spring.",
    "To bake the bread, mix flour, water, salt and yeast, knead the dough for ten minutes, "
    "let it rise for an hour, shape it, and bake it at two hundred and twenty degrees.",
    "The library keeps its oldest maps in a cool room without windows. Visitors wear "
    "gloves, and every sheet is photographed before anyone is allowed to unfold it.",
    "Compression makes a model smaller and faster, but it can remove the knowledge that a "
    "task needs. Measuring the loss on real tasks is the only honest way to know.",
    "In the mountains the weather changes within minutes. Hikers carry a jacket even on a "
    "sunny morning, and they turn back when the clouds gather over the ridge.",
    "A hash table stores values under keys. It computes a number from the key, uses it to "
    "pick a bucket, and compares keys inside the bucket to find the right entry.",
    "The old lighthouse keeper wrote the same three lines in his log every night: the "
    "time the lamp was lit, the state of the sea, and the ships he had seen pass.",
    "Markets rose in the morning after the central bank left interest rates unchanged, "
    "then fell back in the afternoon as traders took profits before the weekend.",
    "Children learn to count before they learn to add. They first match one object to one "
    "word, then notice that the last word they say tells how many objects there are.",
)
_NAMES = ("Ada", "Bruno", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas")
_CITIES = ("Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Dakar", "Bergen", "Lima")
_ITEMS = ("apples", "batteries", "notebooks", "lamps", "tickets", "chairs", "kettles", "maps")
_TOOLS = (
    ("get_weather", {"city": _CITIES}),
    ("search_flights", {"origin": _CITIES, "destination": _CITIES}),
    ("add_to_cart", {"item": _ITEMS}),
    ("send_message", {"recipient": _NAMES}),
)
_STEPS = (
    "open the inbox",
    "find the invoice from last month",
    "download the attachment",
    "check the total against the order",
    "write a short reply",
    "archive the thread",
    "book a meeting room",
    "invite the team",
    "prepare the slides",
    "share the notes",
)


def _prose(rng: random.Random) -> str:
    return " ".join(rng.sample(_PROSE, k=3))


def _chat(rng: random.Random) -> str:
    name, args = rng.choice(_TOOLS)
    call = {k: rng.choice(v) for k, v in args.items()}
    person = rng.choice(_NAMES)
    arg_text = ", ".join(f"{k} {v}" for k, v in call.items())
    return (
        "<|im_start|>system\nYou are a helpful assistant with tools.<|im_end|>\n"
        f"<|im_start|>user\nHi, I am {person}. Please use {name} for {arg_text}.<|im_end|>\n"
        f"<|im_start|>assistant\n<tool_call>\n"
        f"{json.dumps({'name': name, 'arguments': call})}\n</tool_call><|im_end|>\n"
    )


def _workflow(rng: random.Random) -> str:
    steps = rng.sample(_STEPS, k=rng.randint(3, 6))
    nodes = "\n".join(f"{i + 1}. {s.capitalize()}." for i, s in enumerate(steps))
    edges = ", ".join(f"({i},{i + 1})" for i in range(1, len(steps)))
    return f"Task: plan the work.\nNodes:\n{nodes}\nEdges: {edges}\n"


def _arithmetic(rng: random.Random) -> str:
    a, b = rng.randint(2, 999), rng.randint(2, 99)
    item, person = rng.choice(_ITEMS), rng.choice(_NAMES)
    return (
        f"{person} buys {b} boxes of {item} with {a} in each box. "
        f"In total that is {a} x {b} = {a * b} {item}.\n"
    )


def _code(rng: random.Random) -> str:
    fn = rng.choice(("total", "average", "largest", "count_even"))
    body = {
        "total": "return sum(values)",
        "average": "return sum(values) / len(values) if values else 0.0",
        "largest": "return max(values) if values else None",
        "count_even": "return sum(1 for v in values if v % 2 == 0)",
    }[fn]
    return f"def {fn}(values: list[int]):\n    {body}\n\n"


_PIECES = (_prose, _chat, _workflow, _arithmetic, _code)


def builtin_text(index: int, min_chars: int) -> str:
    """Built-in calibration document ``index`` (a pure function of ``index``)."""
    rng = random.Random(f"acbench-calibration-{index}")
    parts: list[str] = []
    size = 0
    while size < min_chars:
        piece = rng.choice(_PIECES)(rng)
        parts.append(piece)
        size += len(piece) + 1
    return "\n".join(parts)


@dataclass(frozen=True)
class CalibrationSet:
    """Calibration samples as token windows of equal length, and where they came from."""

    input_ids: Any  # torch.LongTensor [samples, seq_len]
    source: str
    samples: int
    seq_len: int
    sha256: str

    def record(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "samples": self.samples,
            "seq_len": self.seq_len,
            "sha256": self.sha256,
        }


def _read_user_file(path: Path) -> str:
    if not path.is_file():
        raise ConfigError(
            f"calibration file {str(path)!r} does not exist; pass a text or JSON Lines file, "
            "or --calib builtin"
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in (".jsonl", ".json"):
        lines = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ConfigError(
                    f"{path}:{n} is not JSON ({exc}); use one object per line"
                ) from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ConfigError(f'{path}:{n} has no string field "text"')
            lines.append(row["text"])
        text = "\n\n".join(lines)
    return text


def load_calibration(source: str, tokenizer: Any, samples: int, seq_len: int) -> CalibrationSet:
    """``samples`` windows of ``seq_len`` tokens from ``source`` (``"builtin"`` or a file)."""
    import torch

    if samples < 1 or seq_len < 8:
        raise ConfigError(
            f"need at least 1 calibration sample of at least 8 tokens (got {samples} x {seq_len})"
        )
    rows: list[list[int]] = []
    if source == BUILTIN:
        for i in range(samples):
            chars = seq_len * 6
            ids: list[int] = []
            while len(ids) < seq_len:
                ids = list(tokenizer(builtin_text(i, chars), add_special_tokens=False)["input_ids"])
                chars *= 2
            rows.append(ids[:seq_len])
        label = BUILTIN
    else:
        path = Path(source).expanduser()
        text = _read_user_file(path)
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(ids) < samples * seq_len:
            raise ConfigError(
                f"{str(path)!r} holds {len(ids)} tokens, fewer than {samples} x {seq_len}; "
                "lower --samples or --seq-len, or use a longer file"
            )
        rows = [ids[k * seq_len : (k + 1) * seq_len] for k in range(samples)]
        label = f"file:{path.name}"
    tensor = torch.tensor(rows, dtype=torch.long)
    digest = hashlib.sha256(tensor.numpy().astype("<i8").tobytes()).hexdigest()
    return CalibrationSet(tensor, label, samples, seq_len, digest)


#: A fixed, project-written text for perplexity checks (not part of the calibration set).
EVAL_TEXT = """\
The museum opened a new hall this winter, dedicated to the history of clocks. The first room
shows sundials and water clocks from the ancient world, with a short note beside each one that
explains how it measured the passing hours. Visitors learn that a water clock dripped at a
steady rate, so the level in a marked vessel told the time, even at night or under clouds.

In the second room the mechanical clocks begin. Their weights and gears fill tall wooden
cases, and a guide explains why the pendulum made them so much more accurate. A pendulum of a
fixed length swings with a nearly constant period, so a clock that counts its swings keeps
time within a few seconds a day. Sailors, however, could not use pendulums on a rolling ship,
and for a long time they had no reliable way to know their longitude at sea.

The third room tells that story. A carpenter who taught himself to build clocks spent most of
his life on one problem: a clock that would keep time on a ship for weeks. His first machines
were large and heavy, but each new version was smaller and better than the one before. The
last of them looked like a big pocket watch, and on a long voyage it lost only a few seconds.
With it, a navigator could compare local noon with the time at the home port and compute how
far east or west the ship had travelled.

Children enjoy the final room most. It holds a large glass case in which a modern clock shows
its moving parts, and a screen explains how a small quartz crystal vibrates thousands of times
each second when a current passes through it. An electronic circuit counts the vibrations and
moves the hands. Next to it, a simple diagram shows how atomic clocks count the vibrations of
atoms instead, which is why the clocks used by satellites and telephone networks agree to a
billionth of a second.

Before leaving, many visitors stop at a table where they can build a paper sundial. They cut
out the pieces, fold the triangle that casts the shadow, and set the dial to match the
latitude of the town. On a bright afternoon the shadow falls on the right hour, and the
children are surprised that a sheet of paper can tell the time as well as the oldest clocks in
the first room. The museum plans to add a workshop in the spring, where older students will
repair a broken clock under the guidance of a retired watchmaker.

The weekly planning meeting followed the same order as always. First, the team reviewed the
open tasks and closed the ones that were done. Then each person named one problem that slowed
them down during the week. The printer on the second floor was broken again, two laptops needed
new batteries, and the shared calendar showed a meeting room as free when it was in fact booked.
The manager wrote each problem on the board, assigned an owner, and asked for a short update at
the next meeting. Finally, the team agreed on three goals for the coming week: finish the
report for the city council, test the new booking form with real users, and clean up the old
files on the shared drive so that new colleagues can find what they need.
"""
