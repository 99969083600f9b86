"""The ``finetune`` command line (click + rich).

Console-script entry point: ``finetune = "sagemaker_finetuning.cli:main"``.
"""

from __future__ import annotations

from sagemaker_finetuning.cli.app import CliError, cli
from sagemaker_finetuning.cli import executions as _executions  # noqa: F401  (registers start/status/watch/list/stop)
from sagemaker_finetuning.cli import tools as _tools  # noqa: F401  (registers generate/validate-dataset/metrics)

__all__ = ["CliError", "cli", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run ``finetune``; exits with the command's code."""
    cli.main(args=argv, prog_name="finetune")
