"""``make demo``: the whole product, offline.

Starts the local emulator (moto + our extensions), deploys the real app with the real CDK CLI
(``cdk bootstrap`` + ``cdk deploy``), uploads the bundled sample datasets, starts an SFT and an
RLVR execution (the RLVR reward function is verified on samples by the real handler), shows their
progress and prints the result. Everything SageMaker does here is SIMULATED by the emulator.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

from sagemaker_finetuning.core.constants import TERMINAL_EXECUTION_STATUSES

STACK = "SageMakerFineTuning"
ACCOUNT = "123456789012"
DEMO_CONTEXT = {"destroyOnDelete": "true", "minPollSeconds": "1", "maxPollSeconds": "4", "maxRuntimeHours": "24"}
TERMINAL = set(TERMINAL_EXECUTION_STATUSES)


def repo_root() -> Path:
    """The clone this runs from (the demo deploys ``cdk_app`` with the pinned CLI)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "cdk.json").is_file() and (parent / "cdk_app").is_dir():
            return parent
    raise SystemExit("demo: run it from a clone of the repository (cdk.json and cdk_app/ not found)")


# ---------------------------------------------------------------------------------------- deploy
def cdk_env(emulator_env: Mapping[str, str]) -> dict[str, str]:
    env = {**os.environ, **emulator_env}
    env.update(CDK_DISABLE_VERSION_CHECK="1", CDK_DISABLE_CLI_TELEMETRY="true", JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
               CDK_DEFAULT_ACCOUNT=ACCOUNT, CDK_DEFAULT_REGION=emulator_env["AWS_REGION"])
    return env


def deploy_with_cdk_cli(emulator_env: Mapping[str, str], context: Mapping[str, str], outdir: Path, log: Any = None) -> float:
    """``cdk bootstrap`` + ``cdk deploy`` of the app against the emulator. Returns seconds taken."""
    root = repo_root()
    cdk = root / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        raise SystemExit("demo: the pinned CDK CLI is missing: run `make setup` (npm ci) first")
    env = cdk_env(emulator_env)
    ctx = [arg for k, v in context.items() for arg in ("-c", f"{k}={v}")]
    started = time.monotonic()
    common = ["--no-notices", "--output", str(outdir), "--app", f"{sys.executable} cdk_app/app.py"]
    for cmd in (
        [str(cdk), "bootstrap", f"aws://{ACCOUNT}/{env['AWS_REGION']}", *common, *ctx],
        [str(cdk), "deploy", STACK, "--require-approval", "never", "--progress", "events", *common, *ctx],
    ):
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
        if log is not None:
            log.write(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise RuntimeError(f"`{' '.join(cmd[1:3])}` failed (exit {proc.returncode}):\n{tail}")
    return time.monotonic() - started


def deploy_assembly(clients: Mapping[str, Any], assembly_dir: Path, stack: str = STACK, timeout: float = 120) -> None:
    """Deploy a synthesized stack the way the CDK CLI does, without the CLI (fast path for tests):
    publish the file assets to the bootstrap bucket, then CreateStack from a template URL."""
    s3, cfn, ssm = clients["s3"], clients["cloudformation"], clients["ssm"]
    manifest = json.loads((assembly_dir / f"{stack}.assets.json").read_text())
    buckets: set[str] = set()
    for asset in manifest.get("files", {}).values():
        source = assembly_dir / asset["source"]["path"]
        for dest in asset["destinations"].values():
            bucket = dest["bucketName"].replace("${AWS::AccountId}", ACCOUNT).replace("${AWS::Region}", s3.meta.region_name)
            if bucket not in buckets:
                try:
                    s3.create_bucket(Bucket=bucket)
                except s3.exceptions.BucketAlreadyOwnedByYou:
                    pass
                buckets.add(bucket)
            if asset["source"].get("packaging") == "zip":
                data = io.BytesIO()
                with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as zf:
                    for f in sorted(source.rglob("*")):
                        if f.is_file():
                            zf.write(f, f.relative_to(source).as_posix())
                body = data.getvalue()
            else:
                body = source.read_bytes()
            s3.put_object(Bucket=bucket, Key=dest["objectKey"], Body=body)
    ssm.put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="30", Type="String", Overwrite=True)
    template_bucket = sorted(buckets)[0] if buckets else "cdk-templates"
    if not buckets:
        s3.create_bucket(Bucket=template_bucket)
    s3.put_object(Bucket=template_bucket, Key=f"{stack}.template.json", Body=(assembly_dir / f"{stack}.template.json").read_bytes())
    url = f"{s3.meta.endpoint_url}/{template_bucket}/{stack}.template.json"
    cfn.create_stack(StackName=stack, TemplateURL=url, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
    deadline = time.monotonic() + timeout
    while True:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
            return
        if "FAILED" in status or "ROLLBACK" in status or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=stack)["StackEvents"][:10]
            raise RuntimeError(f"stack {stack} is {status}: " + "; ".join(f"{e['LogicalResourceId']} {e.get('ResourceStatusReason', '')}" for e in events))
        time.sleep(0.5)


def stack_outputs(cfn: Any, stack: str = STACK) -> dict[str, str]:
    """``{Key: value}`` from the stack's outputs (``FineTuningStateMachineArn`` -> ``StateMachineArn``)."""
    out: dict[str, str] = {}
    for item in cfn.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs") or []:
        key = item["OutputKey"]
        for name in ("StateMachineArn", "BucketName", "ModelPackageGroupName", "ExecutionRoleArn", "RewardEvaluatorArn", "JudgePromptEvaluatorArn"):
            if key.endswith(name):
                out[name] = item["OutputValue"]
    if "StateMachineArn" not in out or "BucketName" not in out:  # outputs missing: read the resources
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            for res in page["StackResourceSummaries"]:
                if res["ResourceType"] == "AWS::StepFunctions::StateMachine":
                    out.setdefault("StateMachineArn", res["PhysicalResourceId"])
                if res["ResourceType"] == "AWS::S3::Bucket" and "AccessLogs" not in res["LogicalResourceId"]:
                    out.setdefault("BucketName", res["PhysicalResourceId"])
    return out


def upload_samples(s3: Any, bucket: str) -> dict[str, str]:
    from sagemaker_finetuning.templates import samples

    uris = {}
    for name in samples.NAMES:
        key = f"datasets/{name}/train.jsonl"
        s3.put_object(Bucket=bucket, Key=key, Body=samples.path(name).read_bytes())
        uris[name] = f"s3://{bucket}/{key}"
    return uris


def wait_executions(sfn: Any, sm: Any, arns: Mapping[str, str], timeout: float, on_poll: Any = None) -> dict[str, dict[str, Any]]:
    """Poll until every execution is terminal; ``on_poll(label, execution, job)`` shows progress."""
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(arns):
        for label, arn in arns.items():
            if label in done:
                continue
            desc = sfn.describe_execution(executionArn=arn)
            job = _job_of(sfn, sm, arn)
            if on_poll:
                on_poll(label, desc, job)
            if desc["status"] in TERMINAL:
                done[label] = {"execution": desc, "job": job}
        if time.monotonic() > deadline:
            raise TimeoutError(f"executions still running after {timeout:.0f} s: {sorted(set(arns) - set(done))}")
        time.sleep(0.5)
    return done


def _job_of(sfn: Any, sm: Any, execution_arn: str) -> dict[str, Any] | None:
    events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=100)["events"]
    for ev in events:
        details = ev.get("taskScheduledEventDetails") or {}
        if "createTrainingJob" in details.get("resource", "") or "describeTrainingJob" in details.get("resource", ""):
            name = json.loads(details.get("parameters") or "{}").get("TrainingJobName")
            if name:
                try:
                    return sm.describe_training_job(TrainingJobName=name)
                except Exception:  # noqa: BLE001 - not created yet
                    return {"TrainingJobName": name}
    return None


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    import boto3
    from rich.console import Console
    from rich.table import Table

    from sagemaker_finetuning_emulator import Emulator

    parser = argparse.ArgumentParser(prog="python -m sagemaker_finetuning_emulator.demo", description=__doc__)
    parser.add_argument("--job-seconds", type=float, default=8.0, help="simulated duration of each training job (default 8)")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up on the executions after this many seconds")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 160))
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # the emulator's own logs stay quiet
    warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)  # moto: types it skips
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="finetune-demo-"))
    log_path = workdir / "cdk.log"
    try:
        with Emulator(port=0, job_seconds=args.job_seconds) as emu, open(log_path, "w") as log:
            console.print(f"[bold]SIMULATED[/] AWS (moto + sagemaker_finetuning_emulator) on {emu.endpoint_url}")
            seconds = deploy_with_cdk_cli(emu.client_env(), DEMO_CONTEXT, workdir / "cdk.out", log)
            console.print(f"cdk bootstrap + cdk deploy {STACK}: done in {seconds:.1f} s (real CDK CLI, real template)")
            kw = emu.client_kwargs()
            cfn, s3, sfn, sm = (boto3.client(n, **kw) for n in ("cloudformation", "s3", "stepfunctions", "sagemaker"))
            outputs = stack_outputs(cfn)
            uris = upload_samples(s3, outputs["BucketName"])
            console.print(f"uploaded sample datasets to s3://{outputs['BucketName']}/datasets/")
            runs = {
                "SFT": {"technique": "SFT", "training_dataset": uris["sft"]},
                "RLVR": {"technique": "RLVR", "training_dataset": uris["rlvr"]},
            }
            arns = {label: sfn.start_execution(stateMachineArn=outputs["StateMachineArn"], name=f"demo-{label.lower()}-{int(time.time())}",
                                               input=json.dumps(inp))["executionArn"] for label, inp in runs.items()}
            last: dict[str, str] = {}

            def show(label: str, desc: dict[str, Any], job: dict[str, Any] | None) -> None:
                progress = ""
                if job and job.get("TrainingJobStatus"):
                    info = job.get("ProgressInfo") or {}
                    progress = f"job {job['TrainingJobStatus']}/{job.get('SecondaryStatus')}"
                    if info:
                        progress += (f" epoch {info.get('CurrentEpoch', 0)}/{info.get('MaxEpoch', '?')}"
                                     f" step {info.get('CurrentStep', 0)}/{info.get('TotalStepCountPerEpoch', '?')}")
                line = f"{desc['status']} {progress}".strip()
                if last.get(label) != line:
                    last[label] = line
                    console.print(f"  [cyan]{label:5}[/] {line}")

            results = wait_executions(sfn, sm, arns, args.timeout, show)
            table = Table(title="Fine-tuning runs (SIMULATED training on the local emulator)", show_lines=True)
            for col in ("run", "execution", "training job", "job status", "output model package"):
                table.add_column(col, overflow="fold")
            ok = True
            for label, res in results.items():
                ex = res["execution"]
                output = json.loads(ex.get("output") or "{}")
                ok &= ex["status"] == "SUCCEEDED"
                table.add_row(label, ex["status"], output.get("training_job_name") or (res["job"] or {}).get("TrainingJobName", "-"),
                              output.get("status") or "-", output.get("output_model_package_arn") or ex.get("cause", "-"))
            console.print(table)
            console.print(f"demo finished in {time.monotonic() - started:.1f} s; CDK log: {log_path}")
            return 0 if ok else 1
    except (RuntimeError, TimeoutError, OSError) as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        console.print(f"CDK log: {log_path}")
        return 1
    finally:
        shutil.rmtree(workdir / "cdk.out", ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
