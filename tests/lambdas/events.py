"""Full AWS events for the Lambda adapter tests, from ``tests/fixtures/events/*.json``."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"


@lru_cache(maxsize=None)
def _raw(name: str) -> str:
    return (EVENTS / f"{name}.json").read_text(encoding="utf-8")


def load(name: str, detail: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """The event ``name``, with ``detail`` keys (EventBridge) and top-level keys replaced."""
    event: dict[str, Any] = copy.deepcopy(json.loads(_raw(name)))
    if detail:
        event["detail"].update(detail)
    event.update(top)
    return event
