"""Output and option parsing shared by the commands."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def console(stderr: bool = False) -> Any:
    """A rich Console; piped output (CI logs, files) is wide so ARNs and metric names are not cut."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


def parse_value(text: str) -> Any:
    """``KEY=VALUE`` values: JSON when it parses (numbers, true/false, quoted strings), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    """``("a=1", "b=2")`` -> ``{"a": "1", "b": "2"}``; a usage error names the option."""
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint=what)
        out[key] = value
    return out
