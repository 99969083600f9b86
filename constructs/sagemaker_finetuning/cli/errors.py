"""The CLI's error policy in one place: expected failures are one line on stderr."""

from __future__ import annotations

import click

PROG = "finetune"
#: What to install when a command needs the operator tools' extra.
INSTALL_HINT = "pip install 'sagemaker-finetuning-constructs[cli]'"


class CliError(click.ClickException):
    """An expected failure: printed as one line, exit code 1."""

    exit_code = 1


def err_line(message: str) -> None:
    """One line on stderr (newlines folded), never wrapped."""
    text = " ".join(str(message).split())
    click.echo(f"{PROG}: error: {text}", err=True)
