"""``finetune doctor``: the preflight only an account can answer, without starting a training job.

Each check is a small function ``check_x(facts) -> CheckResult`` that makes its AWS calls and
hands the answers to a pure verdict (``x_verdict(...)``), so the verdicts are tested without AWS
and the calls with botocore's Stubber. Checks run in order; one that needs an earlier check's
facts is skipped (with the reason) when that check did not pass. ``Facts`` carries what the
checks learn (stack outputs, the workflow's settings, the definition, the base model ...).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable
from urllib.parse import urlparse

import click

from sagemaker_finetuning.cli.app import aws_options, cli
from sagemaker_finetuning.cli.aws import Aws
from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core.errors import FineTuningInputError
from sagemaker_finetuning.core.recipes import OVERRIDE_PARAMS_KEY, RECIPE_TEMPLATE_KEY, select_recipe
from sagemaker_finetuning.core.settings import StackSettings

PASS, FAIL, SKIP = "pass", "fail", "skip"
#: Outputs the app exports (``ServerlessFineTuning.outputs()``); the optional ones are not required.
REQUIRED_OUTPUTS = ("StateMachineArn", "BucketName", "ModelPackageGroupName", "ExecutionRoleArn")
OPTIONAL_OUTPUTS = ("RewardEvaluatorArn", "JudgePromptEvaluatorArn")
USABLE_STACK_STATUSES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")
STEPS_HANDLER_SUFFIX = ".workflow.handler.step"
CREATE_STATES = ("CreateTrainingJob", "CreateTrainingJobWithMlflow")
#: The state CreateTrainingJob goes to when it succeeds (workflow/definition.py).
AFTER_CREATE = "TrackTrainingJob"
SAMPLE_TECHNIQUE, SAMPLE_TRAINING_TYPE = "SFT", "LORA"
REWARD_SAMPLES = 3
_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")
_CREDENTIAL_ERRORS = ("NoCredentialsError", "PartialCredentialsError", "NoRegionError", "ProfileNotFound")
#: Every AWS operation doctor calls -> the IAM action it needs (the README lists them).
IAM_ACTIONS = {
    "DescribeStacks": "cloudformation:DescribeStacks", "ListStackResources": "cloudformation:ListStackResources",
    "GetFunctionConfiguration": "lambda:GetFunctionConfiguration", "Invoke": "lambda:InvokeFunction",
    "DescribeStateMachine": "states:DescribeStateMachine", "ValidateStateMachineDefinition": "states:ValidateStateMachineDefinition",
    "TestState": "states:TestState", "DescribeHubContent": "sagemaker:DescribeHubContent",
    "DescribeMlflowApp": "sagemaker:DescribeMlflowApp", "DescribeMlflowTrackingServer": "sagemaker:DescribeMlflowTrackingServer",
    "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject", "ListObjectsV2": "s3:ListBucket",
    "SimulatePrincipalPolicy": "iam:SimulatePrincipalPolicy", "GetFoundationModel": "bedrock:GetFoundationModel",
}


@dataclass
class CheckResult:
    """One line of the report: ``status`` is pass, fail or skip; a fail says how to fix it."""

    id: str
    status: str
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(id: str, detail: str, **data: Any) -> CheckResult:
    return CheckResult(id, PASS, detail, data=data)


def failed(id: str, detail: str, fix: str, **data: Any) -> CheckResult:
    return CheckResult(id, FAIL, detail, fix, data=data)


def skipped(id: str, detail: str, **data: Any) -> CheckResult:
    return CheckResult(id, SKIP, detail, data=data)


@dataclass
class Facts:
    """What the checks learned, for the checks after them."""

    aws: Aws
    region: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    settings: StackSettings | None = None
    steps_role_arn: str | None = None
    state_machine: dict[str, Any] = field(default_factory=dict)
    definition: dict[str, Any] = field(default_factory=dict)
    hub_content: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    override_params: dict[str, Any] = field(default_factory=dict)

    @property
    def cfg(self) -> StackSettings:
        assert self.settings is not None, "the settings check runs first"
        return self.settings


def client_error(exc: Exception) -> tuple[str, str, str]:
    """(operation, error code, message) of a botocore ClientError."""
    response = getattr(exc, "response", {}) or {}
    err = response.get("Error", {})
    return getattr(exc, "operation_name", "") or "AWS call", str(err.get("Code", "Error")), str(err.get("Message", "") or exc)


def is_access_denied(exc: Exception) -> bool:
    return client_error(exc)[1] in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError")


def is_not_found(exc: Exception) -> bool:
    code = client_error(exc)[1]
    return code in ("ResourceNotFound", "ResourceNotFoundException", "ValidationException", "ValidationError", "NoSuchEntity",
                    "NoSuchKey", "NoSuchBucket", "404", "NotFound")


def call_failed(id: str, exc: Exception, what: str) -> CheckResult:
    """A fail for an AWS error the check did not expect, with the usual fixes."""
    op, code, message = client_error(exc)
    if is_access_denied(exc):
        fix = f"allow {IAM_ACTIONS.get(op, op)} for your credentials ({what}); the README lists what finetune doctor needs"
    elif code in ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"):
        fix = "AWS throttled the call: run finetune doctor again in a minute"
    else:
        fix = f"{what} failed; check the message, your region (--region) and the stack (--stack)"
    return failed(id, f"{op}: {code}: {message}", fix)


# ---- 1. the stack and its outputs ---------------------------------------------------------------


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    """Output key -> value; a key with a construct path before it and CDK's 8-character hash after
    it (``FineTuningStateMachineArnA1B2C3D4``) also counts under its plain name."""
    found: dict[str, str] = {}
    for out in stack.get("Outputs") or []:
        key, value = str(out.get("OutputKey", "")), str(out.get("OutputValue", ""))
        found[key] = value
        for wanted in (*REQUIRED_OUTPUTS, *OPTIONAL_OUTPUTS):
            if re.fullmatch(rf"[A-Za-z0-9]*{wanted}([0-9A-F]{{8}})?", key):
                found.setdefault(wanted, value)
    return found


def stack_verdict(name: str, stack: dict[str, Any]) -> CheckResult:
    status = str(stack.get("StackStatus", ""))
    outputs = outputs_of(stack)
    missing = [k for k in REQUIRED_OUTPUTS if not outputs.get(k)]
    if status not in USABLE_STACK_STATUSES:
        fix = ("wait for the stack operation to end, then run finetune doctor again" if status.endswith("_IN_PROGRESS")
               else "fix the failure shown in the CloudFormation console and redeploy (cdk deploy)")
        return failed("stack", f"stack {name} is {status}", fix, status=status)
    if missing:
        return failed("stack", f"stack {name} ({status}) lacks the output(s) {', '.join(missing)}",
                      "export ServerlessFineTuning.outputs() as CfnOutputs (the ready app does) and redeploy", status=status,
                      missing=missing)
    shown = [k for k in (*REQUIRED_OUTPUTS, *OPTIONAL_OUTPUTS) if outputs.get(k)]
    return passed("stack", f"stack {name} is {status}; outputs {', '.join(shown)}", status=status,
                  outputs={k: outputs[k] for k in shown})


def check_stack(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    name = facts.aws.stack
    try:
        stacks = facts.aws.client("cloudformation").describe_stacks(StackName=name).get("Stacks", [])
    except ClientError as exc:
        if "does not exist" in client_error(exc)[2]:
            return failed("stack", f"stack {name} not found in {facts.region}",
                          "deploy it (cdk deploy), or name the deployed stack with --stack NAME (env FINETUNE_STACK) and --region")
        return call_failed("stack", exc, "reading the stack")
    result = stack_verdict(name, stacks[0] if stacks else {})
    if result.status == PASS:
        facts.outputs = outputs_of(stacks[0])
    return result


# ---- 2. the workflow's settings (the Steps Lambda's FINETUNE_SETTINGS) --------------------------


def settings_from_configuration(configuration: dict[str, Any], region: str) -> tuple[StackSettings, list[str]]:
    """The stack settings the Steps Lambda runs with, and the keys this CLI does not know."""
    env = (configuration.get("Environment") or {}).get("Variables") or {}
    raw = json.loads(env["FINETUNE_SETTINGS"])
    known = {f.name for f in fields(StackSettings)}
    unknown = sorted(set(raw) - known)
    text = json.dumps({k: v for k, v in raw.items() if k in known})
    return StackSettings.from_env({"FINETUNE_SETTINGS": text, "AWS_REGION": region}), unknown


def stack_functions(facts: Facts) -> list[str]:
    """Physical ids of the stack's Lambda functions, the workflow's Steps function first."""
    cfn = facts.aws.client("cloudformation")
    found = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=facts.aws.stack):
        for res in page.get("StackResourceSummaries", []):
            if res.get("ResourceType") == "AWS::Lambda::Function" and res.get("PhysicalResourceId"):
                found.append((0 if "WorkflowSteps" in str(res.get("LogicalResourceId")) else 1, res["PhysicalResourceId"]))
    return [physical for _, physical in sorted(found)]


def steps_configuration(facts: Facts) -> dict[str, Any] | None:
    lam = facts.aws.client("lambda")
    for name in stack_functions(facts):
        config = lam.get_function_configuration(FunctionName=name)
        variables = (config.get("Environment") or {}).get("Variables") or {}
        if "FINETUNE_SETTINGS" in variables and str(config.get("Handler", "")).endswith(STEPS_HANDLER_SUFFIX):
            return config
    return None


def check_settings(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    try:
        config = steps_configuration(facts)
    except ClientError as exc:
        return call_failed("settings", exc, "reading the workflow's Lambda configuration")
    if config is None:
        return failed("settings", f"stack {facts.aws.stack} has no workflow Steps function with FINETUNE_SETTINGS",
                      "deploy the stack from sagemaker-finetuning-constructs (ServerlessFineTuning), or pass the right --stack")
    try:
        facts.settings, unknown = settings_from_configuration(config, facts.region)
    except (ValueError, TypeError, KeyError) as exc:
        return failed("settings", f"{config['FunctionName']}: FINETUNE_SETTINGS cannot be read ({exc})",
                      "redeploy the stack with the same version of sagemaker-finetuning-constructs as this CLI")
    facts.steps_role_arn = config.get("Role")
    cfg = facts.cfg
    note = f"; keys this CLI does not know: {', '.join(unknown)} (a newer stack: update the CLI)" if unknown else ""
    return passed("settings", f"{config['FunctionName']}: base model {cfg.base_model or '(none)'}, bucket {cfg.bucket}{note}",
                  function=config["FunctionName"], role=facts.steps_role_arn, unknown_keys=unknown)


# ---- 3. the definition (ValidateStateMachineDefinition) -----------------------------------------


def definition_verdict(answer: dict[str, Any]) -> CheckResult:
    diagnostics = answer.get("diagnostics") or []
    errors = [d for d in diagnostics if d.get("severity") == "ERROR"]
    warnings = [d for d in diagnostics if d.get("severity") != "ERROR"]
    shown = "; ".join(f"{d.get('code')}: {d.get('message')}" + (f" at {d['location']}" if d.get("location") else "") for d in errors or warnings)
    if answer.get("result") != "OK" or errors:
        return failed("definition", f"Step Functions finds the definition invalid: {shown or answer.get('result')}",
                      "redeploy the stack with a released version of sagemaker-finetuning-constructs; if it persists, report it",
                      diagnostics=diagnostics)
    detail = "ValidateStateMachineDefinition: OK" + (f", {len(warnings)} warning(s): {shown}" if warnings else ", no warnings")
    return passed("definition", detail, diagnostics=diagnostics)


def check_definition(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    sfn = facts.aws.client("stepfunctions")
    arn = facts.aws.state_machine_arn or facts.outputs["StateMachineArn"]
    try:
        facts.state_machine = sfn.describe_state_machine(stateMachineArn=arn)
        answer = sfn.validate_state_machine_definition(definition=facts.state_machine["definition"],
                                                       type=facts.state_machine.get("type") or "STANDARD")
    except ClientError as exc:
        return call_failed("definition", exc, "reading or validating the state machine definition")
    facts.definition = json.loads(facts.state_machine["definition"])
    return definition_verdict(answer)


# ---- 4. the base model and its recipes -----------------------------------------------------------


def recipe_objects(recipe: dict[str, Any]) -> dict[str, str]:
    """The recipe's S3 files: {key: s3 uri} of the override params and the recipe template."""
    return {key: str(recipe[key]) for key in (OVERRIDE_PARAMS_KEY, RECIPE_TEMPLATE_KEY) if recipe.get(key)}


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def check_base_model(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    cfg = facts.cfg
    if not cfg.base_model:
        return skipped("base-model", "the stack has no default base model (every run names its own)")
    try:
        facts.hub_content = facts.aws.client("sagemaker").describe_hub_content(
            HubName=cfg.hub_name, HubContentType="Model", HubContentName=cfg.base_model)
    except ClientError as exc:
        if is_not_found(exc):
            return failed("base-model", f"{cfg.base_model} is not in {cfg.hub_name} in {facts.region} ({client_error(exc)[2]})",
                          f"deploy in a region that offers it, or set the stack's base model (context baseModel / the construct's "
                          f"base_model) to a model of {cfg.hub_name} in {facts.region} and redeploy")
        return call_failed("base-model", exc, "DescribeHubContent of the base model")
    document = json.loads(facts.hub_content.get("HubContentDocument") or "{}")
    try:
        facts.recipe = select_recipe(list(document.get("RecipeCollection", [])), cfg.base_model, SAMPLE_TECHNIQUE, SAMPLE_TRAINING_TYPE)
    except FineTuningInputError as exc:
        return failed("base-model", f"{cfg.base_model}: no {SAMPLE_TECHNIQUE} {SAMPLE_TRAINING_TYPE} recipe ({exc})",
                      "set the stack's base model to one that offers serverless SFT with LoRA, and redeploy")
    version = facts.hub_content.get("HubContentVersion", "?")
    return passed("base-model", f"{cfg.base_model} {version} in {cfg.hub_name}; {SAMPLE_TECHNIQUE} {SAMPLE_TRAINING_TYPE} recipe "
                  f"{facts.recipe.get('Name', '?')}", model=cfg.base_model, version=version, recipe=facts.recipe.get("Name"))


def check_recipes(facts: Facts) -> CheckResult:
    """The recipe files are readable with the user's credentials (HeadObject; the override
    params are also read, as the workflow does, for the planned request)."""
    from botocore.exceptions import ClientError

    objects = recipe_objects(facts.recipe)
    if OVERRIDE_PARAMS_KEY not in objects:
        return failed("recipes", f"the {SAMPLE_TECHNIQUE} recipe of {facts.cfg.base_model} names no {OVERRIDE_PARAMS_KEY}",
                      "the hub document is not one serverless customization can use: pick another base model")
    s3 = facts.aws.client("s3")
    try:
        for uri in objects.values():
            s3.head_object(Bucket=split_s3(uri)[0], Key=split_s3(uri)[1])
        body = s3.get_object(Bucket=split_s3(objects[OVERRIDE_PARAMS_KEY])[0], Key=split_s3(objects[OVERRIDE_PARAMS_KEY])[1])["Body"].read()
    except ClientError as exc:
        bucket = split_s3(next(iter(objects.values())))[0]
        return failed("recipes", f"{client_error(exc)[0]}: {client_error(exc)[1]}: {client_error(exc)[2]}",
                      f"allow s3:GetObject on arn:aws:s3:::{bucket}/* for your credentials (the recipes live there)")
    try:
        facts.override_params = json.loads(body)
    except ValueError:
        return failed("recipes", f"{objects[OVERRIDE_PARAMS_KEY]} is not JSON", "pick another base model (its recipe files are broken)")
    return passed("recipes", f"readable by you: {', '.join(objects.values())}", objects=objects)


@dataclass(frozen=True)
class RoleQuestion:
    """What a check asks the IAM policy simulator about the workflow's (Steps function's) role."""

    id: str
    action: str
    #: What the action is for, in the verdict's words ("read the recipes").
    purpose: str
    fix: str


RECIPES_ROLE = RoleQuestion("recipes-role", "s3:GetObject", "read the recipes",
                            "redeploy the stack (its Steps function is granted s3:GetObject on the JumpStart recipe bucket); check "
                            "permissions boundaries and SCPs that may deny it")
MLFLOW_RUNS_ROLE = RoleQuestion("mlflow-runs", "sagemaker-mlflow:GetRun", "read MLflow runs (a sweep's objective without an evaluation)",
                                "redeploy the stack (its Steps function is granted sagemaker-mlflow:GetRun on the stack's MLflow resource); "
                                "check permissions boundaries and SCPs that may deny it")


def simulation_verdict(results: list[dict[str, Any]], role_arn: str, question: RoleQuestion = RECIPES_ROLE) -> CheckResult:
    denied = [r for r in results if r.get("EvalDecision") != "allowed"]
    if denied:
        what = ", ".join(f"{r.get('EvalActionName')} on {r.get('EvalResourceName')}: {r.get('EvalDecision')}" for r in denied)
        return failed(question.id, f"the workflow's role {role_arn} may not {question.purpose} ({what})", question.fix)
    return passed(question.id, f"{role_arn} may {question.action} on {len(results)} resource(s): it can {question.purpose} "
                               "(IAM policy simulation)")


def simulate_role(facts: Facts, question: RoleQuestion, resources: list[str]) -> CheckResult:
    """Ask the IAM policy simulator whether the workflow's role may do ``question.action`` on ``resources``."""
    from botocore.exceptions import BotoCoreError, ClientError

    role = facts.steps_role_arn
    if not role or ":role/" not in role:
        return skipped(question.id, "the workflow's Steps function has no IAM role ARN to simulate")
    try:
        answer = facts.aws.client("iam").simulate_principal_policy(PolicySourceArn=role, ActionNames=[question.action], ResourceArns=resources)
    except (ClientError, BotoCoreError) as exc:
        reason = client_error(exc)[1] if isinstance(exc, ClientError) else type(exc).__name__
        return skipped(question.id, f"IAM policy simulation is not available to you ({reason}): allow iam:SimulatePrincipalPolicy "
                       "to check what the workflow's role may do")
    return simulation_verdict(answer.get("EvaluationResults", []), role, question)


def check_recipes_role(facts: Facts) -> CheckResult:
    resources = [f"arn:{facts.cfg.partition}:s3:::{b}/{k}" for b, k in map(split_s3, recipe_objects(facts.recipe).values())]
    return simulate_role(facts, RECIPES_ROLE, resources)


def check_mlflow_runs(facts: Facts) -> CheckResult:
    """A sweep without an evaluation ranks its configurations by a metric of each job's MLflow run: the workflow reads it."""
    return simulate_role(facts, MLFLOW_RUNS_ROLE, [str(facts.cfg.mlflow_resource_arn)])


# ---- 5. CreateTrainingJob accepts the planned request (TestState with a mocked result) -----------


def create_state(definition: dict[str, Any], request: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(name, state JSON) of the CreateTrainingJob state that sends ``request`` (the MLflow one when
    the request has MlflowConfig, as the workflow's Choice picks)."""
    name = CREATE_STATES[1] if "MlflowConfig" in request else CREATE_STATES[0]
    state = (definition.get("States") or {}).get(name)
    return (name, state) if isinstance(state, dict) else None


def sample_input(cfg: StackSettings, gated: bool) -> dict[str, Any]:
    """The SFT execution input doctor plans: the stack's defaults and a dataset under its prefix."""
    raw: dict[str, Any] = {"technique": SAMPLE_TECHNIQUE, "training_type": SAMPLE_TRAINING_TYPE,
                           "training_dataset": f"s3://{cfg.bucket}/{cfg.dataset_prefix}finetune-doctor/train.jsonl"}
    if gated:
        raw["accept_eula"] = True  # nothing is started: the plan only has to be complete
    return raw


def plan_sample(cfg: StackSettings, hub_content: dict[str, Any], override_params: dict[str, Any],
                state_machine_arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(validated input, CreateTrainingJob request) as the workflow's ValidateInput and
    PlanTrainingJob states compute them. Raises FineTuningInputError."""
    from sagemaker_finetuning.core import planner

    resolved = planner.ResolvedModel.from_hub(hub_content, json.loads(hub_content.get("HubContentDocument") or "{}"))
    inp = planner.validate_input(sample_input(cfg, resolved.gated), cfg)
    execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":finetune-doctor"
    return inp, planner.plan_training_job(inp, resolved, override_params, cfg, execution_arn)


def test_state_arguments(state: dict[str, Any], inp: dict[str, Any], request: dict[str, Any], cfg: StackSettings,
                         mock_members: tuple[str, ...]) -> dict[str, Any]:
    """TestState's request: the state, the state input PlanTrainingJob produces, a mocked result."""
    state_input = {"input": inp, "plan": {"training_job_name": request["TrainingJobName"], "request": request}}
    job_arn = f"arn:{cfg.partition}:sagemaker:{cfg.region}:{cfg.account}:training-job/{request['TrainingJobName']}"
    mock: dict[str, Any] = {"result": json.dumps({"TrainingJobArn": job_arn})}
    if "fieldValidationMode" in mock_members:
        mock["fieldValidationMode"] = "STRICT"
    return {"definition": json.dumps(state), "input": json.dumps(state_input), "inspectionLevel": "DEBUG", "mock": mock}


def test_state_verdict(answer: dict[str, Any], state_name: str, request: dict[str, Any]) -> CheckResult:
    status = answer.get("status")
    if status != "SUCCEEDED":
        reason = " ".join(str(answer.get(k)) for k in ("error", "cause") if answer.get(k))
        return failed("create-training-job", f"TestState {state_name}: {status}: {reason or 'no error given'}",
                      "Step Functions' SDK integration would refuse this CreateTrainingJob request when a run launches its job: "
                      "update the stack (and report the field it names)", status=status)
    raw = (answer.get("inspectionData") or {}).get("afterParameters")
    sent = json.loads(raw) if raw else None
    dropped = sorted(set(request) - set(sent)) if isinstance(sent, dict) else []
    if dropped:
        return failed("create-training-job", f"{state_name} does not send the planned field(s) {', '.join(dropped)}",
                      "redeploy the stack with the same version of sagemaker-finetuning-constructs as its Lambda code")
    if answer.get("nextState") not in (None, AFTER_CREATE):
        return failed("create-training-job", f"{state_name} goes on to {answer.get('nextState')}, not {AFTER_CREATE}",
                      "redeploy the stack from a released version of sagemaker-finetuning-constructs")
    count = f"all {len(sent)} fields" if isinstance(sent, dict) else "the request"
    return passed("create-training-job", f"TestState {state_name} (mocked result, STRICT): Step Functions accepts {count} of the "
                  f"planned SFT request {request.get('TrainingJobName')}", state=state_name,
                  fields=sorted(sent) if isinstance(sent, dict) else None)


def test_state_client(aws: Aws) -> Any:
    """A Step Functions client for TestState. TestState's endpoint has the host prefix ``sync-``;
    at a custom endpoint (VPC endpoint, local emulator) that host does not exist, so no prefix."""
    sfn = aws.client("stepfunctions")
    host = urlparse(sfn.meta.endpoint_url).hostname or ""
    if host.endswith(_AWS_DOMAINS):
        return sfn
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=aws.profile, region_name=aws.region)
    return session.client("stepfunctions", endpoint_url=sfn.meta.endpoint_url,
                          config=Config(inject_host_prefix=False, retries={"max_attempts": 4, "mode": "standard"}))


def check_create_training_job(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    cfg = facts.cfg
    try:
        inp, request = plan_sample(cfg, facts.hub_content, facts.override_params, facts.state_machine["stateMachineArn"])
    except FineTuningInputError as exc:
        return failed("create-training-job", f"the planner refuses a sample SFT input for this stack: {exc}",
                      "the stack's settings and its base model's recipe do not fit together: check the base model, then redeploy")
    found = create_state(facts.definition, request)
    if found is None:
        return failed("create-training-job", f"the definition has no {' / '.join(CREATE_STATES)} state",
                      "redeploy the stack from a released version of sagemaker-finetuning-constructs")
    sfn = test_state_client(facts.aws)
    mock_shape = sfn.meta.service_model.operation_model("TestState").input_shape.members.get("mock")
    if mock_shape is None:
        import botocore

        return skipped("create-training-job", f"this botocore ({botocore.__version__}) has no TestState mock: upgrade boto3 to check "
                       "the request without starting a job")
    try:
        answer = sfn.test_state(**test_state_arguments(found[1], inp, request, cfg, tuple(mock_shape.members)))
    except ClientError as exc:
        if client_error(exc)[1] == "ValidationException":
            return failed("create-training-job", f"TestState {found[0]}: {client_error(exc)[2]}",
                          "Step Functions refused the test itself: report it, with this message")
        return call_failed("create-training-job", exc, "Step Functions TestState")
    return test_state_verdict(answer, found[0], request)


# ---- 6. the judge, MLflow, the datasets, the reward function ------------------------------------


def judge_ids(cfg: StackSettings) -> list[str]:
    return list(dict.fromkeys([*cfg.judge_model_ids, *([cfg.judge_model_id] if cfg.judge_model_id else [])]))


def judge_verdict(found: dict[str, dict[str, Any] | None], region: str) -> CheckResult:
    missing = [m for m, details in found.items() if details is None]
    if missing:
        offered = [m for m, regions in C.JUDGE_MODEL_REGIONS.items() if region in regions]
        return failed("judge", f"Bedrock does not offer {', '.join(missing)} in {region}",
                      f"set the stack's judge (context judgeModelId / JudgeModel) to one offered in {region} "
                      f"({', '.join(offered) or 'none'}) and redeploy, or deploy in a region that offers it")
    states = {m: str(((d or {}).get("modelLifecycle") or {}).get("status", "?")) for m, d in found.items()}
    legacy = [m for m, s in states.items() if s != "ACTIVE"]
    note = f" (not ACTIVE: {', '.join(f'{m} {states[m]}' for m in legacy)}; plan a newer judge)" if legacy else ""
    return passed("judge", f"Bedrock offers {', '.join(found)} in {region}{note}", lifecycle=states)


def check_judge(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    ids = judge_ids(facts.cfg)
    if not ids:
        return skipped("judge", "the stack has no RLAIF judge model")
    bedrock = facts.aws.client("bedrock")
    found: dict[str, dict[str, Any] | None] = {}
    for model_id in ids:
        try:
            found[model_id] = bedrock.get_foundation_model(modelIdentifier=model_id).get("modelDetails") or {}
        except ClientError as exc:
            if not is_not_found(exc):
                return call_failed("judge", exc, "Bedrock GetFoundationModel of the judge")
            found[model_id] = None
    return judge_verdict(found, facts.region)


def mlflow_resource(arn: str) -> tuple[str, str]:
    """("app" | "tracking-server", name) of an MLflow resource ARN."""
    resource = arn.split(":", 5)[-1]
    kind, _, name = resource.partition("/")
    return ("app" if kind == "mlflow-app" else "tracking-server"), name


def mlflow_verdict(arn: str, status: str, active: str | None = None) -> CheckResult:
    bad = status.endswith("Failed") or status in ("Deleting", "Deleted", "Stopping", "Stopped") or active == "Inactive"
    if bad:
        fix = (f"start it (aws sagemaker start-mlflow-tracking-server --tracking-server-name {mlflow_resource(arn)[1]})"
               if status in ("Stopping", "Stopped") else "repair or recreate it in SageMaker AI Studio, or set mlflowResourceArn to a working one")
        return failed("mlflow", f"{arn} is {status}" + (f" ({active})" if active else ""), fix, status=status)
    return passed("mlflow", f"{arn} is {status}" + (f" ({active})" if active else ""), status=status)


def check_mlflow(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    arn = facts.cfg.mlflow_resource_arn
    if not arn:
        return skipped("mlflow", "the stack has no MLflow resource")
    kind, name = mlflow_resource(arn)
    sm = facts.aws.client("sagemaker")
    try:
        if kind == "app":
            desc = sm.describe_mlflow_app(Arn=arn)
            return mlflow_verdict(arn, str(desc.get("Status", "?")))
        desc = sm.describe_mlflow_tracking_server(TrackingServerName=name)
        return mlflow_verdict(arn, str(desc.get("TrackingServerStatus", "?")), desc.get("IsActive"))
    except ClientError as exc:
        if is_not_found(exc):
            return failed("mlflow", f"{arn} does not exist in {facts.region} ({client_error(exc)[2]})",
                          "create it (SageMaker AI Studio > MLflow), or set mlflowResourceArn to an existing one and redeploy")
        return call_failed("mlflow", exc, "describing the MLflow resource")


def dataset_verdict(bucket: str, prefix: str, listing: dict[str, Any]) -> CheckResult:
    objects = [o for o in listing.get("Contents") or [] if not str(o.get("Key", "")).endswith("/") and int(o.get("Size", 0)) > 0]
    where = f"s3://{bucket}/{prefix}"
    if not objects:
        return failed("datasets", f"{where} holds no data",
                      f"upload a dataset there, e.g. aws s3 cp train.jsonl {where}train.jsonl (check it first with finetune validate-dataset)")
    more = "+" if listing.get("IsTruncated") else ""
    return passed("datasets", f"{where} holds {len(objects)}{more} object(s), e.g. {objects[0]['Key']}", count=len(objects))


def check_datasets(facts: Facts) -> CheckResult:
    from botocore.exceptions import ClientError

    cfg = facts.cfg
    try:
        listing = facts.aws.client("s3").list_objects_v2(Bucket=cfg.bucket, Prefix=cfg.dataset_prefix, MaxKeys=100)
    except ClientError as exc:
        if is_access_denied(exc):
            return failed("datasets", f"you may not list s3://{cfg.bucket}/{cfg.dataset_prefix} ({client_error(exc)[2]})",
                          f"allow s3:ListBucket on arn:aws:s3:::{cfg.bucket} for your credentials")
        return call_failed("datasets", exc, "listing the dataset prefix")
    return dataset_verdict(cfg.bucket, cfg.dataset_prefix, listing)


def reward_targets(cfg: StackSettings) -> list[str]:
    return sorted({*cfg.reward_function_arns, *cfg.reward_evaluators.values()})


def reward_samples(count: int = REWARD_SAMPLES) -> list[dict[str, Any]]:
    """The first RLVR samples bundled with the package."""
    from sagemaker_finetuning.templates import samples

    lines = samples.path("rlvr").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()][:count]


def reward_verdict(reports: dict[str, Any], contract: str) -> CheckResult:
    """``reports``: function ARN -> a ContractReport, or the text of why it could not be checked."""
    bad = {arn: r for arn, r in reports.items() if isinstance(r, str) or not r.ok}
    if bad:
        arn, report = next(iter(bad.items()))
        why = report if isinstance(report, str) else "; ".join(report.violations[:3])
        return failed("reward", f"{arn}: {why}",
                      "fix the reward function; check its handler locally with python -m sagemaker_finetuning.tools.reward_check "
                      f"handler.py samples.jsonl --contract {contract}", functions=sorted(reports))
    return passed("reward", f"{len(reports)} function(s) answered {REWARD_SAMPLES} bundled RLVR samples by the {contract} contract",
                  functions=sorted(reports), scores={arn: r.scores for arn, r in reports.items()})


def invoke_reward(lam: Any, arn: str, samples: list[dict[str, Any]], contract: str) -> Any:
    """The ContractReport of one reward function's reply, or why there is none."""
    from botocore.exceptions import ClientError

    from sagemaker_finetuning.core.reward_contract import build_event, check_reply

    try:
        response = lam.invoke(FunctionName=arn, Payload=json.dumps(build_event(samples, contract)).encode())
    except ClientError as exc:
        op, code, message = client_error(exc)
        return f"{op}: {code}: {message}" + (" (allow lambda:InvokeFunction on it for your credentials)" if is_access_denied(exc) else "")
    raw = response["Payload"].read()
    if response.get("FunctionError"):
        return f"it raised: {raw[:300].decode('utf-8', 'replace')}"
    try:
        return check_reply(samples, json.loads(raw), contract)
    except ValueError:
        return f"its reply is not JSON: {raw[:120]!r}"


def check_reward(facts: Facts) -> CheckResult:
    targets = reward_targets(facts.cfg)
    if not targets:
        return skipped("reward", "the stack has no reward function")
    contract = "nova" if C.is_nova_model(facts.cfg.base_model or "") else "open-weights"
    samples = reward_samples()
    lam = facts.aws.client("lambda")
    return reward_verdict({arn: invoke_reward(lam, arn, samples, contract) for arn in targets}, contract)


# ---- the runner and the command ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    run: Callable[[Facts], CheckResult]
    requires: tuple[str, ...] = ()


CHECKS = (
    Check("stack", "CloudFormation stack and its outputs", check_stack),
    Check("settings", "the workflow's settings (Steps function)", check_settings, ("stack",)),
    Check("definition", "state machine definition (ValidateStateMachineDefinition)", check_definition, ("stack",)),
    Check("base-model", "default base model in the hub (DescribeHubContent)", check_base_model, ("settings",)),
    Check("recipes", "recipe files readable by you (HeadObject)", check_recipes, ("base-model",)),
    Check("recipes-role", "recipe files readable by the workflow (SimulatePrincipalPolicy)", check_recipes_role, ("base-model",)),
    Check("create-training-job", "CreateTrainingJob accepts the planned request (TestState)", check_create_training_job,
          ("settings", "definition", "recipes")),
    Check("judge", "RLAIF judge offered by Bedrock (GetFoundationModel)", check_judge, ("settings",)),
    Check("mlflow", "MLflow app or tracking server exists", check_mlflow, ("settings",)),
    Check("mlflow-runs", "MLflow runs readable by the workflow (SimulatePrincipalPolicy)", check_mlflow_runs, ("mlflow",)),
    Check("datasets", "dataset prefix holds data (ListObjectsV2)", check_datasets, ("settings",)),
    Check("reward", "reward function answers by the contract (Invoke)", check_reward, ("settings",)),
)


def run_one(check: Check, facts: Facts, done: dict[str, CheckResult]) -> CheckResult:
    from botocore.exceptions import BotoCoreError, ClientError

    unmet = [r for r in check.requires if done.get(r) is None or done[r].status != PASS]
    if unmet:
        return skipped(check.id, "needs " + ", ".join(f"{r} ({done[r].status if r in done else 'not run'})" for r in unmet))
    try:
        return check.run(facts)
    except ClientError as exc:
        return call_failed(check.id, exc, check.title)
    except BotoCoreError as exc:
        if type(exc).__name__ in _CREDENTIAL_ERRORS:
            raise  # nothing can be checked: the CLI's one-line error says what to configure
        return failed(check.id, f"{type(exc).__name__}: {exc}", "check your network, region and endpoint settings")
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        if os.environ.get("FINETUNE_DEBUG"):
            raise
        return failed(check.id, f"unexpected {type(exc).__name__}: {exc}",
                      "report it with the output of FINETUNE_DEBUG=1 finetune doctor (the traceback)")


def run_checks(aws: Aws, checks: tuple[Check, ...] = CHECKS) -> tuple[Facts, list[CheckResult]]:
    facts = Facts(aws=aws, region=aws.client("cloudformation").meta.region_name)
    done: dict[str, CheckResult] = {}
    for check in checks:
        done[check.id] = run_one(check, facts, done)
    return facts, list(done.values())


def report_lines(results: list[CheckResult]) -> list[str]:
    """The text report: one line per check (a fail adds its fix), then the counts."""
    labels = {PASS: click.style("PASS", fg="green"), FAIL: click.style("FAIL", fg="red", bold=True), SKIP: click.style("SKIP", fg="yellow")}
    width = max(len(r.id) for r in results)
    lines = []
    for r in results:
        lines.append(f"{labels[r.status]}  {r.id:<{width}}  {r.detail}")
        if r.fix:
            lines.append(f"      {'':<{width}}  fix: {r.fix}")
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, SKIP)}
    lines.append(f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped")
    return lines


def report_document(aws: Aws, facts: Facts, results: list[CheckResult]) -> dict[str, Any]:
    titles = {c.id: c.title for c in CHECKS}
    return {
        "stack": aws.stack,
        "region": facts.region,
        "ok": not any(r.status == FAIL for r in results),
        "counts": {s: sum(r.status == s for r in results) for s in (PASS, FAIL, SKIP)},
        "checks": [{"title": titles.get(r.id, r.id), **r.to_dict()} for r in results],
    }


@cli.command(context_settings={"max_content_width": 100})
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@aws_options
def doctor(aws: Aws, as_json: bool) -> int:
    """Check the deployed stack with your credentials, without starting a training job.

    One line per check (PASS / FAIL / SKIP; a FAIL says how to fix it): the stack and its
    outputs, the workflow's settings, the state machine definition (ValidateStateMachineDefinition),
    the default base model and its recipe files (DescribeHubContent, HeadObject, and what the
    workflow's role may read: SimulatePrincipalPolicy), a CreateTrainingJob request planned from a
    sample SFT input against the deployed state (TestState with a mocked result), the RLAIF judge
    (Bedrock GetFoundationModel), the MLflow resource, the dataset prefix and the reward function
    (invoked on bundled samples). Exit code 1 when a check fails, 0 otherwise.

    \b
    Examples:
      finetune doctor
      finetune doctor --stack MyFineTuning --region us-west-2 --json
    """
    facts, results = run_checks(aws)
    if as_json:
        click.echo(json.dumps(report_document(aws, facts, results), indent=2, default=str))
    else:
        click.echo(f"finetune doctor: stack {aws.stack} in {facts.region}")
        for line in report_lines(results):
            click.echo(line)
    return 1 if any(r.status == FAIL for r in results) else 0
