"""The workflow's Lambda entry points: thin shells that adapt events and call pure code.

One function, one handler per state (the state machine names them):
``validate``, ``resolve``, ``plan``, ``verify_reward``, ``summarize`` (states of the execution),
``on_training_job_event`` (EventBridge: SageMaker Training Job State Change -> wake the waiting
execution) and ``on_execution_end`` (EventBridge: Step Functions Execution Status Change ->
stop the training job of an aborted / timed-out / failed execution).
"""

from __future__ import annotations

import json
import logging
import os
import time
from functools import lru_cache
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_finetuning.core import evaluators as ev
from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core import reward_contract
from sagemaker_finetuning.core.budget import chars_per_token, check_budget, estimate_tokens
from sagemaker_finetuning.core.constants import EXECUTION_TAG, STACK_TAG, TERMINAL_EXECUTION_STATUSES, is_nova_model
from sagemaker_finetuning.core.datasets.preflight import HEAD_BYTES, first_records_problem, head_lines
from sagemaker_finetuning.core.datasets.whole import dataset_summary
from sagemaker_finetuning.core.errors import (
    AccessNotGranted,
    DatasetAccessDenied,
    DatasetNotFound,
    FineTuningInputError,
    InvalidInput,
    ModelNotFound,
    RewardFunctionNotAllowed,
    RewardFunctionVerificationFailed,
    TrainingJobNameInUse,
    combined,
)
from sagemaker_finetuning.core.naming import run_key
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, select_recipe
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.tracking import (
    OUTPUT_KEYS,
    created_by,
    first_tracking,
    job_ended,
    json_safe,
    next_tracking,
    summarize_job,
    sweep_verdict,
    tag_map,
    waiter_key_for_execution,
    waiter_key_for_job,
)
from sagemaker_finetuning.core.validation import TRAINING_JOB_ARN, source_package_problems

from . import evaluation as evaluation_steps
from . import sweep_steps
from .dataset_validation import list_parts, merge_parts, validate_part

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, user_agent_extra="sagemaker-finetuning-constructs")
_DENIED = ("AccessDenied", "AccessDeniedException")
_NOT_FOUND = ("ResourceNotFound", "ResourceNotFoundException", "ValidationException", "NoSuchKey", "NoSuchBucket", "404")


@lru_cache(maxsize=None)
def _client(name: str) -> Any:
    return boto3.client(name, config=_CONFIG)


@lru_cache(maxsize=1)
def settings() -> StackSettings:
    return StackSettings.from_env()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# ----------------------------------------------------------------------------- execution states
def validate(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State ValidateInput: schema + stack-level checks, no AWS call. A FineTuningJob's run (``fragment``) is one
    run: a sweep runs in the workflow's own state machine."""
    inp = P.validate_input(event.get("input"), settings())
    if event.get("fragment") and "sweep" in inp:
        raise InvalidInput("sweep", inp["sweep"], "no value in a FineTuningJob (one run): sweeps run in the workflow's own state machine "
                                                  "(ServerlessFineTuning's), which trains each configuration in a child execution")
    return {"input": inp}


def _describe_model_source(describe: Callable[[Any], dict[str, Any]], arn: str, *, missing: str, denied: str) -> dict[str, Any]:
    """A Describe call for the ``model`` input (a package or a job): not found -> ModelNotFound, denied -> AccessNotGranted."""
    try:
        return describe(_client("sagemaker"))
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            raise ModelNotFound("model", arn, missing) from exc
        if _code(exc) in _DENIED:
            raise AccessNotGranted("model", arn, denied) from exc
        raise


def _describe_package(arn: str) -> tuple[str, str]:
    pkg = _describe_model_source(
        lambda sm: sm.describe_model_package(ModelPackageName=arn), arn,
        missing="an existing model package produced by fine-tuning",
        denied="a model package of a group this stack may read (SageMaker answered AccessDenied)")
    try:
        base = pkg["InferenceSpecification"]["Containers"][0]["BaseModel"]["HubContentName"]
    except (KeyError, IndexError) as exc:
        raise InvalidInput(
            "model", arn, "a model package fine-tuned from a SageMakerPublicHub model (its InferenceSpecification names no base model)"
        ) from exc
    return base, pkg["ModelPackageGroupName"]


def _job_package(arn: str) -> str:
    """The output model package of the training job ``arn`` (continued customization from a job)."""
    name = arn.rsplit("/", 1)[1]
    job = _describe_model_source(
        lambda sm: sm.describe_training_job(TrainingJobName=name), arn,
        missing="an existing training job of this account and region",
        denied="a training job of this stack (the workflow reads only jobs carrying its tag)")
    package = job.get("OutputModelPackageArn")
    if job.get("TrainingJobStatus") != "Completed" or not package:
        raise InvalidInput("model", arn, f"a training job that completed and registered a model package (it is {job.get('TrainingJobStatus')}"
                           + ("" if package else ", with no output model package") + ")")
    problems = source_package_problems(package, settings(), received=arn)
    if problems:
        raise combined(problems)
    return str(package)


def _s3_json(uri: str) -> Any:
    bucket, key = uri[5:].split("/", 1)
    body = _client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


def _hub_model(model_id: str, cfg: StackSettings) -> dict[str, Any]:
    """DescribeHubContent of the base model; an unknown id is ModelNotFound."""
    try:
        desc: dict[str, Any] = _client("sagemaker").describe_hub_content(HubName=cfg.hub_name, HubContentType="Model", HubContentName=model_id)
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            raise ModelNotFound("model", model_id, f"a model id of hub {cfg.hub_name} (DescribeHubContent found none)") from exc
        raise
    return desc


def resolve(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State ResolveBaseModel: hub document, recipe override params, reward function target."""
    inp, cfg = event["input"], settings()
    extra: dict[str, Any] = {}
    model_id = inp["model"]
    if P.is_continued(inp):
        package = _job_package(inp["model"]) if TRAINING_JOB_ARN.match(inp["model"]) else inp["model"]
        model_id, group = _describe_package(package)
        extra.update(source_model_package_arn=package, source_model_package_group=group)
    desc = _hub_model(model_id, cfg)
    document = json.loads(desc["HubContentDocument"])
    fn = inp.get("custom_reward_function")
    if inp["technique"] == "RLVR" and fn:
        if fn.startswith("arn:") and ":lambda:" in fn:
            extra["reward_lambda_arn"] = fn
        else:
            extra["reward_lambda_arn"] = _evaluator_target(fn, cfg)
    resolved = P.ResolvedModel.from_hub(desc, document, **extra)
    recipe = select_recipe(resolved.recipes, resolved.model_id, inp["technique"], inp["training_type"], inp.get("sequence_length"))
    params = _s3_json(recipe[OVERRIDE_PARAMS_KEY]) if recipe.get(OVERRIDE_PARAMS_KEY) else {}
    return {"resolved": resolved.to_dict(), "override_params": params}


def resolve_evaluation_target(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State ResolveEvaluationTarget (mode evaluate): the model to evaluate (a package, the package a job
    registered, or a hub base model), its base model's hub ARN, and the run's output document so far."""
    inp, cfg = event["input"], settings()
    package = group_arn = None
    model_id = inp["model"]
    if P.is_continued(inp):
        package = _job_package(inp["model"]) if TRAINING_JOB_ARN.match(inp["model"]) else inp["model"]
        model_id, group = _describe_package(package)
        group_arn = cfg.group_arn(group)
    desc = _hub_model(model_id, cfg)
    output = dict.fromkeys(OUTPUT_KEYS)
    output.update(output_model_package_arn=package, model_package_group_arn=group_arn, base_model=model_id, secondary_status_transitions=[])
    target = {"model_id": model_id, "base_model_arn": desc["HubContentArn"], "model_package_arn": package, "model_package_group_arn": group_arn}
    return {"input": inp, "evaluation_target": target, "output": output}


def _evaluator_target(evaluator_arn: str, cfg: StackSettings) -> str:
    if evaluator_arn in cfg.reward_evaluators:
        return cfg.reward_evaluators[evaluator_arn]
    try:
        desc = _client("sagemaker").describe_hub_content(**ev.parse_hub_content_arn(evaluator_arn))
    except (ClientError, ValueError) as exc:
        raise InvalidInput("custom_reward_function", evaluator_arn, "an existing RewardFunction evaluator") from exc
    target = ev.reference_of(desc)
    base = target.split(":function:")[0] + ":function:" + target.split(":function:")[-1].split(":")[0] if ":function:" in target else target
    if base not in cfg.reward_function_arns:
        raise RewardFunctionNotAllowed(
            "custom_reward_function", evaluator_arn,
            f"an evaluator whose Lambda this stack may invoke ({', '.join(cfg.reward_function_arns) or 'none'}); it refers to {target}",
        )
    return target


def check_datasets(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State CheckDatasets: each dataset exists (an S3 object, a prefix holding data, or a hub
    DataSet) and, for S3, its first records are in the technique's format — before any spend."""
    inp, model_id = event["input"], event["resolution"]["resolved"]["model_id"]
    checked: dict[str, Any] = {}
    problems: list[FineTuningInputError] = []
    for field in ("training_dataset", "validation_dataset"):
        uri = inp.get(field)
        if not uri:
            continue
        try:
            checked[field] = _check_dataset(field, uri, inp["technique"], model_id)
        except FineTuningInputError as error:
            problems.append(error)
    if problems:
        raise combined(problems)
    return checked


def _check_dataset(field: str, uri: str, technique: str, model_id: str) -> dict[str, Any]:
    if uri.startswith("arn:"):
        try:
            _client("sagemaker").describe_hub_content(**ev.parse_hub_content_arn(uri))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise DatasetNotFound(field, uri, "an existing hub DataSet (DescribeHubContent found none)") from exc
            raise
        return {"dataset": uri}
    bucket, key, size = _dataset_object(field, uri)
    body = _client("s3").get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{HEAD_BYTES - 1}")["Body"].read()
    lines = head_lines(body, complete=size <= HEAD_BYTES)
    problem = first_records_problem(field, uri, lines, technique, model_id)
    if problem is not None:
        raise problem
    return {"object": f"s3://{bucket}/{key}", "bytes": size, "records_checked": len(lines)}


def _dataset_object(field: str, uri: str) -> tuple[str, str, int]:
    """(bucket, key, size) of the dataset object, or of the first non-empty object under the prefix."""
    s3 = _client("s3")
    bucket, _, key = uri[5:].partition("/")
    try:
        if key and not key.endswith("/"):
            try:
                return bucket, key, int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            except ClientError as exc:
                if _code(exc) not in _NOT_FOUND:
                    raise
                key += "/"  # maybe a prefix written without its trailing slash
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1000).get("Contents", [])
    except ClientError as exc:
        if _code(exc) in ("AccessDenied", "403", "AllAccessDisabled"):
            raise DatasetAccessDenied(field, uri, "a dataset the workflow may read (S3 answered AccessDenied)") from exc
        if _code(exc) == "NoSuchBucket":
            raise DatasetNotFound(field, uri, "an S3 object in an existing bucket (the bucket does not exist)") from exc
        raise
    objects = sorted((o["Key"], int(o.get("Size", 0))) for o in listing if not o["Key"].endswith("/") and o.get("Size", 0) > 0)
    if not objects:
        raise DatasetNotFound(field, uri, "an S3 object, or a prefix holding at least one non-empty object")
    return bucket, objects[0][0], objects[0][1]


def plan(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State PlanTrainingJob: the exact CreateTrainingJob request (pure planner)."""
    inp, cfg = event["input"], settings()
    resolved = P.ResolvedModel.from_dict(event["resolution"]["resolved"])
    # A fragment's run (FineTuningJob) names its job after the fragment and its input too: many runs, one execution.
    key = run_key(event["fragment"], inp) if event.get("fragment") else ""
    request = P.plan_training_job(inp, resolved, event["resolution"]["override_params"], cfg, event["execution_arn"], key)
    reward_lambda = resolved.reward_lambda_arn
    verify = bool(
        inp["technique"] == "RLVR" and inp.get("verify_reward_function", True) and reward_lambda
        and inp["training_dataset"].startswith("s3://")
    )
    limits = json.loads(os.environ.get("FINETUNE_TRACKING", '{"min_wait_seconds": 60, "max_wait_seconds": 900}'))
    budget = plan_budget(inp, request, resolved.model_id, dataset_summary(event.get("dataset_validation")))
    return {
        "input": inp,
        "plan": {
            "training_job_name": request["TrainingJobName"],
            "request": request,
            "verify_reward": verify,
            "reward_lambda_arn": reward_lambda,
            "reward_samples": inp.get("reward_verification_samples", 3),
            "reward_contract": "nova" if is_nova_model(resolved.model_id) else "open-weights",
            "expires_at": str(int(time.time()) + int(inp["max_runtime_in_seconds"]) + 7 * 86400),
            "base_model": resolved.model_id,
            "dataset": dataset_summary(event.get("dataset_validation")),
            "budget": budget,
        },
        # TrackTrainingJob's state: the polling interval, and what ended the last wait.
        "track": {"tracking": first_tracking(limits["min_wait_seconds"], limits["max_wait_seconds"])},
        "wake": {"source": "launch"},
    }


def plan_budget(inp: dict[str, Any], request: dict[str, Any], model_id: str, summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The run's token estimate and budget (``BudgetExceeded`` above it: before anything is launched)."""
    epochs = int(str(request.get("HyperParameters", {}).get("max_epochs", "1")) or 1)
    estimate = estimate_tokens(summary, epochs, model_id)
    max_tokens = (inp.get("budget") or {}).get("max_tokens")
    check_budget(max_tokens, estimate)
    if estimate is None:
        return None
    return {"max_tokens": max_tokens, "estimated_tokens": estimate, "epochs": epochs, "chars_per_token": chars_per_token(model_id)}


def _read_samples(uri: str, count: int) -> list[dict[str, Any]]:
    s3 = _client("s3")
    bucket, _, key = uri[5:].partition("/")
    if not key.endswith((".jsonl", ".json")):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1000)
        keys = [o["Key"] for o in listing.get("Contents", []) if o["Key"].endswith(".jsonl")]
        if not keys:
            raise RewardFunctionVerificationFailed("training_dataset", uri, "an S3 object or prefix holding .jsonl training data")
        key = sorted(keys)[0]
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        raise RewardFunctionVerificationFailed("training_dataset", uri, f"a readable S3 object ({_code(exc)})") from exc
    samples: list[dict[str, Any]] = []
    for number, raw in enumerate(body.iter_lines(), start=1):
        line = raw.decode("utf-8-sig").strip()
        if not line:
            continue
        try:
            samples.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RewardFunctionVerificationFailed(f"training_dataset line {number}", line[:80], "one JSON object per line") from exc
        if len(samples) >= count:
            break
    if not samples:
        raise RewardFunctionVerificationFailed("training_dataset", uri, "at least one JSONL sample")
    return samples


def verify_reward(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State VerifyRewardFunction: invoke the reward Lambda on a few samples, check its contract."""
    plan_ = event["plan"]
    samples = _read_samples(event["input"]["training_dataset"], int(plan_["reward_samples"]))
    contract = plan_["reward_contract"]
    # SDK v3's verify_reward_function sends the samples as a bare JSON list, whatever the contract.
    response = _client("lambda").invoke(FunctionName=plan_["reward_lambda_arn"], Payload=json.dumps(samples).encode())
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        raise RewardFunctionVerificationFailed(
            "custom_reward_function", plan_["reward_lambda_arn"], "a function that answers without error",
            f"It raised: {raw[:500].decode('utf-8', 'replace')}",
        )
    try:
        reply = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RewardFunctionVerificationFailed("custom_reward_function", raw[:200], "a JSON reply") from exc
    report = reward_contract.check_reply(samples, reply, contract)
    if not report.ok:
        raise RewardFunctionVerificationFailed(
            "custom_reward_function", plan_["reward_lambda_arn"], f"replies that follow the {contract} reward contract",
            "Violations: " + "; ".join(report.violations[:5]),
        )
    return {"samples": len(samples), "scores": report.scores, "contract": contract}


def track(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State TrackTrainingJob: describe the run's job and set the next polling interval. Once the job
    ended, mark its waiter item ``ended``: WaitForJobEvent's conditional put then fails at once, which
    leaves the loop (two states per cycle, no Choice in it)."""
    name = event["job_name"]
    job = json_safe(_client("sagemaker").describe_training_job(TrainingJobName=name))
    if job_ended(job):
        try:
            _client("dynamodb").put_item(TableName=_table(), Item={
                "pk": {"S": waiter_key_for_job(name)}, "ended": {"S": job["TrainingJobStatus"]},
                "execution": {"S": event["execution_arn"]}, "expires_at": {"N": str(event["expires_at"])},
            })
        except ClientError as exc:  # the wait then registers and times out; the next cycle marks it again
            LOG.warning("could not mark %s ended in the waiter table: %s", name, exc)
    return {"job": job, "tracking": next_tracking(event["tracking"], event.get("wake"))}


def summarize(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State SummarizeResult: the execution's output for a completed job."""
    out = summarize_job(event["job"])
    budget = event["plan"].get("budget")
    out.update(technique=event["input"]["technique"], base_model=event["plan"]["base_model"], dataset=event["plan"].get("dataset"),
               budget=None if budget is None else {**budget, "billable_token_count": out["billable_token_count"]},
               evaluation=None,  # GateEvaluation fills it in when the input asks for an evaluation
               sweep=None)  # a single run (SummarizeSweep makes a sweep's output from its best run's)
    return out


def _job_arn(name: str) -> str:
    cfg = settings()
    return f"arn:{cfg.partition}:sagemaker:{cfg.region}:{cfg.account}:training-job/{name}"


def _job_tags(name: str) -> dict[str, str] | None:
    """The job's tags; None when the stack may not read them (IAM allows only jobs of this stack)."""
    try:
        return tag_map(_client("sagemaker").list_tags(ResourceArn=_job_arn(name), MaxResults=100).get("Tags"))
    except ClientError as exc:
        if _code(exc) in _DENIED:
            return None
        raise


def adopt(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """State VerifyJobOwnership (CreateTrainingJob answered ResourceInUse): track the existing job only
    if this execution created it (a retried create or a redrive); anything else touches nothing."""
    name, execution_arn = event["plan"]["training_job_name"], event["execution_arn"]
    tags = _job_tags(name)
    if tags is None or not created_by(tags, settings().stack_id, execution_arn):
        raise TrainingJobNameInUse(
            "training_job_name", name, "a name no existing training job has (this job was not created by this execution)",
            "Choose another training_job_name, or leave it out: the workflow derives a unique one from the execution",
        )
    return {"adopted": name}


_STEPS = {"validate": validate, "resolve": resolve, "check_datasets": check_datasets, "plan": plan, "adopt": adopt,
          "track": track, "summarize": summarize, "list_dataset_parts": list_parts, "validate_dataset_part": validate_part,
          "merge_dataset_parts": merge_parts, "plan_evaluation": evaluation_steps.plan,
          "launch_evaluation_job": evaluation_steps.launch, "gate_evaluation": evaluation_steps.gate,
          "resolve_evaluation_target": resolve_evaluation_target, "plan_sweep": sweep_steps.plan, "record_trial": sweep_steps.record,
          "summarize_sweep": sweep_steps.summarize}


def step(event: dict[str, Any], context: Any = None) -> dict[str, Any] | None:
    """Entry point of the Steps function: ``event["step"]`` names the state's work (a fanned-out
    dataset part returns nothing: its result is in S3)."""
    name = event.get("step")
    if name not in _STEPS:
        raise ValueError(f"step: received {name!r}; expected one of {', '.join(_STEPS)}")
    return _STEPS[name](event, context)


# ----------------------------------------------------------------------------- EventBridge targets
def _table() -> str:
    return os.environ["WAITER_TABLE"]


def on_training_job_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """SageMaker Training Job State Change -> send the waiting execution its task token."""
    detail = event.get("detail") or {}
    name = detail.get("TrainingJobName")
    if not name:
        return {"ignored": "no TrainingJobName"}
    ddb = _client("dynamodb")
    item = ddb.get_item(TableName=_table(), Key={"pk": {"S": waiter_key_for_job(name)}}, ConsistentRead=True).get("Item")
    if not item or "token" not in item:
        return {"ignored": f"no execution is waiting for {name}"}
    token = item["token"]["S"]
    output = json.dumps({"source": "event", "status": detail.get("TrainingJobStatus"), "secondary_status": detail.get("SecondaryStatus")})
    try:
        _client("stepfunctions").send_task_success(taskToken=token, output=output)
        woke = True
    except ClientError as exc:
        if _code(exc) not in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
            raise
        woke = False  # the wait already timed out; the polling safety net describes the job
    try:
        ddb.delete_item(
            TableName=_table(), Key={"pk": {"S": waiter_key_for_job(name)}},
            ConditionExpression="#t = :t", ExpressionAttributeNames={"#t": "token"}, ExpressionAttributeValues={":t": {"S": token}},
        )
    except ClientError as exc:
        if _code(exc) != "ConditionalCheckFailedException":
            raise
    return {"job": name, "woke": woke}


def on_execution_end(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Execution ended: stop the training jobs of an ABORTED / TIMED_OUT / FAILED execution (no
    orphan keeps billing), then notify the topic (if any) of every terminal state of the stack's
    own state machine, and of executions of other machines (embedding a FineTuningJob) that ran jobs."""
    detail = event.get("detail") or {}
    execution_arn = detail.get("executionArn")
    if detail.get("status") not in TERMINAL_EXECUTION_STATUSES or not execution_arn:
        return {"ignored": detail.get("status")}
    item = _client("dynamodb").get_item(
        TableName=_table(), Key={"pk": {"S": waiter_key_for_execution(execution_arn)}}, ConsistentRead=True
    ).get("Item")
    names = recorded_jobs(item)
    own_machine = detail.get("stateMachineArn") == os.environ.get("STATE_MACHINE_ARN")
    if not names and not own_machine:
        return {"ignored": "no training job recorded for this execution"}
    # A name taken by a job this execution did not create (TrainingJobNameInUse) is not ours to stop, nor to report.
    ours = [n for n in names if _ours(n, execution_arn)]
    for name in sorted(set(names) - set(ours)):
        LOG.info("training job %s was not created by %s: left alone", name, execution_arn)
    stop = detail["status"] != "SUCCEEDED"
    results: list[dict[str, Any]] = [_stop_job(n, detail["status"], execution_arn) if stop else {"job": n, "stopped": False} for n in ours]
    if stop:  # a sweep's configurations run in child executions of its Distributed Map, which record their own jobs
        results += [_stop_job(n, detail["status"], child) for child, n in _child_jobs(execution_arn)]
    result: dict[str, Any] = dict(results[0]) if len(results) == 1 else {"job": None, "stopped": any(r["stopped"] for r in results)}
    result["jobs"] = results
    topic = os.environ.get("NOTIFICATION_TOPIC_ARN")
    if topic:
        message = notification(detail, ours[0] if len(ours) == 1 else None, result)
        _client("sns").publish(TopicArn=topic, Subject=message["subject"][:100], Message=json.dumps(message, indent=2, default=str))
        result["notified"] = True
    return result


def _child_jobs(execution_arn: str) -> list[tuple[str, str]]:
    """(child execution, job) of every job the child executions of the execution's Map Runs created (a sweep's
    trials). Step Functions stops the children of an aborted execution; their jobs are stopped here."""
    sfn, found = _client("stepfunctions"), []
    try:
        runs = [r["mapRunArn"] for page in sfn.get_paginator("list_map_runs").paginate(executionArn=execution_arn) for r in page.get("mapRuns", [])]
        children = [e["executionArn"] for run in runs for page in sfn.get_paginator("list_executions").paginate(mapRunArn=run)
                    for e in page.get("executions", [])]
    except ClientError as exc:  # the sweeper still stops them: their executions no longer run
        LOG.warning("could not list the child executions of %s: %s", execution_arn, exc)
        return []
    ddb = _client("dynamodb")
    for child in children:
        item = ddb.get_item(TableName=_table(), Key={"pk": {"S": waiter_key_for_execution(child)}}, ConsistentRead=True).get("Item")
        found += [(child, name) for name in recorded_jobs(item) if _ours(name, child)]
    return found


def recorded_jobs(item: dict[str, Any] | None) -> list[str]:
    """The jobs an execution recorded (RecordExecutionJob): the ``job_names`` string set, and the
    single ``job_name`` of items written before fragments existed."""
    if not item:
        return []
    names = set((item.get("job_names") or {}).get("SS") or [])
    if "job_name" in item:
        names.add(item["job_name"]["S"])
    return sorted(names)


def _ours(name: str, execution_arn: str) -> bool:
    try:
        tags = _job_tags(name)
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return False  # never created
        raise
    return tags is not None and created_by(tags, settings().stack_id, execution_arn)


def sweep(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Scheduled: stop the running jobs of this stack whose execution no longer runs (a lost clean-up
    event must not leave a job billing). Jobs of other stacks, or of running executions, are left alone."""
    sm, sfn, stack_id = _client("sagemaker"), _client("stepfunctions"), settings().stack_id or ""
    stopped, kept = [], 0
    for page in sm.get_paginator("list_training_jobs").paginate(StatusEquals="InProgress"):
        for job in page.get("TrainingJobSummaries", []):
            name = job["TrainingJobName"]
            tags = _job_tags(name) or {}  # None: another stack's job (IAM allows only this stack's)
            mine = tags.get(STACK_TAG) == stack_id[:256]
            reason = sweep_verdict(tags, stack_id, _execution_status(sfn, tags.get(EXECUTION_TAG))) if mine else None
            if reason is None or not _stop_if_running(sm, name):
                kept += 1
                continue
            LOG.warning("stopped orphaned training job %s: %s", name, reason)
            stopped.append({"job": name, "reason": reason})
    return {"stopped": stopped, "left_alone": kept}


def _stop_if_running(sm: Any, name: str) -> bool:
    """StopTrainingJob; False when the job ended meanwhile (or another clean-up stopped it first)."""
    try:
        sm.stop_training_job(TrainingJobName=name)
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return False
        raise
    return True


def _execution_status(sfn: Any, execution_arn: str | None) -> str:
    if not execution_arn:
        return "gone"
    try:
        return str(sfn.describe_execution(executionArn=execution_arn)["status"])
    except ClientError as exc:
        if _code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return "gone"
        raise


def notification(detail: dict[str, Any], job_name: str | None, stop_result: dict[str, Any]) -> dict[str, Any]:
    """The message published for a terminal execution state."""
    try:
        output = json.loads(detail.get("output") or "{}")
    except json.JSONDecodeError:
        output = {}
    status = detail.get("status")
    return {
        "subject": f"Fine-tuning {detail.get('name')}: {status}",
        "execution_arn": detail.get("executionArn"),
        "status": status,
        "training_job_name": job_name or output.get("training_job_name"),
        "output_model_package_arn": output.get("output_model_package_arn"),
        "error": detail.get("error"),
        "reason": detail.get("cause") or output.get("failure_reason"),
        "training_job_stopped": stop_result.get("stopped", False),
        # every job of the execution (several when a state machine embeds several FineTuningJobs)
        "training_jobs": [r["job"] for r in stop_result.get("jobs", [])],
    }


def _stop_job(name: str, status_: str, execution_arn: str) -> dict[str, Any]:
    sm = _client("sagemaker")
    try:
        status = sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    except ClientError as exc:
        if _code(exc) in _NOT_FOUND:
            return {"job": name, "stopped": False, "reason": "job was never created"}
        raise
    if status != "InProgress":
        return {"job": name, "stopped": False, "reason": f"job is {status}"}
    sm.stop_training_job(TrainingJobName=name)
    LOG.info("stopped training job %s of %s execution %s", name, status_, execution_arn)
    return {"job": name, "stopped": True}
