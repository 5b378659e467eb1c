"""Multi-turn, stateful tool sandboxes (``acbench/ToolMultiTurn-v0``, ``acbench/ToolSteps-v0``).

- :mod:`.apps`: the shared machinery: typed app states with a canonical hash, tools over
  them, invariant errors, seeded generation of required calls;
- :mod:`.files`, :mod:`.booking`, :mod:`.bank`: the three sandboxes (a virtual file
  system, a room-booking calendar, bank accounts);
- :mod:`.env`: the multi-turn environment; :mod:`.steps`: the T-Eval-style step tasks;
  :mod:`.base`: the arguments (and their checks) both share.
"""
