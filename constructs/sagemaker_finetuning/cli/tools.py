"""``generate``, ``validate-dataset``, ``metrics``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sagemaker_finetuning.cli.app import CliError, aws_options, cli, err_line
from sagemaker_finetuning.cli.aws import Aws
from sagemaker_finetuning.cli.console import console, pairs, parse_value

#: ``rlaif`` is the technique name ``finetune start`` takes; the renderer picks its template.
TEMPLATE_CHOICES = ("sft", "dpo", "rlvr", "rlaif", "rlaif-builtin", "rlaif-custom-prompt", "continued")


# ---- generate -----------------------------------------------------------------------------


@cli.command(context_settings={"max_content_width": 100})
@click.argument("technique", metavar="TECHNIQUE", type=click.Choice(TEMPLATE_CHOICES, case_sensitive=False))
@click.option("-m", "--model", required=True, help="Exact SageMaker Hub model id (e.g. huggingface-reasoning-qwen3-06b).")
@click.option("-u", "--use-case", help='A sentence the group name is derived from: "Customer Support Chatbot" -> customer-support-chatbot-v1.')
@click.option("-g", "--group", "group", help="Model package group name (instead of --use-case).")
@click.option("--version", "group_version", default=1, show_default=True, type=click.IntRange(1),
              help="Version suffix of the derived group name.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True),
              help="Output .ipynb or .py ('-' prints a script, without the files it reads). "
                   "Default: <group>-<technique>-<model>.ipynb / .py.")
@click.option("-f", "--format", "fmt", type=click.Choice(["notebook", "script"]),
              help="Output kind (default: from the output suffix, else notebook).")
@click.option("--accept-eula", is_flag=True,
              help="Write ACCEPT_EULA = True (gated meta- models only; only if you have read and accept the license).")
@click.option("-d", "--training-dataset", help="s3:// URI of the training data (default: a placeholder path in the session bucket).")
@click.option("--role-arn", help="Execution role ARN (default: get_execution_role()).")
@click.option("--training-type", type=click.Choice(["LORA", "FULL"], case_sensitive=False), default="LORA", show_default=True)
@click.option("-p", "--hyperparameter", "hyperparameters", multiple=True, metavar="NAME=VALUE",
              help="A hyperparameter override written into the code, repeatable.")
@click.option("--mlflow-resource-arn", help="MLflow app or tracking server ARN.")
@click.option("--reward-function", help="RLVR: evaluator or Lambda ARN (default: register reward_<model>.py, written next to the output).")
@click.option("--reward-model-id", help="RLAIF: Bedrock judge model id.")
@click.option("--reward-prompt", help="RLAIF: Builtin.<Name>, or (custom prompt) a RewardPrompt evaluator ARN.")
@click.option("--judge-prompt-file", metavar="PATH",
              help="RLAIF custom prompt: the Jinja judge prompt the code registers, relative to the output "
                   "(default prompts/judge_prompt.jinja, written when missing); with rlaif it picks the custom-prompt template.")
@click.option("--continue-with", type=click.Choice(["SFT", "DPO", "RLVR", "RLAIF"], case_sensitive=False),
              default="SFT", show_default=True, help="continued: the technique of the new round.")
@click.option("--previous-job", help="continued: the earlier training job's name.")
@click.option("--previous-model-package", help="continued: the earlier output model package ARN.")
@click.option("--round", "round_", default=2, show_default=True, type=click.IntRange(2), help="continued: round number.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def generate(technique, model, use_case, group, group_version, output, fmt, accept_eula, training_dataset, role_arn,
             training_type, hyperparameters, mlflow_resource_arn, reward_function, reward_model_id, reward_prompt,
             judge_prompt_file, continue_with, previous_job, previous_model_package, round_, force):
    """Generate a SageMaker Python SDK v3 notebook or script for a technique.

    TECHNIQUE is one of sft, dpo, rlvr, rlaif, rlaif-builtin, rlaif-custom-prompt, continued (any
    case); rlaif is rlaif-builtin, or rlaif-custom-prompt with --judge-prompt-file or a RewardPrompt
    evaluator ARN as --reward-prompt. The code is split in "# Cell N: Label" units (notebook
    cells). Every notebook shows the model's license; only gated meta- models get ACCEPT_EULA,
    False unless you pass --accept-eula. Nova models get no max_epochs / lr_warmup_steps_ratio
    lines. RLVR writes reward_<model>.py next to the output (Nova: bare-list contract); custom-prompt
    RLAIF writes an example judge prompt (it asks for {"score": 0.0-1.0}). Existing files are kept.

    \b
    Examples:
      finetune generate sft -m huggingface-reasoning-qwen3-06b -u "Customer Support Chatbot"
          # -> customer-support-chatbot-v1-sft-huggingface-reasoning-qwen3-06b.ipynb
      finetune generate dpo -m meta-textgeneration-llama-3-2-1b-instruct -u "Support" -o dpo.py
      finetune generate rlvr -m nova-textgeneration-lite-v2 -u "Math tutor"
          # -> math-tutor-v1-rlvr-nova-textgeneration-lite-v2.ipynb, reward_nova_textgeneration_lite_v2.py
      finetune generate rlaif -m openai-reasoning-gpt-oss-20b -g summaries-v1 --reward-prompt Builtin.Summarize
      finetune generate continued -m huggingface-reasoning-qwen3-06b -g support-v1 --continue-with DPO \\
          --previous-job qwen-sft-abc123 -o round2.ipynb
    """
    from sagemaker_finetuning.tools.notebooks import RenderError, render

    if not use_case and not group:
        raise click.UsageError("pass --use-case SENTENCE or --group NAME")
    hp = {k: parse_value(v) for k, v in pairs(hyperparameters, "--hyperparameter").items()}
    try:
        rendered = render(
            technique.lower(), model, use_case=use_case, model_package_group_name=group, version=group_version,
            accept_eula=accept_eula, training_dataset=training_dataset, role_arn=role_arn,
            training_type=training_type.upper(), hyperparameters=hp, mlflow_resource_arn=mlflow_resource_arn,
            reward_function=reward_function, reward_model_id=reward_model_id, reward_prompt=reward_prompt,
            judge_prompt_file=judge_prompt_file, continue_technique=continue_with.upper(), previous_training_job=previous_job,
            previous_model_package_arn=previous_model_package, round=round_,
        )
    except RenderError as e:
        raise CliError(str(e)) from None
    _write_generated(rendered, output, fmt, force)


def _write_generated(rendered: Any, output: str | None, fmt: str | None, force: bool) -> None:
    """Print the script (``-o -``) or write the notebook/script file(s), then the renderer's notes."""
    if output == "-":
        if fmt == "notebook":
            raise click.UsageError("-o - prints a script; use --format script or a file name")
        click.echo(rendered.to_script(), nl=False)
        return
    if output is None:
        output = rendered.default_filename(fmt or "notebook")
    path = Path(output)
    kind = fmt or {".ipynb": "notebook", ".py": "script"}.get(path.suffix)
    if kind is None:
        raise click.BadParameter(f"{output!r}: use a .ipynb or .py name, or --format", param_hint="--output")
    if path.exists() and not force:
        raise CliError(f"{path} exists; pass --force to overwrite it")
    for f in rendered.write(path, kind):
        click.echo(str(f))
    for note in rendered.notes:
        click.echo(f"note: {note}", err=True)


# ---- validate-dataset ---------------------------------------------------------------------


@cli.command("validate-dataset", context_settings={"max_content_width": 100})
@click.argument("source")
@click.option("-t", "--technique", type=click.Choice(["SFT", "DPO", "RLVR", "RLAIF", "RFT", "CPT"], case_sensitive=False),
              help="Technique; with --model picks the format (Nova formats for Nova models).")
@click.option("-m", "--model", help="Model id: a Nova id selects the Nova formats.")
@click.option("-f", "--format", "fmt",
              type=click.Choice(["sft", "dpo", "rlvr", "rlaif", "nova-sft", "nova-dpo", "nova-rft", "nova-cpt"]),
              help="The dataset format, explicitly.")
@click.option("--max-errors", default=20, show_default=True, type=click.IntRange(0), help="How many problems to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--region", envvar="AWS_REGION", default=None, help="AWS region for s3:// sources.")
@click.option("--profile", envvar="AWS_PROFILE", default=None, help="AWS profile for s3:// sources.")
def validate_dataset(source, technique, model, fmt, max_errors, as_json, region, profile):
    """Validate a JSONL dataset for a technique, streaming (local file, directory, s3:// object
    or prefix). Lists the first problems with line numbers and a summary; exit code 1 if any.

    \b
    Formats:
      sft       {"prompt": str, "completion": str}
      dpo       {"prompt": str, "chosen": str, "rejected": str}
      rlvr      {"prompt": [{"role", "content"}], "reward_model": {"ground_truth"}, ...}
      rlaif     {"prompt": str | [{"role", "content"}]}
      nova-sft  bedrock-conversation-2024 {"schemaVersion", "system"?, "messages"}
      nova-dpo  as nova-sft, last assistant turn with "candidates" + "preferenceLabel"
      nova-rft  {"messages": [{"role", "content"}], "reference_answer"}
      nova-cpt  {"text": str}

    \b
    Examples:
      finetune validate-dataset train.jsonl --technique sft
      finetune validate-dataset s3://my-bucket/data/ -t DPO -m nova-textgeneration-lite-v2
      finetune validate-dataset prefs.jsonl --format dpo --max-errors 5 --json
    """
    from sagemaker_finetuning.tools.datasets import DatasetError, format_for, validate

    try:
        if fmt is None:
            if technique is None:
                raise click.UsageError("pass --technique (with --model for Nova) or --format")
            fmt = format_for(technique, model)
        client = None
        if source.startswith("s3://"):
            import boto3

            client = boto3.Session(profile_name=profile, region_name=region).client("s3")
        report = validate(source, fmt, max_errors=max_errors, s3_client=client)
    except DatasetError as e:
        raise CliError(str(e)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for issue in report.issues:
            click.echo(str(issue))
        if report.error_count > len(report.issues):
            click.echo(f"... and {report.error_count - len(report.issues)} more")
        for warning in report.warnings:
            click.echo(f"warning: {warning}")
        click.echo(report.summary())
    if not report.ok:
        err_line(f"{source} is not a valid {fmt} dataset ({report.error_count} problems)")
        raise click.exceptions.Exit(1)


# ---- metrics ------------------------------------------------------------------------------


@cli.command(context_settings={"max_content_width": 100})
@click.argument("execution", required=False)
@click.option("--job", "job_name", help="Training job name (instead of an execution).")
@click.option("--run-id", help="MLflow run id (with --tracking-uri; no AWS lookup).")
@click.option("--tracking-uri", envvar="MLFLOW_TRACKING_URI",
              help="MLflow tracking URI: an MLflow app/server ARN or any MLflow URI (env MLFLOW_TRACKING_URI).")
@click.option("-t", "--technique", type=click.Choice(["SFT", "DPO", "RLVR", "RLAIF"], case_sensitive=False),
              help="Metric set (default: from the job, else detected from the run).")
@click.option("--metric", "metric_names", multiple=True, help="Show these metrics instead, repeatable.")
@click.option("--steps-per-epoch", type=click.IntRange(1), help="Override the job's steps per epoch.")
@click.option("--aggregate", type=click.Choice(["last", "mean", "min", "max"]), default="last", show_default=True,
              help="Value per epoch.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="PNG to write (default: metrics-<job or run>.png).")
@click.option("--no-plot", is_flag=True, help="Do not write a PNG.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@aws_options
def metrics(aws: Aws, execution, job_name, run_id, tracking_uri, technique, metric_names, steps_per_epoch, aggregate,
            plot_path, no_plot, as_json):
    """Loss by epoch of a job's MLflow run as a table, and a PNG plot.

    The run and tracking URI come from the training job (DescribeTrainingJob MlflowConfig /
    MlflowDetails), found from EXECUTION (ARN or name; default: the most recent), --job, or
    directly from --run-id and --tracking-uri. An ARN tracking URI needs sagemaker-mlflow.

    \b
    Examples:
      finetune metrics                                  # the latest execution's job
      finetune metrics --job qwen-sft-1a2b3c --aggregate mean --plot loss.png
      finetune metrics --run-id 0f1e... --tracking-uri sqlite:///mlflow.db -t SFT --no-plot
    """
    from sagemaker_finetuning.tools.metrics import MetricsError, plot, read_run_metrics

    if run_id:
        if not tracking_uri:
            raise click.UsageError("--run-id needs --tracking-uri (or MLFLOW_TRACKING_URI)")
        label = run_id[:12]
    else:
        run_id, tracking_uri, technique, steps_per_epoch, label = _run_of_job(aws, execution, job_name, tracking_uri, technique,
                                                                                steps_per_epoch)
    try:
        table = read_run_metrics(run_id, tracking_uri=tracking_uri, technique=technique,
                                 metrics=list(metric_names) or None, steps_per_epoch=steps_per_epoch,
                                 aggregate=aggregate)
        written = None
        if not no_plot and table.metrics:
            written = plot(table, plot_path or f"metrics-{label}.png")
    except MetricsError as e:
        raise CliError(str(e)) from None
    if as_json:
        data = table.to_dict()
        data["plot"] = str(written) if written else None
        click.echo(json.dumps(data, indent=2))
        return
    _print_metrics(table, written)


#: What to do when a job logged to no MLflow resource (one line: the CLI prints errors on one line).
NO_MLFLOW = ("training job {job} has no MLflow run: it was launched without an MLflow resource (no MlflowConfig; the "
             "stack has no mlflowResourceArn and the input gave no mlflow_resource_arn). For metrics of the next runs, "
             "deploy with -c mlflowResourceArn=<MLflow app or tracking server ARN> or pass mlflow_resource_arn in the input; "
             "this job's loss is in its CloudWatch logs (/aws/sagemaker/TrainingJobs, streams {job}/...). A run in a local "
             "MLflow store: finetune metrics --run-id <id> --tracking-uri sqlite:///mlflow.db")


def _run_of_job(aws: Aws, execution: str | None, job_name: str | None, tracking_uri: str | None, technique: str | None,
                steps_per_epoch: int | None) -> tuple[str, str, str | None, int | None, str]:
    """The MLflow run of the execution's (or the named) training job, and what the job tells about it."""
    if not job_name:
        ex = aws.describe_execution(aws.execution_arn(execution))
        job_name = aws.training_job_name(ex)
        if not job_name:
            raise CliError(f"execution {ex['executionArn']} has not started a training job (yet)")
    job = aws.describe_training_job(job_name)
    if job is None:
        raise CliError(f"training job {job_name!r} not found")
    run_id = (job.get("MlflowDetails") or {}).get("MlflowRunId")
    configured = (job.get("MlflowConfig") or {}).get("MlflowResourceArn")
    tracking_uri = tracking_uri or configured
    if not configured:
        raise CliError(NO_MLFLOW.format(job=job_name))
    if not run_id or not tracking_uri:
        raise CliError(f"training job {job_name} has no MLflow run yet (MlflowConfig is set, MlflowDetails not): "
                       "the run appears once training starts; try again when the job is Training")
    technique = technique or (job.get("ServerlessJobConfig") or {}).get("CustomizationTechnique")
    if steps_per_epoch is None:
        spe = (job.get("ProgressInfo") or {}).get("TotalStepCountPerEpoch")
        steps_per_epoch = int(spe) if spe else None
    return run_id, tracking_uri, technique, steps_per_epoch, job_name


def _print_metrics(table: Any, written: Any) -> None:
    from rich.table import Table

    t = Table(title=table.title(), title_justify="left")
    t.add_column(table.index_name, justify="right")
    for m in table.metrics:
        t.add_column(m, justify="right")
    for idx, row in table.rows:
        t.add_row(str(idx), *[f"{row[m]:.4f}" if m in row else "-" for m in table.metrics])
    out = console()
    out.print(t)
    if table.missing:
        out.print("not logged by this run: " + ", ".join(table.missing))
    if written:
        out.print(f"plot: {written}")
