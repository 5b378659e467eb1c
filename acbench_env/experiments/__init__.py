"""The orchestration layer: running episodes with agents (:mod:`.runner`), suites of models
and tasks (:mod:`.suite`), the needle sweep, the determinism check and the representation
analysis driver that loads models. It sits above ``scoring`` and below the CLI (see
``docs/architecture.md``). Importing it imports nothing heavy.
"""
