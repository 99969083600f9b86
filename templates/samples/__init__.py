"""Small bundled datasets (open-weights JSONL formats) for the offline demo and the tests."""

from __future__ import annotations

from importlib import resources

NAMES = ("sft", "dpo", "rlvr", "rlaif")


def path(name: str):
    """The bundled ``<name>.jsonl`` (a Traversable; use ``.read_bytes()``)."""
    if name not in NAMES:
        raise ValueError(f"name: received {name!r}; expected one of {', '.join(NAMES)}")
    return resources.files(__name__) / f"{name}.jsonl"
