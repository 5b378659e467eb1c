"""Household: an ALFWorld-like text world of rooms, receptacles and objects."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.environments import ladders
from acbench_env.environments.simulator import SimSpec, SimulatorEnv
from acbench_env.environments.statemachine import (
    ParsedCommand,
    Subgoal,
    Transition,
)

#: Receptacles of each room; appliances carry out a condition on a held object.
ROOMS: dict[str, tuple[str, ...]] = {
    "kitchen": (
        "countertop 1",
        "cabinet 1",
        "drawer 1",
        "fridge 1",
        "microwave 1",
        "sinkbasin 1",
        "diningtable 1",
        "cabinet 2",
        "countertop 2",
        "shelf 3",
    ),
    "living room": ("sofa 1", "shelf 1", "coffeetable 1", "drawer 2", "tvstand 1"),
    "bedroom": ("bed 1", "desk 1", "dresser 1", "shelf 2", "drawer 3"),
}
OPENABLE = frozenset(
    {"cabinet 1", "cabinet 2", "drawer 1", "drawer 2", "drawer 3", "fridge 1", "microwave 1"}
)
#: condition -> (appliance, verb, adjective)
CONDITIONS: dict[str, tuple[str, str]] = {
    "clean": ("sinkbasin 1", "clean"),
    "hot": ("microwave 1", "heat"),
    "cool": ("fridge 1", "cool"),
}
APPLIANCES = frozenset(a for a, _ in CONDITIONS.values())
#: object type -> conditions it can be given
OBJECT_TYPES: dict[str, tuple[str, ...]] = {
    "mug": ("clean", "hot", "cool"),
    "apple": ("clean", "hot", "cool"),
    "plate": ("clean", "cool"),
    "bowl": ("clean", "hot"),
    "potato": ("hot", "cool"),
    "egg": ("hot", "cool"),
    "book": (),
    "pen": (),
    "remotecontrol": (),
    "keychain": (),
}


@dataclass(frozen=True)
class HouseholdLevel:
    rooms: tuple[str, ...]
    receptacles_per_room: int
    objects: int
    conditions: bool
    max_steps: int


LEVELS = {
    "tiny": HouseholdLevel(("kitchen",), 2, 1, False, 8),
    "easy": HouseholdLevel(("kitchen",), 3, 2, False, 10),
    "medium": HouseholdLevel(("kitchen",), 6, 4, True, 25),
    "hard": HouseholdLevel(("kitchen", "living room", "bedroom"), 4, 6, True, 40),
}

#: The instructions: rules, then a prose example (see ``SimulatorEnv.with_example``).
_GUIDE = (
    "You are a household robot. Go to receptacles to see what is in them, take "
    "objects and put them where the task says.",
    "Example task: put a pen in desk 1. Good actions: go to shelf 1, take pen 1 from "
    "shelf 1, go to desk 1, put pen 1 in desk 1.",
)


@dataclass(frozen=True)
class HouseholdTask:
    index: int
    level: str
    rooms: tuple[tuple[str, tuple[str, ...]], ...]
    objects: tuple[str, ...]  # "mug 1", ...
    start_locations: tuple[str, ...]  # receptacle of each object
    goal_type: str
    goal_condition: str | None
    goal_receptacle: str

    def room_of(self, receptacle: str) -> str:
        for room, recs in self.rooms:
            if receptacle in recs:
                return room
        raise KeyError(receptacle)  # pragma: no cover


@dataclass(frozen=True)
class HouseholdState:
    room: str
    at: str | None  # receptacle the agent stands at (None: the middle of the room)
    holding: str | None
    locations: tuple[str | None, ...]  # receptacle of each object (None: held)
    opened: frozenset[str] = frozenset()
    clean: frozenset[str] = frozenset()
    hot: frozenset[str] = frozenset()
    cool: frozenset[str] = frozenset()
    seen: frozenset[str] = frozenset()
    taken: frozenset[str] = frozenset()


def obj_type(obj: str) -> str:
    return obj.rsplit(" ", 1)[0]


def has_condition(state: HouseholdState, obj: str, condition: str | None) -> bool:
    if condition is None:
        return True
    return obj in getattr(state, condition)


def visible_here(task: HouseholdTask, state: HouseholdState) -> tuple[str, ...]:
    """Objects the agent can see (in the receptacle it stands at, if that is open)."""
    r = state.at
    if r is None or (r in OPENABLE and r not in state.opened):
        return ()
    return tuple(o for o, loc in zip(task.objects, state.locations) if loc == r)


def _arrive(task: HouseholdTask, state: HouseholdState) -> HouseholdState:
    return replace(state, seen=state.seen | set(visible_here(task, state)))


def build_task(index: int, level: str, rng: np.random.Generator) -> HouseholdTask:
    cfg = LEVELS[level]
    rooms = []
    for room in cfg.rooms:
        pool = list(ROOMS[room])
        if not cfg.conditions:  # no doors, no appliances
            pool = [r for r in pool if r not in OPENABLE and r not in APPLIANCES]
        must = (
            [r for r in pool if r in APPLIANCES] if (cfg.conditions and room == "kitchen") else []
        )
        rest = [r for r in pool if r not in must]
        k = max(cfg.receptacles_per_room - len(must), 1)
        chosen = set(must) | {rest[int(i)] for i in rng.choice(len(rest), size=k, replace=False)}
        rooms.append((room, tuple(r for r in pool if r in chosen)))
    receptacles = [r for _, recs in rooms for r in recs]
    holders = [r for r in receptacles if r not in APPLIANCES]
    types = list(OBJECT_TYPES)
    for _ in range(1000):
        picked = [types[int(i)] for i in rng.choice(len(types), size=cfg.objects, replace=False)]
        goal_type = picked[0]
        conds = OBJECT_TYPES[goal_type] if cfg.conditions else ()
        condition = None
        if conds and rng.random() < 0.75:
            condition = conds[int(rng.integers(len(conds)))]
        targets = [r for r in holders if r != "fridge 1"]
        target = targets[int(rng.integers(len(targets)))]
        locations = [holders[int(rng.integers(len(holders)))] for _ in picked]
        if locations[0] == target:
            continue
        objects = tuple(f"{t} 1" for t in picked)
        order = sorted(range(len(objects)), key=lambda i: objects[i])
        return HouseholdTask(
            index=index,
            level=level,
            rooms=tuple(rooms),
            objects=tuple(objects[i] for i in order),
            start_locations=tuple(locations[i] for i in order),
            goal_type=goal_type,
            goal_condition=condition,
            goal_receptacle=target,
        )
    raise ConfigError(
        f"could not generate a household task for level {level!r}"
    )  # pragma: no cover


class HouseholdEnv(SimulatorEnv[HouseholdTask, HouseholdState]):
    """Household (ALFWorld-like): find an object, treat it, and put it in a receptacle.

    ## Description
    A house of one or more rooms with receptacles (countertop, cabinets, drawers, fridge,
    microwave, sink basin, ...) holding objects (mug, apple, book, ...). Goals follow
    ALFWorld's task types: "put a mug in shelf 1" (pick and place) and "put a clean / hot /
    cool mug in shelf 1" (clean with the sink basin, heat with the microwave, cool with the
    fridge). Objects inside a closed receptacle are seen only after opening it.

    ## Action / Observation
    ``go to <receptacle>``, ``go to <room>``, ``open <r>``, ``close <r>``, ``take <o> from
    <r>``, ``put <o> in <r>``, ``clean <o> with sinkbasin 1``, ``heat <o> with microwave 1``,
    ``cool <o> with fridge 1``, ``look``, ``inventory``. Every observation describes where
    the agent is and what it sees, and lists the valid actions (also in
    ``info["valid_actions"]``).

    ## Rewards / Metric
    Subgoals (predicates over state): a goal-type object has been seen; one has been taken;
    (if a condition is asked) one has the condition; one with the condition is in the
    target receptacle. ``info["score"]`` is the progress rate (best fraction held at once,
    see :mod:`acbench_env.environments.simulator`), reward its increase; success = all.

    ## Episode End
    Success, or ``max_steps`` (truncation).

    ## Task source
    Generated by the project: seeded choice of receptacles, objects, their places and the
    goal; the goal object never starts in the target receptacle. The oracle is a
    hand-written solver with full knowledge of the world.

    ## Arguments
    ``level`` (``tiny``/``easy``/``medium``/``hard``), ``num_tasks`` (default 100),
    ``generator_seed``, ``max_steps`` (default per level), ``few_shot`` (solved episodes of
    other tasks shown before the task as chat turns, ``info["few_shot_messages"]``;
    default 1), ``inline_example`` (default True: the instructions also hold a short prose
    example; False drops it, leaving the solved episodes as the only examples).

    ## Difficulty levels
    tiny: one room, 2 receptacles with no doors, 1 object (the asked one), pick-and-place
    only, 8 steps (the easiest rung for a small model, which otherwise moves whatever object
    it finds first); easy: one room, 3 receptacles with no doors, 2 objects, pick-and-place
    only, 10 steps;
    medium: kitchen with 6 receptacles (appliances included), 4 objects, conditions, 25
    steps; hard: three rooms, 4 receptacles each, 6 objects, conditions, 40 steps.

    ## Version History
    v0: initial version; level ``tiny`` was added later (the other levels are unchanged).
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.HOUSEHOLD

    command_verbs = ("go", "open", "close", "take", "put", "clean", "heat", "cool")

    simulator = SimSpec("Household", "household", 1, LEVELS, build_task, _GUIDE)

    def initial_state(self, task: HouseholdTask) -> HouseholdState:
        return HouseholdState(
            room=task.rooms[0][0], at=None, holding=None, locations=task.start_locations
        )

    def goal_text(self, task: HouseholdTask) -> str:
        adj = f"{task.goal_condition} " if task.goal_condition else ""
        words = f"{adj}{task.goal_type}"
        article = "an" if words[0] in "aeiou" else "a"
        return f"put {article} {words} in {task.goal_receptacle}."

    def subgoals(self, task: HouseholdTask) -> tuple[Subgoal[HouseholdState], ...]:
        t, cond, target = task.goal_type, task.goal_condition, task.goal_receptacle
        idx = [i for i, o in enumerate(task.objects) if obj_type(o) == t]
        goals: list[Subgoal[HouseholdState]] = [
            Subgoal(f"find a {t}", lambda s: any(task.objects[i] in s.seen for i in idx)),
            Subgoal(f"take a {t}", lambda s: any(task.objects[i] in s.taken for i in idx)),
        ]
        if cond is not None:
            goals.append(
                Subgoal(
                    f"make a {t} {cond}",
                    lambda s: any(has_condition(s, task.objects[i], cond) for i in idx),
                )
            )
        goals.append(
            Subgoal(
                f"put a {cond + ' ' if cond else ''}{t} in {target}",
                lambda s: any(
                    s.locations[i] == target and has_condition(s, task.objects[i], cond)
                    for i in idx
                ),
            )
        )
        return tuple(goals)

    def valid_actions(self, task: HouseholdTask, state: HouseholdState) -> tuple[str, ...]:
        acts: list[str] = []
        here = dict(task.rooms)[state.room]
        acts += [f"go to {r}" for r in here if r != state.at]
        acts += [f"go to {room}" for room, _ in task.rooms if room != state.room]
        r = state.at
        if r is not None:
            if r in OPENABLE:
                acts.append(f"close {r}" if r in state.opened else f"open {r}")
            if state.holding is None:
                acts += [f"take {o} from {r}" for o in visible_here(task, state)]
            elif r not in OPENABLE or r in state.opened:
                acts.append(f"put {state.holding} in {r}")
            if state.holding is not None:
                for appliance, verb in CONDITIONS.values():
                    if r == appliance:
                        acts.append(f"{verb} {state.holding} with {r}")
        acts += ["inventory", "look"]
        return tuple(acts)

    def execute(
        self, task: HouseholdTask, state: HouseholdState, parsed: ParsedCommand
    ) -> Transition[HouseholdState]:
        action = parsed.action or ""
        if action not in self.actions(task, state):  # pragma: no cover - parser guards
            return Transition(state, "Nothing happens.", valid=False)
        if action == "look":
            return Transition(state, "You look around.")
        if action == "inventory":
            held = state.holding or "nothing"
            return Transition(state, f"You are carrying: {held}.")
        verb, _, rest = action.partition(" ")
        if verb == "go":
            dest = rest[len("to ") :]
            if dest in dict(task.rooms):
                return Transition(replace(state, room=dest, at=None), f"You go to the {dest}.")
            new = _arrive(task, replace(state, at=dest))
            return Transition(new, f"You arrive at {dest}.")
        if verb in ("open", "close"):
            opened = state.opened | {rest} if verb == "open" else state.opened - {rest}
            new = _arrive(task, replace(state, opened=frozenset(opened)))
            return Transition(new, f"You {verb} the {rest}.")
        if verb == "take":
            obj = rest.split(" from ")[0]
            i = task.objects.index(obj)
            locs = list(state.locations)
            locs[i] = None
            new = replace(state, holding=obj, locations=tuple(locs), taken=state.taken | {obj})
            return Transition(new, f"You pick up the {obj} from the {state.at}.")
        if verb == "put":
            obj = state.holding or ""
            i = task.objects.index(obj)
            locs = list(state.locations)
            locs[i] = state.at
            new = replace(state, holding=None, locations=tuple(locs))
            return Transition(new, f"You put the {obj} in the {state.at}.")
        obj = state.holding or ""
        cond = {"clean": "clean", "heat": "hot", "cool": "cool"}[verb]
        new = replace(state, **{cond: getattr(state, cond) | {obj}})
        return Transition(new, f"You {verb} the {obj} using the {state.at}.")

    def render_state(self, task: HouseholdTask, state: HouseholdState) -> str:
        here = dict(task.rooms)[state.room]
        if state.at is None:
            text = f"You are in the {state.room}. You see: {', '.join(here)}."
        else:
            text = f"You are in the {state.room}, at {state.at}."
            if state.at in OPENABLE and state.at not in state.opened:
                text += f" The {state.at} is closed."
            else:
                objs = visible_here(task, state)
                text += f" In it you see: {', '.join(objs) if objs else 'nothing'}."
        others = [room for room, _ in task.rooms if room != state.room]
        if others:
            text += f" Other rooms: {', '.join(others)}."
        text += f" You are holding: {state.holding or 'nothing'}."
        return text

    def plan(self, task: HouseholdTask, state: HouseholdState) -> tuple[str, ...]:
        plan: list[str] = []
        cond, target = task.goal_condition, task.goal_receptacle

        def goto(s: HouseholdState, dest: str) -> HouseholdState:
            room = task.room_of(dest)
            if s.room != room:
                plan.append(f"go to {room}")
                s = replace(s, room=room, at=None)
            if s.at != dest:
                plan.append(f"go to {dest}")
                s = replace(s, at=dest)
            if dest in OPENABLE and dest not in s.opened:
                plan.append(f"open {dest}")
                s = replace(s, opened=s.opened | {dest})
            return s

        s = state
        candidates = [o for o in task.objects if obj_type(o) == task.goal_type]
        if s.holding is not None and obj_type(s.holding) != task.goal_type:
            # Put the wrong object back where the agent stands (or on the first holder).
            dest = s.at
            if dest is None:
                dest = next(r for r in dict(task.rooms)[s.room])
            s = goto(s, dest)
            plan.append(f"put {s.holding} in {dest}")
            locs = list(s.locations)
            locs[task.objects.index(s.holding)] = dest
            s = replace(s, holding=None, locations=tuple(locs))
        if s.holding is None:
            obj = candidates[0]
            loc = s.locations[task.objects.index(obj)]
            assert loc is not None
            s = goto(s, loc)
            plan.append(f"take {obj} from {loc}")
            s = replace(s, holding=obj)
        held = s.holding
        assert held is not None
        obj = held
        if cond is not None and not has_condition(s, obj, cond):
            appliance, verb = CONDITIONS[cond]
            s = goto(s, appliance)
            plan.append(f"{verb} {obj} with {appliance}")
        s = goto(s, target)
        plan.append(f"put {obj} in {target}")
        return tuple(plan)
