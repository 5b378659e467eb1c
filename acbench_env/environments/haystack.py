"""Seeded haystack text: plain, grammatical filler prose written by the project.

Every sentence is assembled from the word lists below with the caller's RNG, so a
haystack is a pure function of the seed. The text holds no digits, so a number in a model's
answer can only come from a needle. :class:`Haystack` is such text as words, with the word
index at which each sentence starts (where inserted sentences may go).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from acbench_env.environments.sampling import pick

_ADJECTIVES = (
    "quiet",
    "patient",
    "curious",
    "distant",
    "weathered",
    "bright",
    "narrow",
    "careful",
    "ancient",
    "restless",
    "gentle",
    "hollow",
    "polished",
    "crowded",
    "silent",
    "modest",
    "stubborn",
    "faded",
    "steady",
    "rusty",
    "clever",
    "humble",
    "dusty",
    "tidy",
)
_SUBJECTS = (
    "gardener",
    "engineer",
    "librarian",
    "ferry captain",
    "baker",
    "surveyor",
    "weaver",
    "painter",
    "shepherd",
    "clockmaker",
    "student",
    "cartographer",
    "fisherman",
    "teacher",
    "mechanic",
    "traveler",
    "beekeeper",
    "carpenter",
    "potter",
    "archivist",
)
_VERBS = (
    "repaired",
    "described",
    "carried",
    "measured",
    "painted",
    "studied",
    "arranged",
    "cleaned",
    "collected",
    "examined",
    "wrapped",
    "sketched",
    "sorted",
    "polished",
    "counted",
    "borrowed",
    "noticed",
    "labelled",
    "admired",
    "moved",
)
_OBJECTS = (
    "lantern",
    "map of the valley",
    "copper kettle",
    "wooden chair",
    "basket of apples",
    "stack of letters",
    "garden gate",
    "bundle of rope",
    "old compass",
    "glass jar",
    "window frame",
    "pair of boots",
    "woollen blanket",
    "set of keys",
    "clay bowl",
    "iron bell",
    "small boat",
    "ledger",
    "music box",
    "spool of thread",
)
_PLACES = (
    "near the harbor",
    "behind the mill",
    "in the market square",
    "beside the river",
    "at the edge of the forest",
    "inside the workshop",
    "under the bridge",
    "on the hill road",
    "by the station",
    "in the courtyard",
    "along the canal",
    "outside the library",
    "in the orchard",
    "at the crossroads",
)
_TIMES = (
    "in the early morning",
    "after the rain",
    "before supper",
    "during the long winter",
    "at dusk",
    "on a windy afternoon",
    "late at night",
    "at the start of spring",
    "while the bells rang",
    "as the fog lifted",
)
_COMMENTS = (
    "Nobody in the village thought it unusual.",
    "The weather stayed mild for the rest of the week.",
    "Several neighbours stopped to watch for a while.",
    "It was the kind of task that rewards patience.",
    "The work took longer than anyone expected.",
    "Afterwards the street was calm again.",
    "Most of the town was busy with the harvest.",
    "The sound carried all the way to the square.",
)


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def sentence(rng: np.random.Generator) -> str:
    """One filler sentence."""
    form = int(rng.integers(5))
    adj, subj, verb, obj = (
        pick(rng, _ADJECTIVES),
        pick(rng, _SUBJECTS),
        pick(rng, _VERBS),
        pick(rng, _OBJECTS),
    )
    if form == 0:
        return f"The {adj} {subj} {verb} the {obj} {pick(rng, _PLACES)}."
    if form == 1:
        return f"{pick(rng, _TIMES).capitalize()}, the {subj} {verb} a {obj}."
    if form == 2:
        return f"{_article(adj)} {adj} {subj} {verb} the {obj} {pick(rng, _TIMES)}."
    if form == 3:
        return (
            f"The {subj} who lived {pick(rng, _PLACES)} {verb} the {adj} {obj}, "
            f"and the {pick(rng, _SUBJECTS)} {pick(rng, _VERBS)} it later."
        )
    return pick(rng, _COMMENTS)


def sentences(rng: np.random.Generator, min_words: int) -> list[str]:
    """Filler sentences with at least ``min_words`` words in total."""
    out: list[str] = []
    words = 0
    while words < min_words:
        s = sentence(rng)
        out.append(s)
        words += s.count(" ") + 1
    return out


@dataclass(frozen=True)
class Haystack:
    """Filler words and the word index at which each sentence starts."""

    words: tuple[str, ...]
    starts: tuple[int, ...]

    @classmethod
    def generate(cls, rng: np.random.Generator, min_words: int) -> Haystack:
        words: list[str] = []
        starts: list[int] = []
        for s in sentences(rng, min_words):
            starts.append(len(words))
            words.extend(s.split(" "))
        return cls(tuple(words), tuple(starts))

    def __len__(self) -> int:
        return len(self.words)
