"""Validate a request against botocore's service model the way the AWS front end does.

botocore's own ``ParamValidator`` (run client-side, and skipped by Step Functions' aws-sdk
integration, which uses ``parameter_validation=False``) checks required members, types and minimum
lengths only. The service additionally enforces maximum lengths/values, enums and patterns. This
module checks all of them and renders the AWS message format::

    2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must
    not be null; Value 'x y' at 'trainingJobName' failed to satisfy constraint: Member must satisfy
    regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}

Patterns that use Java-only regex syntax (``\\p{...}``) are not checked.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.model import OperationNotFoundError, Shape

_MAX_ERRORS = 10


@lru_cache(maxsize=None)
def service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        text = str(value)
    else:
        text = str(value)
    return text if len(text) <= 256 else text[:253] + "..."


class _Collector:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        self.errors.append(f"Value {_quote(value)} at '{path}' failed to satisfy constraint: {constraint}")


def _quote(value: Any) -> str:
    return "null" if value is None else f"'{_render(value)}'"


def _check(shape: Shape, value: Any, path: str, out: _Collector, depth: int = 0) -> None:
    if depth > 40 or len(out.errors) >= _MAX_ERRORS:
        return
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.add(value, path, "Member must be a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                out.add(None, _join(path, _camel(name)), "Member must not be null")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _check(member, value[name], _join(path, _camel(name)), out, depth + 1)
        return
    if kind == "list":
        if not isinstance(value, list):
            out.add(value, path, "Member must be a list")
            return
        _length(value, meta, path, out)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}.{index + 1}.member", out, depth + 1)
        return
    if kind == "map":
        if not isinstance(value, dict):
            out.add(value, path, "Member must be a map")
            return
        _length(value, meta, path, out)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", out, depth + 1)
            _check(shape.value, item, f"{path}.{key}", out, depth + 1)
        return
    if kind == "string":
        if not isinstance(value, str):
            out.add(value, path, "Member must be a string")
            return
        _length(value, meta, path, out)
        if shape.enum and value not in shape.enum:
            out.add(value, path, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        if pattern:
            compiled = _compiled(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.add(value, path, f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            out.add(value, path, "Member must be an integer")
            return
        _range(value, meta, path, out)
        return
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.add(value, path, "Member must be a number")
            return
        _range(value, meta, path, out)
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            out.add(value, path, "Member must be a boolean")
        return
    if kind == "timestamp":
        if not isinstance(value, (_dt.datetime, int, float, str)):
            out.add(value, path, "Member must be a timestamp")
        return
    # blob and anything else: accepted as parsed


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _length(value: Any, meta: dict[str, Any], path: str, out: _Collector) -> None:
    size = len(value)
    if "min" in meta and size < meta["min"]:
        out.add(value, path, f"Member must have length greater than or equal to {meta['min']}")
    if "max" in meta and size > meta["max"]:
        out.add(value, path, f"Member must have length less than or equal to {meta['max']}")


def _range(value: float, meta: dict[str, Any], path: str, out: _Collector) -> None:
    if "min" in meta and value < meta["min"]:
        out.add(value, path, f"Member must have value greater than or equal to {meta['min']}")
    if "max" in meta and value > meta["max"]:
        out.add(value, path, f"Member must have value less than or equal to {meta['max']}")


def validation_errors(service: str, operation: str, params: Any) -> list[str]:
    """The constraint violations of ``params`` for ``service``/``operation`` (empty list = valid)."""
    try:
        op = service_model(service).operation_model(operation)
    except OperationNotFoundError:
        return []
    shape = op.input_shape
    if shape is None:
        return []
    out = _Collector()
    _check(shape, _plain(params), "", out)
    return out.errors


def validation_message(errors: list[str]) -> str:
    n = len(errors)
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(errors)


def _plain(value: Any) -> Any:
    """moto's parsed parameters may be dict subclasses; turn them into plain containers."""
    original = getattr(value, "original_dict", None)
    if callable(original):
        value = original()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
