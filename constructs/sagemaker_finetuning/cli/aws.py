"""AWS access for the CLI: clients, the stack's state machine, executions and their training job.

Works against AWS and a local emulator alike: boto3 honours ``AWS_ENDPOINT_URL`` (and the
per-service ``AWS_ENDPOINT_URL_<SERVICE>``), so nothing here names an endpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from sagemaker_finetuning.cli.errors import CliError
from sagemaker_finetuning.core.constants import TERMINAL_EXECUTION_STATUSES, TERMINAL_JOB_STATUSES

TERMINAL_EXECUTION = TERMINAL_EXECUTION_STATUSES
TERMINAL_JOB = TERMINAL_JOB_STATUSES
STATE_MACHINE_OUTPUT = "StateMachineArn"
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"
_JOB_NAME_KEYS = ("training_job_name", "TrainingJobName", "trainingJobName")
_JOB_ARN_KEYS = ("training_job_arn", "TrainingJobArn", "trainingJobArn")
MAX_HISTORY_PAGES = 20


@dataclass
class Aws:
    stack: str = "SageMakerFineTuning"
    state_machine_arn: str | None = None
    region: str | None = None
    profile: str | None = None
    _session: Any = field(default=None, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            import boto3
            from botocore.config import Config

            if self._session is None:
                self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
            cfg = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10, read_timeout=60)
            self._clients[service] = self._session.client(service, config=cfg)
        return self._clients[service]

    # ---- the state machine -----------------------------------------------------------------

    def find_state_machine(self) -> str:
        """The stack's state machine ARN: the ``StateMachineArn`` output, else its resource."""
        if self.state_machine_arn:
            return self.state_machine_arn
        from botocore.exceptions import ClientError

        cfn = self.client("cloudformation")
        try:
            stacks = cfn.describe_stacks(StackName=self.stack).get("Stacks", [])
        except ClientError as e:
            msg = e.response.get("Error", {}).get("Message", "")
            if "does not exist" in msg or e.response.get("Error", {}).get("Code") == "ValidationError":
                raise CliError(
                    f"stack {self.stack!r} not found in {self._region()}: deploy it first, or pass "
                    "--stack NAME / --state-machine-arn ARN"
                ) from None
            raise
        outputs = (stacks[0].get("Outputs") if stacks else None) or []
        for out in outputs:
            if out.get("OutputKey") == STATE_MACHINE_OUTPUT:
                self.state_machine_arn = out["OutputValue"]
                return self.state_machine_arn
        for out in outputs:  # a prefixed key (nested stacks, CDK paths)
            if str(out.get("OutputKey", "")).endswith(STATE_MACHINE_OUTPUT):
                self.state_machine_arn = out["OutputValue"]
                return self.state_machine_arn
        found = []
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=self.stack):
            for res in page.get("StackResourceSummaries", []):
                if res.get("ResourceType") == STATE_MACHINE_TYPE and res.get("PhysicalResourceId"):
                    found.append(res)
        if not found:
            raise CliError(
                f"stack {self.stack!r} has no {STATE_MACHINE_OUTPUT} output and no state machine resource; "
                "pass --state-machine-arn"
            )
        if len(found) > 1:
            names = ", ".join(r["LogicalResourceId"] for r in found)
            raise CliError(f"stack {self.stack!r} has {len(found)} state machines ({names}); pass --state-machine-arn")
        physical = found[0]["PhysicalResourceId"]
        self.state_machine_arn = physical if physical.startswith("arn:") else self._state_machine_by_name(physical)
        return self.state_machine_arn

    def _state_machine_by_name(self, name: str) -> str:
        sfn = self.client("stepfunctions")
        for page in sfn.get_paginator("list_state_machines").paginate():
            for sm in page.get("stateMachines", []):
                if sm.get("name") == name:
                    return sm["stateMachineArn"]
        raise CliError(f"state machine {name!r} of stack {self.stack!r} not found")

    def _region(self) -> str:
        try:
            return self.client("stepfunctions").meta.region_name
        except Exception:  # noqa: BLE001 - only for a message
            return self.region or "the configured region"

    # ---- executions ------------------------------------------------------------------------

    def execution_arn(self, execution: str | None) -> str:
        """An ARN from an ARN, an execution name (of the stack's state machine), or None (latest)."""
        if execution and execution.startswith("arn:"):
            if ":execution:" not in execution:
                raise CliError(f"{execution!r} is not an execution ARN (arn:aws:states:...:execution:...)")
            return execution
        sm = self.find_state_machine()
        if execution:
            prefix = sm.replace(":stateMachine:", ":execution:", 1)
            return f"{prefix}:{execution}"
        executions = newest_first(self.client("stepfunctions").list_executions(
            stateMachineArn=sm, maxResults=100).get("executions", []))
        if not executions:
            raise CliError(f"state machine {sm} has no executions yet; start one with 'finetune start'")
        return executions[0]["executionArn"]

    def describe_execution(self, arn: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.client("stepfunctions").describe_execution(executionArn=arn)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "ResourceNotFoundException"):
                raise CliError(f"execution not found: {arn}") from None
            raise

    def history(self, arn: str) -> Iterator[dict[str, Any]]:
        """History events, newest first (bounded)."""
        sfn = self.client("stepfunctions")
        token = None
        for _ in range(MAX_HISTORY_PAGES):
            kwargs: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 200}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            yield from page.get("events", [])
            token = page.get("nextToken")
            if not token:
                return

    def training_job_name(self, execution: dict[str, Any]) -> str | None:
        """The training job an execution started, or None if it has not started one (yet)."""
        name = job_name_from_document(execution.get("output"))
        if name:
            return name
        name = job_name_from_events(self.history(execution["executionArn"]))
        if name:
            return name
        return job_name_from_document(execution.get("input"), keys=("training_job_name",))

    def describe_training_job(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client("sagemaker").describe_training_job(TrainingJobName=name)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
                return None  # not created yet, or in another region
            raise


def newest_first(executions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AWS lists newest first; emulators may not: sort by start date (stable for ties)."""
    from datetime import datetime, timezone

    floor = datetime.min.replace(tzinfo=timezone.utc)

    def key(e: dict[str, Any]) -> datetime:
        d = e.get("startDate")
        if not isinstance(d, datetime):
            return floor
        return d if d.tzinfo else d.replace(tzinfo=timezone.utc)

    return sorted(executions, key=key, reverse=True)


# ---- finding the job name, defensively --------------------------------------------------------


def _parse(doc: Any) -> Any:
    if isinstance(doc, (dict, list)):
        return doc
    if isinstance(doc, str) and doc[:1] in ("{", "["):
        try:
            return json.loads(doc)
        except ValueError:
            return None
    return None


def _search(obj: Any, keys: tuple[str, ...], arn_keys: tuple[str, ...], depth: int = 0) -> str | None:
    if depth > 8:
        return None
    if isinstance(obj, dict):
        for k in keys:
            v = obj.get(k)
            if isinstance(v, str) and v:
                return v
        for k in arn_keys:
            v = obj.get(k)
            if isinstance(v, str) and "training-job/" in v:
                return v.rsplit("training-job/", 1)[1]
        for v in obj.values():
            if isinstance(v, (dict, list)) or (isinstance(v, str) and v[:1] in ("{", "[")):
                found = _search(_parse(v), keys, arn_keys, depth + 1)
                if found:
                    return found
    elif isinstance(obj, list):
        for v in obj:
            found = _search(v, keys, arn_keys, depth + 1)
            if found:
                return found
    return None


def job_name_from_document(doc: Any, keys: tuple[str, ...] = _JOB_NAME_KEYS) -> str | None:
    """``training_job_name`` (or TrainingJobName / a TrainingJobArn) anywhere in a JSON document."""
    return _search(_parse(doc), keys, _JOB_ARN_KEYS if keys == _JOB_NAME_KEYS else ())


def job_name_from_events(events: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> str | None:
    """The job name from an execution history (newest first): a CreateTrainingJob task's
    scheduled parameters / submitted or succeeded output, or any state output naming it."""
    for ev in events:
        for key in ("taskSucceededEventDetails", "taskSubmittedEventDetails"):
            d = ev.get(key)
            if d and str(d.get("resource", "")).startswith("createTrainingJob"):
                name = job_name_from_document(d.get("output"))
                if name:
                    return name
        d = ev.get("taskScheduledEventDetails")
        if d and str(d.get("resource", "")).startswith("createTrainingJob"):
            name = job_name_from_document(d.get("parameters"))
            if name:
                return name
        for key in ("taskSucceededEventDetails", "stateExitedEventDetails", "lambdaFunctionSucceededEventDetails"):
            d = ev.get(key)
            if d:
                name = job_name_from_document(d.get("output"))
                if name:
                    return name
    return None


def progress_of(job: dict[str, Any]) -> dict[str, int] | None:
    """``{epoch, max_epoch, step, steps_per_epoch, done, total}`` from ProgressInfo, if usable."""
    info = job.get("ProgressInfo") or {}
    try:
        max_epoch = int(info.get("MaxEpoch") or 0)
        spe = int(info.get("TotalStepCountPerEpoch") or 0)
        epoch = int(info.get("CurrentEpoch") or 0)
        step = int(info.get("CurrentStep") or 0)
    except (TypeError, ValueError):
        return None
    if max_epoch <= 0 or spe <= 0:
        return None
    total = max_epoch * spe
    # As SDK v3 computes it: epochs are 1-based, the step counts within the epoch.
    done = max(0, min(total, (max(epoch, 1) - 1) * spe + step))
    if job.get("TrainingJobStatus") == "Completed":
        done = total
    return {"epoch": epoch, "max_epoch": max_epoch, "step": step, "steps_per_epoch": spe,
            "done": done, "total": total}
