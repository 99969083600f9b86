"""The offline emulator: moto on loopback with narrow, explained extensions (see ``server``).

Start it in-process with :class:`Emulator` (a context manager; ``.endpoint_url``, ``.port``,
``.reset()``, ``.control``) or from a shell with ``python -m sagemaker_finetuning_emulator serve``.
The patches themselves are listed in ``patches.py``; the control API is in ``control.py``.

Importing this package does not import moto; the emulator's modules need the ``local`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from sagemaker_finetuning_emulator.control import ControlError, EmulatorControl
    from sagemaker_finetuning_emulator.server import Emulator

__all__ = ["Emulator", "EmulatorControl", "ControlError", "apply_patches"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from sagemaker_finetuning_emulator.server import Emulator

        return Emulator
    if name in ("EmulatorControl", "ControlError"):
        from sagemaker_finetuning_emulator import control

        return getattr(control, name)
    if name == "apply_patches":
        from sagemaker_finetuning_emulator.patches import apply_all

        return apply_all
    raise AttributeError(name)
