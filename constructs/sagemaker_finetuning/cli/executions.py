"""``start``, ``status``, ``watch``, ``list``, ``stop``: the stack's Step Functions executions."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import click

from sagemaker_finetuning.cli.app import CliError, aws_options, cli, err_line
from sagemaker_finetuning.cli.aws import TERMINAL_EXECUTION, TERMINAL_JOB, Aws, newest_first, progress_of

SCHEMA_PACKAGE = "sagemaker_finetuning.core"
SCHEMA_FILE = "execution_input.schema.json"
_SHOWN = 80


def _console(stderr: bool = False):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output (CI logs, files) gets a wide console so ARNs and metric names are not cut.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


# ---- input validation ---------------------------------------------------------------------


def load_schema() -> dict[str, Any]:
    try:
        text = (resources.files(SCHEMA_PACKAGE) / SCHEMA_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        raise CliError(f"the execution input schema ({SCHEMA_PACKAGE}/{SCHEMA_FILE}) is missing from the installation") from None
    return json.loads(text)


def json_path(parts) -> str:
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}"
        else:
            out += f"[{json.dumps(p)}]"
    return out


from sagemaker_finetuning.core.schema_check import describe_expectation  # noqa: E402 (one wording for workflow and CLI)


def show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def schema_errors(doc: Any, schema: dict[str, Any]) -> list[str]:
    """Draft 2020-12 validation; one line per problem: JSON path, received value, expectation."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    lines: list[str] = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        path = list(e.absolute_path)
        v = e.validator
        if "propertyNames" in list(e.schema_path):  # the instance is a key of the object at path
            expected = f"not {describe_expectation(e.validator_value)}" if v == "not" else describe_expectation(e.schema)
            lines.append(f"{json_path(path)}: key {show(e.instance)} is not allowed; expected a key {expected}")
        elif v == "required":
            missing = [p for p in e.validator_value if not isinstance(e.instance, dict) or p not in e.instance]
            props = e.schema.get("properties", {})
            for p in missing:
                lines.append(f"{json_path(path + [p])}: missing (required); expected {describe_expectation(props.get(p, {}))}")
        elif v == "additionalProperties" and isinstance(e.instance, dict):
            known = set(e.schema.get("properties", {}))
            extra = [k for k in e.instance if k not in known]
            for k in extra:
                hint = ""
                if known:
                    import difflib

                    close = difflib.get_close_matches(k, sorted(known), n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                lines.append(f"{json_path(path + [k])}: received {show(e.instance[k])}; expected no such field{hint}")
        elif v in ("enum", "const", "type", "pattern", "minLength", "maxLength", "minimum", "maximum"):
            lines.append(f"{json_path(path)}: received {show(e.instance)}; expected {describe_expectation(e.schema)}")
        elif v in ("maxProperties", "minProperties"):
            lines.append(f"{json_path(path)}: received {len(e.instance)} entries; expected {v[:3]} {e.validator_value}")
        elif v == "not":
            lines.append(f"{json_path(path)}: received {show(e.instance)}; expected not {describe_expectation(e.validator_value)}")
        else:
            lines.append(f"{json_path(path)}: received {show(e.instance)}; {e.message}")
    return lines


def parse_value(text: str) -> Any:
    """``KEY=VALUE`` values: JSON when it parses (numbers, true/false, quoted strings), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint=what)
        out[key] = value
    return out


def _read_input(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot read input file {path}: {e.strerror or e}") from None
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise CliError(f"input file {path} is not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise CliError(f"input file {path}: expected a JSON object, got {type(doc).__name__}")
    return doc


# ---- start --------------------------------------------------------------------------------


@cli.command(context_settings={"max_content_width": 100})
@click.option("-i", "--input", "input_file", metavar="FILE",
              help="Execution input as a JSON file ('-' for stdin); flags override its fields.")
@click.option("-t", "--technique", type=click.Choice(["SFT", "DPO", "RLVR", "RLAIF"], case_sensitive=False),
              help="Customization technique.")
@click.option("-m", "--model", help="Base model hub id, or a model package ARN to continue from.")
@click.option("-d", "--training-dataset", help="s3:// URI or DataSet ARN of the training data.")
@click.option("--validation-dataset", help="s3:// URI or DataSet ARN of validation data.")
@click.option("--training-type", type=click.Choice(["LORA", "FULL"], case_sensitive=False))
@click.option("--accept-eula", is_flag=True, default=None, help="Accept the base model's license (gated meta- models).")
@click.option("--model-package-group", help="Model package group name or ARN for the output model.")
@click.option("--s3-output-path", help="Where the job writes its output.")
@click.option("--reward-function", "custom_reward_function", help="RLVR: evaluator or Lambda ARN.")
@click.option("--reward-model-id", help="RLAIF: Bedrock judge model id.")
@click.option("--reward-prompt", help="RLAIF: Builtin.<Name> or a RewardPrompt evaluator ARN.")
@click.option("--mlflow-resource-arn", help="MLflow app or tracking server ARN.")
@click.option("--mlflow-experiment-name")
@click.option("--mlflow-run-name")
@click.option("--max-runtime", "max_runtime_in_seconds", type=int, help="Max runtime in seconds.")
@click.option("--training-job-name", help="Exact training job name (default: derived from the execution).")
@click.option("-p", "--hyperparameter", "hyperparameters", multiple=True, metavar="NAME=VALUE",
              help="Hyperparameter override, repeatable (value parsed as JSON when it can be).")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Training job tag, repeatable.")
@click.option("--set", "extra", multiple=True, metavar="FIELD=VALUE",
              help="Any other input field, repeatable (value parsed as JSON when it can be).")
@click.option("--name", "execution_name", help="Execution name (default: generated by Step Functions).")
@click.option("--dry-run", is_flag=True, help="Validate and print the input; start nothing.")
@click.option("--validate-dataset", "check_dataset", is_flag=True,
              help="Also stream-validate the training dataset (s3:// or local) before starting.")
@click.option("--watch", is_flag=True, help="Watch the execution after starting it.")
@click.option("--interval", default=15.0, show_default=True, help="--watch: seconds between polls.")
@aws_options
def start(aws: Aws, input_file, execution_name, dry_run, check_dataset, watch, interval, hyperparameters,
          tags, extra, **fields):
    """Start a fine-tuning execution of the stack's state machine.

    The input is validated locally against the execution-input JSON Schema before StartExecution;
    each problem is printed as one line (JSON path, received value, expectation).

    \b
    Examples:
      finetune start -t SFT -d s3://my-bucket/train.jsonl
      finetune start -t DPO -m meta-textgeneration-llama-3-2-1b-instruct --accept-eula \\
          -d s3://my-bucket/prefs.jsonl -p learning_rate=5e-6 -p max_epochs=2 --watch
      finetune start -i run.json --model-package-group support-bot-v2
      finetune start -i run.json --dry-run          # validate only
    """
    doc: dict[str, Any] = _read_input(input_file) if input_file else {}
    for key, value in fields.items():
        if value is not None:
            doc[key] = value.upper() if key in ("technique", "training_type") else value
    if hyperparameters:
        doc.setdefault("hyperparameters", {})
        if isinstance(doc["hyperparameters"], dict):
            doc["hyperparameters"].update({k: parse_value(v) for k, v in _pairs(hyperparameters, "--hyperparameter").items()})
    if tags:
        doc.setdefault("tags", {})
        if isinstance(doc["tags"], dict):
            doc["tags"].update(_pairs(tags, "--tag"))
    for key, value in _pairs(extra, "--set").items():
        doc[key] = parse_value(value)

    problems = schema_errors(doc, load_schema())
    if problems:
        for line in problems:
            err_line(f"invalid input: {line}")
        raise CliError(f"the execution input has {len(problems)} problem(s); nothing was started")

    if check_dataset:
        _check_dataset(doc)
    if dry_run:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    sm = aws.find_state_machine()
    kwargs: dict[str, Any] = {"stateMachineArn": sm, "input": json.dumps(doc)}
    if execution_name:
        kwargs["name"] = execution_name
    arn = aws.client("stepfunctions").start_execution(**kwargs)["executionArn"]
    click.echo(arn)
    if watch:
        _watch(aws, arn, interval=interval, timeout=None)
    else:
        click.echo(f"Follow it with: finetune watch {arn}", err=True)


def _check_dataset(doc: dict[str, Any]) -> None:
    from sagemaker_finetuning.tools.datasets import DatasetError, format_for, validate

    source = doc.get("training_dataset", "")
    if not source.startswith("s3://"):
        click.echo("skipping dataset validation: the training dataset is not an s3:// URI", err=True)
        return
    try:
        report = validate(source, format_for(doc["technique"], doc.get("model")))
    except DatasetError as e:
        raise CliError(f"dataset: {e}") from None
    for issue in report.issues:
        err_line(f"dataset: {issue}")
    if not report.ok:
        raise CliError(f"dataset: {report.summary()}; nothing was started")
    click.echo(f"dataset ok: {report.summary()}", err=True)


# ---- status / watch -----------------------------------------------------------------------


def _ago(dt: Any) -> str:
    if not isinstance(dt, datetime):
        return "-"
    now = datetime.now(dt.tzinfo or timezone.utc)
    secs = max(0, int((now - dt).total_seconds()))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    span = f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
    return f"{dt.strftime('%Y-%m-%d %H:%M:%S %Z').strip()} ({span} ago)"


def snapshot(aws: Aws, arn: str) -> dict[str, Any]:
    """Execution + training job state, as a JSON-able dict."""
    ex = aws.describe_execution(arn)
    out: dict[str, Any] = {
        "execution_arn": ex["executionArn"],
        "execution_status": ex.get("status"),
        "started": ex.get("startDate").isoformat() if isinstance(ex.get("startDate"), datetime) else None,
        "stopped": ex.get("stopDate").isoformat() if isinstance(ex.get("stopDate"), datetime) else None,
        "_start": ex.get("startDate"),
    }
    if ex.get("error") or ex.get("cause"):
        out["execution_error"] = " ".join(filter(None, [ex.get("error"), ex.get("cause")]))
    name = aws.training_job_name(ex)
    out["training_job_name"] = name
    if name:
        job = aws.describe_training_job(name)
        if job:
            out["training_job_status"] = job.get("TrainingJobStatus")
            out["secondary_status"] = job.get("SecondaryStatus")
            out["failure_reason"] = job.get("FailureReason")
            out["output_model_package_arn"] = job.get("OutputModelPackageArn")
            out["progress"] = progress_of(job)
            mlflow = job.get("MlflowDetails") or {}
            if mlflow.get("MlflowRunId"):
                out["mlflow_run_id"] = mlflow["MlflowRunId"]
    return out


def _progress_text(p: dict[str, int] | None) -> str:
    if not p:
        return "-"
    pct = 100.0 * p["done"] / p["total"] if p["total"] else 0.0
    return f"epoch {p['epoch']}/{p['max_epoch']}, step {p['step']}/{p['steps_per_epoch']} ({pct:.0f}%)"


@cli.command()
@click.argument("execution", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@aws_options
def status(aws: Aws, execution, as_json):
    """Show an execution and its training job (status, epoch/step, model package).

    EXECUTION is an execution ARN or name; without it, the most recent execution.

    \b
    Examples:
      finetune status
      finetune status my-run-1 --json
      finetune status arn:aws:states:us-east-1:123456789012:execution:FineTuning:my-run-1
    """
    snap = snapshot(aws, aws.execution_arn(execution))
    start_dt = snap.pop("_start", None)
    if as_json:
        click.echo(json.dumps(snap, indent=2, default=str))
        return
    rows = [("Execution", snap["execution_arn"]),
            ("Status", f"{snap['execution_status']}  started {_ago(start_dt)}")]
    if snap.get("execution_error"):
        rows.append(("Error", snap["execution_error"]))
    rows.append(("Training job", snap.get("training_job_name") or "(not started yet)"))
    if snap.get("training_job_status"):
        rows.append(("Job status", f"{snap['training_job_status']} / {snap.get('secondary_status') or '-'}"))
        rows.append(("Progress", _progress_text(snap.get("progress"))))
    for key, label in (("failure_reason", "Failure"), ("output_model_package_arn", "Model package"),
                       ("mlflow_run_id", "MLflow run")):
        if snap.get(key):
            rows.append((label, snap[key]))
    for label, value in rows:  # plain lines: easy to read and to grep
        click.echo(f"{label + ':':<15}{value}")


def _watch(aws: Aws, arn: str, *, interval: float, timeout: float | None) -> None:
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = _console()
    started = time.monotonic()
    last_status = None
    with Progress(
        TextColumn("[bold]{task.fields[state]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("training", total=None, state="starting", detail="")
        while True:
            snap = snapshot(aws, arn)
            ex_status = snap["execution_status"]
            job_status = snap.get("training_job_status")
            secondary = snap.get("secondary_status")
            state = f"{job_status}/{secondary}" if job_status else ex_status
            p = snap.get("progress")
            if p:
                bar.update(task, total=p["total"], completed=p["done"], state=state, detail=_progress_text(p))
            else:
                bar.update(task, state=state, detail=snap.get("training_job_name") or "waiting for the training job")
            line = (ex_status, job_status, secondary)
            if line != last_status:
                bar.console.print(f"{datetime.now().strftime('%H:%M:%S')} execution {ex_status}"
                                  + (f", job {snap['training_job_name']} {job_status} ({secondary})" if job_status else ""))
                last_status = line
            if ex_status in TERMINAL_EXECUTION:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                raise CliError(f"still {ex_status} after {timeout:.0f}s (the execution goes on)")
            time.sleep(interval)
    if snap.get("output_model_package_arn"):
        console.print(f"Model package: {snap['output_model_package_arn']}")
    if ex_status != "SUCCEEDED":
        reason = snap.get("failure_reason") or snap.get("execution_error") or ""
        raise CliError(f"execution {ex_status}" + (f": {reason}" if reason else ""))
    if job_status and job_status not in TERMINAL_JOB:  # pragma: no cover - defensive
        console.print(f"note: the training job is still {job_status}")


@cli.command()
@click.argument("execution", required=False)
@click.option("--interval", default=15.0, show_default=True, help="Seconds between polls.")
@click.option("--timeout", type=float, default=None, help="Give up watching after this many seconds.")
@aws_options
def watch(aws: Aws, execution, interval, timeout):
    """Follow an execution live: a progress bar from the training job's ProgressInfo (epoch,
    step) and SecondaryStatus, until the execution ends. Exit code 0 only if it succeeded.

    EXECUTION is an execution ARN or name; without it, the most recent execution.

    \b
    Examples:
      finetune watch
      finetune watch my-run-1 --interval 60
    """
    if interval < 0:
        raise click.BadParameter("must be >= 0", param_hint="--interval")
    _watch(aws, aws.execution_arn(execution), interval=interval, timeout=timeout)


# ---- list / stop --------------------------------------------------------------------------


@cli.command("list")
@click.option("-n", "--max", "max_results", default=20, show_default=True, type=click.IntRange(1, 1000),
              help="How many executions.")
@click.option("--status", "status_filter",
              type=click.Choice(["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"], case_sensitive=False),
              help="Only executions with this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@aws_options
def list_(aws: Aws, max_results, status_filter, as_json):
    """List recent executions of the stack's state machine, newest first.

    \b
    Examples:
      finetune list
      finetune list --status FAILED -n 5 --json
    """
    sm = aws.find_state_machine()
    kwargs: dict[str, Any] = {"stateMachineArn": sm, "maxResults": min(max_results, 1000)}
    if status_filter:
        kwargs["statusFilter"] = status_filter.upper()
    executions = newest_first(aws.client("stepfunctions").list_executions(**kwargs).get("executions", []))[:max_results]
    if as_json:
        click.echo(json.dumps([
            {"name": e.get("name"), "status": e.get("status"), "execution_arn": e.get("executionArn"),
             "started": e.get("startDate"), "stopped": e.get("stopDate")} for e in executions], indent=2, default=str))
        return
    if not executions:
        click.echo(f"no executions of {sm}")
        return
    from rich.table import Table

    t = Table(title=f"Executions of {sm.rsplit(':', 1)[-1]}", title_justify="left")
    t.add_column("Name", overflow="fold")
    t.add_column("Status")
    t.add_column("Started")
    t.add_column("Stopped")
    colours = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "cyan", "ABORTED": "yellow", "TIMED_OUT": "red"}
    fmt = lambda d: d.strftime("%Y-%m-%d %H:%M:%S") if isinstance(d, datetime) else "-"  # noqa: E731
    for e in executions:
        st = e.get("status", "")
        t.add_row(e.get("name", ""), f"[{colours.get(st, 'white')}]{st}[/]", fmt(e.get("startDate")), fmt(e.get("stopDate")))
    _console().print(t)


@cli.command()
@click.argument("execution")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--cause", default="Stopped with finetune stop", show_default=True, help="Recorded as the stop cause.")
@aws_options
def stop(aws: Aws, execution, yes, cause):
    """Stop an execution (StopExecution); the workflow stops its training job itself.

    \b
    Examples:
      finetune stop my-run-1
      finetune stop arn:aws:states:us-east-1:123456789012:execution:FineTuning:my-run-1 --yes
    """
    arn = aws.execution_arn(execution)
    ex = aws.describe_execution(arn)
    if ex.get("status") in TERMINAL_EXECUTION:
        raise CliError(f"execution already ended with status {ex.get('status')}: {arn}")
    if not yes:
        click.confirm(f"Stop {arn}?", abort=True, err=True)
    aws.client("stepfunctions").stop_execution(executionArn=arn, error="StoppedByUser", cause=cause[:32768])
    click.echo(f"stopped {arn}")
