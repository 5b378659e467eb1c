"""BFCL records and type rules: categories, checking modes, verdicts, and the type tables.

Shared by the checker (:mod:`acbench_env.tools.bfcl_check`), the Java / JavaScript value
readers (:mod:`acbench_env.tools.bfcl_lang`) and the loader (:mod:`acbench_env.tools.bfcl`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from acbench_env.core.errors import ConfigError

#: The error categories of a rejected answer.
ERROR_CATEGORIES = (
    "format",
    "no_call",
    "unexpected_call",
    "wrong_count",
    "wrong_function",
    "missing_argument",
    "extra_argument",
    "wrong_type",
    "wrong_value",
)

#: Every single-turn AST category of BFCL v4 (file ``BFCL_v4_<category>.json``).
BFCL_CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
    "simple_java",
    "simple_javascript",
)

CheckMode = Literal["fixed", "upstream"]
#: ``fixed``: BFCL's semantics with its checker's quirks corrected (the default);
#: ``upstream``: bug for bug with the gorilla AST checker. See ``docs/scoring-modes.md``.
CHECK_MODES: tuple[str, ...] = ("fixed", "upstream")

Language = Literal["python", "java", "javascript"]


def check_mode(mode: str) -> CheckMode:
    """``mode`` if it is one of :data:`CHECK_MODES`, else a :class:`ConfigError`."""
    if mode not in CHECK_MODES:
        raise ConfigError(f"mode must be one of {', '.join(CHECK_MODES)}; got {mode!r}")
    return mode  # type: ignore[return-value]


def is_irrelevance(category: str | None) -> bool:
    """Items where the right answer is to call nothing."""
    return category is not None and "irrelevance" in category


def is_relevance(category: str | None) -> bool:
    """Items where the right answer is to call something (no argument check)."""
    return category is not None and "relevance" in category and not is_irrelevance(category)


def has_answers(category: str) -> bool:
    """Whether the category comes with a ``possible_answer`` file."""
    return "relevance" not in category


def category_language(category: str | None) -> Language:
    """The language whose type rules the checker applies (BFCL reads it off the name)."""
    if category is None:
        return "python"
    if "javascript" in category:
        return "javascript"
    if "java" in category:
        return "java"
    return "python"


#: Python types accepted for each BFCL type name (fixed mode; ``number``/``object`` are the
#: JSON Schema spellings, which upstream's table lacks).
PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "float": (float,),
    "number": (float,),
    "boolean": (bool,),
    "array": (list,),
    "tuple": (list,),
    "dict": (dict,),
    "object": (dict,),
    "any": (str,),
}

#: Java type names and the Python type their values are read as (BFCL's table).
JAVA_TYPES: dict[str, type] = {
    "byte": int,
    "short": int,
    "integer": int,
    "float": float,
    "double": float,
    "long": int,
    "boolean": bool,
    "char": str,
    "Array": list,
    "ArrayList": list,
    "Set": set,
    "HashMap": dict,
    "Hashtable": dict,
    "Queue": list,
    "Stack": list,
    "String": str,
    "any": str,
}

#: JavaScript type names and the Python type their values are read as (BFCL's table).
JS_TYPES: dict[str, type] = {
    "String": str,
    "integer": int,
    "float": float,
    "Bigint": int,
    "Boolean": bool,
    "dict": dict,
    "array": list,
    "any": str,
}

#: Typed-string collection types whose ``items`` type is used (BFCL's list).
TYPED_COLLECTIONS = ("Array", "ArrayList", "array")


def expected_type(language: Language, type_name: str) -> type:
    """The Python type a value of BFCL type ``type_name`` must have after reading."""
    if language == "java":
        return JAVA_TYPES.get(type_name, str)
    if language == "javascript":
        return JS_TYPES.get(type_name, str)
    return PY_TYPES.get(type_name.lower(), (str,))[0]


@dataclass(frozen=True)
class CheckResult:
    """Whether an answer is accepted; if not, why (``category`` and BFCL-like ``error_type``)."""

    valid: bool
    category: str | None = None
    error_type: str | None = None
    message: str = ""

    @classmethod
    def ok(cls) -> CheckResult:
        return cls(True)


def reject(category: str, error_type: str, message: str) -> CheckResult:
    return CheckResult(False, category, error_type, message)


_STD = re.compile(r"[ ,./\-_*^]")


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lower case, ``'`` -> ``"``."""
    return _STD.sub("", text).lower().replace("'", '"')
