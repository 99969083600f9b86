"""The ``finetune`` command group, its error policy and shared options.

Error policy: every failure is one line on stderr (``finetune: error: ...``) and a non-zero exit
code, never a traceback. Usage errors exit 2, everything else 1, Ctrl-C 130. Set
``FINETUNE_DEBUG=1`` to get the traceback of an unexpected error.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click

from sagemaker_finetuning.cli.aws import Aws
from sagemaker_finetuning.cli.errors import INSTALL_HINT, PROG, CliError, err_line

__all__ = ["CliError", "FinetuneGroup", "aws_options", "cli", "err_line"]


def _botocore_message(e: Exception) -> tuple[str, int] | None:
    """A one-line message for the botocore errors a user can cause (credentials, region...)."""
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(e, (bx.NoCredentialsError, bx.PartialCredentialsError)):
        return ("no AWS credentials found: configure them (aws configure, AWS_PROFILE, or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile"), 1
    if isinstance(e, bx.NoRegionError):
        return "no AWS region configured: pass --region or set AWS_REGION", 1
    if isinstance(e, bx.ProfileNotFound):
        return f"AWS profile not found: {e.kwargs.get('profile', e)}", 1
    if isinstance(e, bx.EndpointConnectionError):
        return f"cannot reach {e.kwargs.get('endpoint_url', 'the AWS endpoint')} (network, region or AWS_ENDPOINT_URL?)", 1
    if isinstance(e, bx.ClientError):
        err = e.response.get("Error", {})
        op = getattr(e, "operation_name", "") or "AWS call"
        code = err.get("Code", "Error")
        msg = err.get("Message", "") or str(e)
        if code in ("ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
                    "InvalidClientTokenId", "InvalidSignatureException"):
            return f"{op}: {code}: {msg} (refresh your AWS credentials)", 1
        if code in ("AccessDenied", "AccessDeniedException"):
            return f"{op}: access denied: {msg}", 1
        return f"{op}: {code}: {msg}", 1
    if isinstance(e, bx.BotoCoreError):
        return f"AWS SDK error: {e}", 1
    return None


class FinetuneGroup(click.Group):
    """A click group whose ``main`` applies the one-line error policy (also under CliRunner)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):  # type: ignore[override]
        code = 0
        try:
            rv = super().main(args=args, prog_name=prog_name or PROG, complete_var=complete_var,
                              standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else PROG
            err_line(f"{e.format_message()} (see '{where} --help')")
            code = 2
        except click.ClickException as e:
            err_line(e.format_message())
            code = e.exit_code
        except (click.Abort, KeyboardInterrupt, EOFError):
            err_line("aborted")
            code = 130
        except BrokenPipeError:  # pragma: no cover - `finetune list | head`
            code = 0
        except ModuleNotFoundError as e:  # a command's optional dependency (mlflow, matplotlib ...)
            err_line(f"this command needs the 'cli' extra ({e.name} is not installed): {INSTALL_HINT}")
            code = 1
        except Exception as e:  # noqa: BLE001 - the policy: never a traceback
            known = _botocore_message(e)
            if known is not None:
                err_line(known[0])
                code = known[1]
            elif os.environ.get("FINETUNE_DEBUG"):
                raise
            else:
                err_line(f"unexpected {type(e).__name__}: {e} (set FINETUNE_DEBUG=1 for the traceback)")
                code = 1
        if standalone_mode:
            sys.exit(code)
        return code


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name=PROG, cls=FinetuneGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="sagemaker-finetuning-constructs", prog_name=PROG, message="%(prog)s %(version)s")
def cli() -> None:
    """Operate SageMaker AI serverless fine-tuning: start and watch runs of the stack's state
    machine, read a job's metrics, generate SDK v3 notebooks, validate datasets.

    \b
    Examples:
      finetune validate-dataset train.jsonl --technique sft
      finetune start --technique SFT --training-dataset s3://my-bucket/train.jsonl --watch
      finetune status                      # the most recent execution
      finetune metrics my-execution --plot loss.png
      finetune generate sft --model huggingface-reasoning-qwen3-06b --use-case "Support bot" -o sft.ipynb

    AWS commands use the usual credentials and region (AWS_PROFILE, AWS_REGION, --profile,
    --region); AWS_ENDPOINT_URL points them at a local emulator.
    """


def aws_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--stack/--state-machine-arn/--region/--profile, collected into an ``aws`` argument."""

    @click.option("--stack", default="SageMakerFineTuning", envvar="FINETUNE_STACK", show_default=True,
                  help="CloudFormation stack that holds the state machine (env FINETUNE_STACK).")
    @click.option("--state-machine-arn", envvar="FINETUNE_STATE_MACHINE_ARN", default=None,
                  help="Use this state machine instead of looking it up in the stack.")
    @click.option("--region", envvar="AWS_REGION", default=None, help="AWS region (default: your configuration).")
    @click.option("--profile", envvar="AWS_PROFILE", default=None, help="AWS credentials profile.")
    @functools.wraps(fn)
    def wrapper(*args: Any, stack: str, state_machine_arn: str | None, region: str | None,
                profile: str | None, **kwargs: Any) -> Any:
        return fn(*args, aws=Aws(stack=stack, state_machine_arn=state_machine_arn, region=region,
                                 profile=profile), **kwargs)

    return wrapper
