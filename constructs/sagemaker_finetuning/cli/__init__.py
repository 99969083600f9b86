"""The ``finetune`` command line (click + rich), the operator side of the library.

Console-script entry point: ``finetune = "sagemaker_finetuning.cli:main"``. The commands need the
``cli`` extra; without it, ``finetune`` prints one line saying what to install.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["CliError", "cli", "main"]

_INSTALL = "pip install 'sagemaker-finetuning-constructs[cli]'"


def _load() -> Any:
    from sagemaker_finetuning.cli import doctor, evaluation, executions, sweeps, tools  # noqa: F401  (register the commands)
    from sagemaker_finetuning.cli.app import cli

    return cli


def main(argv: list[str] | None = None) -> None:
    """Run ``finetune``; exits with the command's code."""
    try:
        command = _load()
    except ModuleNotFoundError as exc:
        sys.stderr.write(f"finetune: error: the command line needs the 'cli' extra ({exc.name} is not installed): {_INSTALL}\n")
        raise SystemExit(1) from None
    command.main(args=argv, prog_name="finetune")


def __getattr__(name: str) -> Any:
    if name == "cli":
        return _load()
    if name == "CliError":
        from sagemaker_finetuning.cli.errors import CliError

        return CliError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
