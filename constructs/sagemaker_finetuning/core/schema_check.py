"""A stdlib interpreter of the JSON Schema subset ``execution_input.schema.json`` uses.

The schema file is the single contract; this module only *reads* it, so the Lambda needs no
third-party package. ``tests/test_schema_check.py`` checks that it agrees with ``jsonschema``.
Supported keywords: type, enum, const, pattern, minLength, maxLength, minimum, maximum, required,
properties, additionalProperties, propertyNames, maxProperties, items, minItems, maxItems, not,
if / then / else, default (ignored).
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from sagemaker_finetuning.core.errors import InvalidInput

SCHEMA_PATH = Path(__file__).with_name("execution_input.schema.json")

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "null": lambda v: v is None,
}
_SUPPORTED = {
    "$schema", "$id", "title", "description", "type", "enum", "pattern", "minLength", "maxLength",
    "minimum", "maximum", "required", "properties", "additionalProperties", "propertyNames",
    "maxProperties", "not", "default", "const", "items", "minItems", "maxItems", "if", "then", "else",
    # Ours (an annotation JSON Schema validators ignore): the expectation in words, for messages
    # a person reads instead of a raw regular expression.
    "x-expected",
}


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    _check_supported(schema, "#")
    return schema


def _check_supported(node: Any, where: str) -> None:
    if not isinstance(node, dict):
        return
    unknown = set(node) - _SUPPORTED
    if unknown:
        raise RuntimeError(f"schema keyword(s) {sorted(unknown)} at {where} are not supported by schema_check")
    for key in ("properties",):
        for name, sub in node.get(key, {}).items():
            _check_supported(sub, f"{where}/{key}/{name}")
    for key in ("additionalProperties", "propertyNames", "not", "items", "if", "then", "else"):
        _check_supported(node.get(key), f"{where}/{key}")


@lru_cache(maxsize=64)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def describe_expectation(schema: dict[str, Any]) -> str:
    """What a schema node expects, in words (shared by the workflow and the ``finetune`` CLI)."""
    if "x-expected" in schema:
        return str(schema["x-expected"])
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return f"exactly {json.dumps(schema['const'])}"
    parts = []
    t = schema.get("type")
    if t:
        parts.append(" or ".join(t) if isinstance(t, list) else t)
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    if "minLength" in schema and "maxLength" in schema:
        parts.append(f"of {schema['minLength']}-{schema['maxLength']} characters")
    elif "minLength" in schema:
        parts.append(f"of at least {schema['minLength']} characters")
    elif "maxLength" in schema:
        parts.append(f"of at most {schema['maxLength']} characters")
    if "minimum" in schema:
        parts.append(f">= {schema['minimum']}")
    if "maximum" in schema:
        parts.append(f"<= {schema['maximum']}")
    return " ".join(parts) or "a valid value"


def iter_errors(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[InvalidInput]:
    """Yield one ``InvalidInput`` per violation, with a dotted field path."""
    field = path or "(input)"
    t = schema.get("type")
    if t is not None and not any(_TYPES[x](value) for x in (t if isinstance(t, list) else [t])):
        yield InvalidInput(field, value, describe_expectation({"type": t}))
        return
    if ("enum" in schema and value not in schema["enum"]) or ("const" in schema and value != schema["const"]):
        yield InvalidInput(field, value, describe_expectation(schema))
        return
    if "not" in schema and not any(True for _ in iter_errors(value, schema["not"], path)):
        yield InvalidInput(field, value, f"not {describe_expectation(schema['not'])}")
    if isinstance(value, str) and _string_violates(value, schema):
        yield InvalidInput(field, value, describe_expectation(schema))
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _number_violates(value, schema):
        yield InvalidInput(field, value, describe_expectation(schema))
    if isinstance(value, dict):
        yield from _object_errors(value, schema, path)
    if isinstance(value, list):
        yield from _array_errors(value, schema, path)
    if "if" in schema:
        holds = not any(True for _ in iter_errors(value, schema["if"], path))
        branch = schema.get("then" if holds else "else")
        if branch is not None:
            yield from iter_errors(value, branch, path)


def _array_errors(value: list[Any], schema: dict[str, Any], path: str) -> Iterator[InvalidInput]:
    field = path or "(input)"
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield InvalidInput(field, value, f"at least {schema['minItems']} item(s)")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        yield InvalidInput(field, f"{len(value)} items", f"at most {schema['maxItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            yield from iter_errors(item, schema["items"], f"{field}[{i}]")


def _string_violates(value: str, schema: dict[str, Any]) -> bool:
    if "minLength" in schema and len(value) < schema["minLength"]:
        return True
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return True
    return "pattern" in schema and not _regex(schema["pattern"]).search(value)


def _number_violates(value: float, schema: dict[str, Any]) -> bool:
    return ("minimum" in schema and value < schema["minimum"]) or ("maximum" in schema and value > schema["maximum"])


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: str) -> Iterator[InvalidInput]:
    field = path or "(input)"
    for name in schema.get("required", []):
        if name not in value:
            yield InvalidInput(f"{path + '.' if path else ''}{name}", None, "a value (this field is required)")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        yield InvalidInput(field, f"{len(value)} entries", f"at most {schema['maxProperties']} entries")
    props = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        sub_path = f"{path}.{name}" if path else name
        if "propertyNames" in schema:
            names = schema["propertyNames"]
            for err in iter_errors(name, names, sub_path):
                yield InvalidInput(sub_path, name, str(names.get("x-expected") or f"a key {err.expected}"))
        if name in props:
            yield from iter_errors(item, props[name], sub_path)
        elif extra is False:
            yield InvalidInput(sub_path, item, f"no such field{_did_you_mean(name, props)}")
        elif isinstance(extra, dict):
            yield from iter_errors(item, extra, sub_path)


def _did_you_mean(name: str, known: dict[str, Any]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known fields: {', '.join(sorted(known))})"


def problems(value: Any) -> list[InvalidInput]:
    """Every violation of the execution-input schema, in document order (empty: valid)."""
    return list(iter_errors(value, load_schema()))


def validate_execution_input(value: Any) -> None:
    """Raise the first violation as ``InvalidInput`` (its message names the field)."""
    for error in iter_errors(value, load_schema()):
        raise error
