"""The difficulty ladder of every environment family (easiest rung first).

Each environment class sets ``ladder = <one of these>``; the rungs are settings of the
environment's existing arguments. The easiest rungs help a small model without changing the
skill measured: more solved examples as chat turns, fewer distractors or candidates, shorter
documents, fewer questions. Rung names are stable: they are recorded in trajectories and
suite files, so renaming one is a behaviour change (bump the suite version that uses it).
"""

from __future__ import annotations

from acbench_env.core.ladder import Ladder, Rung

#: Longest context that leaves the default model's 8,192-token window 64 tokens free, rounded.
_MAX_CONTEXT = 8000

#: One needle without distractors is easy for a small model at every length (the default
#: model: 8 of 8 at 256 and at 4,096 tokens), so the rungs past the plain lengths add
#: near-miss distractor needles (keys sharing a word with the queried key): the skill is
#: still retrieving one keyed value, now beside confusable neighbours. The plain-length rungs
#: keep their names (the quick and full suites record them).
NEEDLE = Ladder(
    (
        *(
            Rung(f"ctx{n}", {"context_length": n}, f"{n}-token haystack, depths 0-1")
            for n in (256, 512, 1024, 2048, 4096, _MAX_CONTEXT)
        ),
        Rung(
            "ctx1024-near2",
            {"context_length": 1024, "distractors": 2},
            "2 near-miss distractor needles",
        ),
        Rung("ctx1024-near4", {"context_length": 1024, "distractors": 4}),
        Rung("ctx2048-near8", {"context_length": 2048, "distractors": 8}),
        Rung("ctx4096-near8", {"context_length": 4096, "distractors": 8}),
        Rung("ctx8000-near16", {"context_length": _MAX_CONTEXT, "distractors": 16}),
    )
)


def _level_ctx(level: str, n: int, note: str = "") -> Rung:
    """The rung ``<level>-ctx<n>``: a long-context env's level at ``n`` tokens of context."""
    return Rung(f"{level}-ctx{n}", {"level": level, "context_length": n}, note)


#: RULER-style needles (multi-key, multi-value, multi-query, variable tracking): the level
#: (distractors) and the context length move together.
RULER = Ladder(
    (
        _level_ctx("easy", 256, "2 needles, 256 tokens"),
        _level_ctx("easy", 512),
        _level_ctx("easy", 1024),
        _level_ctx("medium", 1024, "near-miss keys"),
        _level_ctx("medium", 2048),
        _level_ctx("hard", 2048),
        _level_ctx("hard", 4096),
        _level_ctx("hard", _MAX_CONTEXT),
    )
)

DOCQA = Ladder(
    (
        Rung(
            "easy-ctx256-shots2",
            {"level": "easy", "context_length": 256, "few_shot": 2},
            "2 short documents, 2 answered collections as turns",
        ),
        _level_ctx("easy", 256, "2 short documents"),
        _level_ctx("easy", 512, "2 short documents"),
        _level_ctx("easy", 1024),
        _level_ctx("easy", 2048),
        _level_ctx("medium", 2048, "two-document Qs"),
        _level_ctx("medium", 4096),
        _level_ctx("hard", 4096),
        _level_ctx("hard", _MAX_CONTEXT),
    )
)

LONGGEN = Ladder(
    (
        Rung(
            "q2-shots2-larger",
            {
                "level": "easy",
                "questions": 2,
                "few_shot": 2,
                "inline_example": False,
                "kinds": ("larger",),
            },
            "2 questions, one kind (the larger of two numbers), 2 answered lists as turns",
        ),
        Rung(
            "q2-shots2-kinds",
            {
                "level": "easy",
                "questions": 2,
                "few_shot": 2,
                "inline_example": False,
                "kinds": ("larger", "alphabetical"),
            },
            "2 questions of two kinds, 2 answered lists as turns",
        ),
        Rung("q2", {"level": "easy", "questions": 2}, "2 questions in one answer"),
        Rung("q3", {"level": "easy", "questions": 3}),
        Rung("easy", {"level": "easy", "questions": None}, "5 questions"),
        Rung("medium", {"level": "medium", "questions": None}, "10 questions"),
        Rung("hard", {"level": "hard", "questions": None}, "20 questions"),
    )
)


def _difficulty(d: int, note: str = "") -> Rung:
    """The rung ``d<d>``: a tool-use env's ``difficulty`` with its own default examples."""
    return Rung(f"d{d}", {"difficulty": d, "few_shot": None}, note)


FUNCTION_CALL = Ladder(
    (
        Rung(
            "d0-single-shots4-sig",
            {
                "difficulty": 0,
                "few_shot": 4,
                "tool_listing": "signature",
                "distractors": 1,
                "categories": ("single",),
            },
            "single-call items only (one offered tool; no parallel or irrelevance items)",
        ),
        Rung(
            "d0-shots4-sig-dis1",
            {"difficulty": 0, "few_shot": 4, "tool_listing": "signature", "distractors": 1},
            "as d0-shots4-sig, one distractor tool instead of two",
        ),
        Rung(
            "d0-shots4-sig",
            {"difficulty": 0, "few_shot": 4, "tool_listing": "signature"},
            "tools as one-line signatures",
        ),
        Rung("d0-shots4", {"difficulty": 0, "few_shot": 4}, "4 solved examples, 2 distractors"),
        _difficulty(0, "2 examples, 2 distractors"),
        _difficulty(1, "1 example, 3 distractors"),
        _difficulty(2, "no example, 5 distractors"),
    )
)

#: BFCL has no examples and fixed items: the categories are its ladder.
BFCL = Ladder(
    (
        Rung(
            "simple-sig-shots3",
            {"category": "simple_python", "tool_listing": "signature", "few_shot": 3},
            "signatures, 3 solved items as turns",
        ),
        Rung("simple", {"category": "simple_python"}, "one call of one offered function"),
        Rung("multiple", {"category": "multiple"}, "one call, several functions offered"),
        Rung("parallel", {"category": "parallel"}),
        Rung("parallel_multiple", {"category": "parallel_multiple"}),
        Rung("all", {"category": "all"}, "every category, irrelevance included"),
    )
)

SCENARIO = Ladder(
    (
        Rung("sig", {"tool_listing": "signature"}, "tools as one-line signatures"),
        Rung("default", {}, "set by the scenario's author"),
    )
)

#: Multi-turn tool use (ToolMultiTurn-v0 is difficulty 0, ToolMultiTurnHard-v0 difficulty 2).
MULTI_TURN = Ladder(
    (
        Rung(
            "d0-shots3-sig",
            {"difficulty": 0, "few_shot": 3, "tool_listing": "signature"},
            "as d0-shots3, tools as one-line signatures",
        ),
        Rung(
            "d0-shots3", {"difficulty": 0, "few_shot": 3}, "1 call, only needed tools, 3 examples"
        ),
        _difficulty(0, "1 call, 1 example"),
        _difficulty(1, "2 calls, 2 distractors"),
        _difficulty(2, "3 calls, every tool, no example"),
    )
)

#: ToolMultiTurnHard-v0: every rung needs two or more calls (its difficulty-0 rungs would be
#: ToolMultiTurn-v0's tasks, item for item).
MULTI_TURN_HARD = Ladder(
    (
        Rung(
            "d1-shots3-sig-dis0",
            {"difficulty": 1, "few_shot": 3, "tool_listing": "signature", "distractors": 0},
            "2 calls, only the needed tools, 3 examples, signatures",
        ),
        Rung(
            "d1-shots3-sig",
            {"difficulty": 1, "few_shot": 3, "tool_listing": "signature"},
            "2 calls, 2 distractors, 3 examples, signatures",
        ),
        _difficulty(1, "2 calls, 2 distractors"),
        _difficulty(2, "3 calls, every tool, no example"),
    )
)

TOOL_STEPS = Ladder(
    (
        Rung("d0-shots4", {"difficulty": 0, "few_shot": 4}, "2 calls, 4 examples"),
        _difficulty(0, "2 calls, 2 examples"),
        _difficulty(1, "3 calls, 4 distractors"),
        _difficulty(2, "4 calls, every tool, no example"),
    )
)

#: The four application simulators (Household, WebShop, BlocksWorld, ToolQuery).
SIMULATOR = Ladder(
    (
        Rung(
            "easy-shots3-noinline",
            {"level": "easy", "few_shot": 3, "inline_example": False},
            "as easy-shots3, without the prose example the model copies",
        ),
        Rung("easy-shots3", {"level": "easy", "few_shot": 3}, "small world, 3 solved episodes"),
        Rung("easy", {"level": "easy", "few_shot": 1}, "small world, 1 solved episode"),
        Rung("medium", {"level": "medium", "few_shot": 1}),
        Rung("hard", {"level": "hard", "few_shot": 1}),
    )
)

#: Household adds a smaller world before the shared simulator rungs: the asked object is the
#: only object, in one of two receptacles (the default model otherwise moves whatever
#: object it finds first).
HOUSEHOLD = Ladder(
    (
        Rung(
            "tiny-shots3-noinline",
            {"level": "tiny", "few_shot": 3, "inline_example": False},
            "2 receptacles, only the asked object, 3 solved episodes",
        ),
        *SIMULATOR.rungs,
    )
)

#: BlocksWorld adds its two-block level before the shared simulator rungs.
BLOCKS = Ladder(
    (
        Rung(
            "tiny-shots3-noinline",
            {"level": "tiny", "few_shot": 3, "inline_example": False},
            "2 blocks, one goal fact, 3 solved episodes",
        ),
        *SIMULATOR.rungs,
    )
)

WORKFLOW = Ladder(
    (
        Rung("l1-shots3", {"level": 1, "few_shot": 3}, "2-3 nodes, 3 examples"),
        Rung("l1", {"level": 1, "few_shot": 1}, "2-3 nodes, 1 example"),
        Rung("l2", {"level": 2, "few_shot": 1}, "3-6 nodes"),
        Rung("l3", {"level": 3, "few_shot": 1}, "5-10 nodes"),
        Rung("l3-shots0", {"level": 3, "few_shot": 0}, "5-10 nodes, no example"),
    )
)

WORFBENCH = Ladder(
    (
        Rung("shots3", {"few_shot": 3}, "3 solved items of the same file as chat turns"),
        Rung("shots1", {"few_shot": 1}),
        Rung("shots0", {"few_shot": 0}, "zero-shot, as upstream"),
    )
)
