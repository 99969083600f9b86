"""Bookkeeping for the emulator's moto patches: one registry, one self-check.

moto has no plugin API, so every extension in this package is either a monkeypatch (an attribute
of a moto module or class is replaced) or a ``CloudFormationModel`` subclass registration. Each
patch module declares the moto symbols it touches with :func:`require` and performs the
replacement with :func:`replace`, which records the original so that :func:`describe_patches`
can list what the running emulator changed.

:func:`self_check` runs before any patch is applied. It fails loudly (``EmulatorIncompatible``)
when moto is not the pinned version or when a required symbol (or one of the parameters the
patch relies on) is missing, instead of silently falling back to moto's echo/skip behaviour.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

PINNED_MOTO_VERSION = "5.2.5"
#: Set to ``1`` to run against an unpinned moto (the symbol check still runs).
ALLOW_UNPINNED_ENV = "FINETUNE_EMULATOR_ALLOW_UNPINNED_MOTO"


class EmulatorIncompatible(RuntimeError):
    """The installed moto does not provide what the emulator patches."""


@dataclass(frozen=True)
class Requirement:
    """A moto symbol a patch depends on (``module:Attr.attr``) and the parameters it must accept."""

    target: str
    params: tuple[str, ...] = ()
    why: str = ""


@dataclass
class PatchRecord:
    target: str
    summary: str
    original: Any = field(repr=False, default=None)


_REQUIREMENTS: list[Requirement] = []
_APPLIED: list[PatchRecord] = []


def require(target: str, *params: str, why: str = "") -> Requirement:
    """Declare that a patch needs ``target`` (``"moto.x.models:Class.method"``)."""
    req = Requirement(target, tuple(params), why)
    _REQUIREMENTS.append(req)
    return req


def resolve(target: str) -> Any:
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in filter(None, attr_path.split(".")):
        obj = getattr(obj, part)
    return obj


def _owner_and_name(target: str) -> tuple[Any, str]:
    module_name, _, attr_path = target.partition(":")
    head, _, name = attr_path.rpartition(".")
    owner = resolve(f"{module_name}:{head}") if head else importlib.import_module(module_name)
    return owner, name


#: Patched behaviour is only used while an emulator is running in this process (``Emulator.start``
#: sets it). Otherwise every gated patch falls through to moto's original, so other tests of the
#: same pytest process that use moto in decorator mode see stock moto.
_ACTIVE = threading.Event()


def set_active(active: bool) -> None:
    if active:
        _ACTIVE.set()
    else:
        _ACTIVE.clear()


def is_active() -> bool:
    return _ACTIVE.is_set()


def replace(target: str, new: Any, summary: str, *, add: bool = False, gated: bool = True) -> Any:
    """Replace ``target`` with ``new`` and return the original. ``summary`` is one line for logs.

    With ``add=True`` the class must not define the attribute itself yet (a new method, or an
    override of an inherited one). With ``gated=True`` (the default) and a callable original, the
    installed object dispatches to ``new`` only while the emulator is active and to the original
    otherwise; it carries ``__wrapped__`` so ``inspect.signature`` still shows moto's signature.
    """
    owner, name = _owner_and_name(target)
    if add and name in vars(owner):
        raise EmulatorIncompatible(f"{target} already exists in this moto; review the patch that adds it")
    if inspect.isclass(owner):
        original = inspect.getattr_static(owner, name, None)
    else:
        original = getattr(owner, name, None) if add else getattr(owner, name)
    if original is None and not add:  # pragma: no cover - getattr above raised already
        raise EmulatorIncompatible(f"missing {target}")
    installed = new
    if gated and callable(new) and callable(original) and not inspect.isclass(original):
        installed = _gate(new, original)
    setattr(owner, name, installed)
    _APPLIED.append(PatchRecord(target, summary, original))
    return original


def _gate(new: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        if _ACTIVE.is_set():
            return new(*args, **kwargs)
        return original(*args, **kwargs)

    dispatch.__doc__ = new.__doc__
    dispatch.__finetune_patch__ = new  # type: ignore[attr-defined]
    return dispatch


def record(target: str, summary: str) -> None:
    """Record a registration that is not a plain attribute replacement (e.g. a CFN model class)."""
    _APPLIED.append(PatchRecord(target, summary))


def describe_patches() -> list[dict[str, str]]:
    return [{"target": p.target, "summary": p.summary} for p in _APPLIED]


def requirements() -> list[Requirement]:
    return list(_REQUIREMENTS)


def self_check(extra: list[Requirement] | None = None) -> list[str]:
    """Assert moto is the pinned version and every declared symbol exists. Returns the checked targets."""
    import moto

    problems: list[str] = []
    if moto.__version__ != PINNED_MOTO_VERSION and os.environ.get(ALLOW_UNPINNED_ENV) != "1":
        problems.append(
            f"moto {moto.__version__} is installed but the emulator is written against moto=={PINNED_MOTO_VERSION} "
            f"(set {ALLOW_UNPINNED_ENV}=1 to try anyway)"
        )
    checked = []
    for req in list(_REQUIREMENTS) + list(extra or []):
        try:
            obj = resolve(req.target)
        except (ImportError, AttributeError) as exc:
            problems.append(f"missing {req.target}: {exc}")
            continue
        if req.params:
            func: Callable[..., Any] | None = obj if callable(obj) else None
            try:
                sig = inspect.signature(func) if func is not None else None
            except (TypeError, ValueError):
                sig = None
            if sig is None:
                problems.append(f"{req.target} is not callable with a signature")
            else:
                missing = [p for p in req.params if p not in sig.parameters]
                if missing:
                    problems.append(f"{req.target} lacks parameter(s) {missing}; has {list(sig.parameters)}")
        checked.append(req.target)
    if problems:
        raise EmulatorIncompatible(
            "The offline emulator cannot patch this moto installation:\n  - " + "\n  - ".join(problems)
        )
    return checked
