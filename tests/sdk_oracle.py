"""SDK v3 as an oracle: the CreateTrainingJob request SageMaker Python SDK v3 would send, offline.

``capture_sdk_request(intent)`` builds the real trainer (``SFTTrainer``, ``DPOTrainer``,
``RLVRTrainer`` or ``RLAIFTrainer`` from sagemaker-train) and runs its ordinary
``train(wait=False)`` serverless path. No SDK logic is patched: every AWS call the SDK makes goes
through botocore clients of a boto3 session we hand it (``Session(boto_session=...)``), and two
botocore event hooks answer them from a small in-memory account (:class:`FakeAccount`):

``before-parameter-build``
    remembers the caller's API parameters (after botocore's own customizations) in the request
    context, and records every ``CreateTrainingJob`` request: that record *is* the oracle's output.
``before-call``
    short-circuits the HTTP request and returns a parsed response (or an AWS error) built from
    ``tests/fixtures/hub/`` via ``hub_fixtures`` (DescribeHubContent, the recipes'
    override-params and template objects) and from the intent (model packages, groups, buckets,
    evaluators, DataSets). It also answers what the SDK checks on the way: sts GetCallerIdentity,
    the execution role (iam SimulatePrincipalPolicy / GetRole), S3 bucket and prefix probes, the
    AI Registry hub (RLVR with a Lambda ARN registers an evaluator), and MLflow (the account has
    no MLflow app, so without an MLflow ARN the SDK creates one).

botocore still runs its parameter validation (types, required members, minimums) before
``before-call``; ``request_errors`` adds the service model's max / pattern / enum constraints.

Only I/O edges are touched, each documented where it happens (``_sdk_environment``):

* ``boto3.DEFAULT_SESSION`` is our fake session while the SDK runs: a few SDK helpers call
  ``boto3.client(...)`` without a session (``data_utils.load_file_content`` for the multimodal
  probe, ``AIRHub._ensure_hub_name_initialized`` for the account id, ``_get_prod_sm_client`` for
  MLflow), and ``AIRHub._sagemaker_client`` / ``_s3_client`` (clients made at import time, used by
  ``Evaluator.wait``) are clients of the fake session.
* ``sagemaker.core.telemetry.telemetry_logging._send_telemetry_request`` (the function that
  schedules the telemetry HTTP GET) is replaced by a no-op: telemetry is network I/O. (The SDK's
  own opt-out, ``TelemetryOptOut`` in a defaults file, would also work, but the SDK re-validates
  a non-empty defaults file against its JSON schema on every lookup, which costs ~0.1 s a time.)
* ``SAGEMAKER_ADMIN_CONFIG_OVERRIDE`` / ``SAGEMAKER_USER_CONFIG_OVERRIDE`` point at an empty
  defaults file, so a developer's own ``~/.config/sagemaker/config.yaml`` cannot change the request.
* ``SAGEMAKER_HUB_NAME`` is unset (SageMakerPublicHub) and ``AIRHub.hubName`` (a process-wide
  cache of the account's AI Registry hub name) is cleared and restored around the call.

Trainer arguments the oracle always sets: ``role`` and ``sagemaker_session``; ``training_type`` as
``TrainingType.<x>`` (the documented form; see ``Intent.training_type_as_enum``); for RLVR
``skip_reward_validation=True`` (the SDK's pre-launch Lambda invocation on dataset samples, which
our workflow runs as a state of its own and which does not change the request).
* ``AWS_EC2_METADATA_DISABLED`` is set and the region/credentials are fixed, so nothing can look
  for real credentials.

Any AWS operation the fake account does not know is answered with an error *and* recorded in
``SdkCapture.unexpected`` (some SDK paths swallow errors), so a new SDK call shows up as a failure.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    # The SDK creates module-level boto3 clients at import time (sagemaker.ai_registry.air_hub),
    # which needs a region; fake credentials make sure nothing can reach a real account.
    os.environ.setdefault(_key, _value)

import boto3  # noqa: E402
import botocore.loaders  # noqa: E402
import botocore.session  # noqa: E402
import hub_fixtures as catalog  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.response import StreamingBody  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/FineTuningTrainingRole"

_LOADER = botocore.loaders.create_loader()
_NO_DEFAULTS = "# no SageMaker SDK defaults for the oracle\n"


# ----------------------------------------------------------------------------- the intent
@dataclass
class Intent:
    """What a user asks for, in SDK v3 trainer terms."""

    technique: str
    model: str
    training_dataset: str
    model_package_group: str | None = None
    training_type: str = "LORA"
    #: Pass training_type as ``TrainingType.<x>`` (the documented form). As a plain string, SDK v3
    #: sends ``Peft: "FULL"`` for full fine-tuning (_create_serverless_config only maps the enum).
    training_type_as_enum: bool = True
    validation_dataset: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    custom_reward_function: str | None = None
    reward_model_id: str | None = None
    reward_prompt: str | None = None
    mlflow_resource_arn: str | None = None
    mlflow_experiment_name: str | None = None
    mlflow_run_name: str | None = None
    kms_key_id: str | None = None
    sequence_length: str | None = None
    max_runtime_in_seconds: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    accept_eula: bool = False
    s3_output_path: str | None = None
    disable_output_compression: bool = False
    role_arn: str = ROLE_ARN


@dataclass
class SdkCapture:
    request: dict[str, Any]
    calls: list[tuple[str, str, dict[str, Any]]]
    unexpected: list[tuple[str, str, dict[str, Any]]]
    #: Names of the MLflow apps the SDK created (it does when no MLflow ARN is given).
    mlflow_apps_created: list[str] = field(default_factory=list)
    #: Evaluators the SDK registered (RLVR with a Lambda ARN): evaluator ARN -> the Lambda it refers to.
    evaluators_created: dict[str, str] = field(default_factory=dict)

    def operations(self) -> list[str]:
        return [f"{service}:{op}" for service, op, _ in self.calls]


# ----------------------------------------------------------------------------- the fake account
class _AwsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


class FakeAccount:
    """Answers the AWS calls the SDK's serverless fine-tuning path makes."""

    def __init__(
        self,
        region: str = REGION,
        account: str = ACCOUNT,
        *,
        buckets: tuple[str, ...] = (),
        model_packages: dict[str, tuple[str, str]] | None = None,
        evaluators: dict[str, str] | None = None,
        datasets: tuple[str, ...] = (),
    ):
        self.region, self.account = region, account
        #: hub-content DataSet ARNs that exist
        self.datasets = set(datasets)
        #: {s3 uri: body}: the recipes' templates and override params, as the hub documents name them.
        self.objects: dict[str, bytes] = dict(catalog.recipe_objects(region))
        self.buckets = set(buckets) | {uri[5:].split("/", 1)[0] for uri in self.objects}
        #: model package ARN -> (base model hub content name, group name)
        self.model_packages = dict(model_packages or {})
        #: evaluator (hub-content JsonDoc) ARN -> the Lambda ARN it refers to
        self.evaluators = dict(evaluators or {})
        self.hubs: dict[str, dict[str, Any]] = {}
        self.imported: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.unexpected: list[tuple[str, str, dict[str, Any]]] = []
        self.training_requests: list[dict[str, Any]] = []
        self.mlflow_apps: list[str] = []

    # -- botocore hooks
    def remember_params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        context["oracle_params"] = copy.deepcopy(params)

    def answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        service = model.service_model.service_name
        op = model.name
        params = context.get("oracle_params", {})
        self.calls.append((service, op, params))
        handler = getattr(self, f"_{service.replace('-', '_')}_{op}", None)
        try:
            if handler is None:
                self.unexpected.append((service, op, params))
                raise _AwsError("UnexpectedCall", f"the SDK oracle's fake account does not answer {service}:{op}")
            parsed = handler(**params)
            status = 200
        except _AwsError as exc:
            parsed = {"Error": {"Code": exc.code, "Message": exc.message}}
            status = exc.status
        parsed.setdefault("ResponseMetadata", {"RequestId": "oracle", "HTTPStatusCode": status, "HTTPHeaders": {}})
        return AWSResponse(f"https://{service}.{self.region}.amazonaws.com/", status, {}, None), parsed

    # -- sts
    def _sts_GetCallerIdentity(self) -> dict[str, Any]:
        return {"Account": self.account, "Arn": f"arn:aws:sts::{self.account}:assumed-role/oracle/test", "UserId": "AROAORACLE:test"}

    # -- iam: TrainDefaults.get_role validates the execution role client-side (simulator + trust policy)
    def _sagemaker_trust(self) -> str:
        return json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        })

    def _iam_GetRole(self, RoleName: str) -> dict[str, Any]:
        name = RoleName.rsplit("/", 1)[-1]
        return {"Role": {
            "Path": "/", "RoleName": name, "RoleId": "AROAORACLEROLE000000", "Arn": f"arn:aws:iam::{self.account}:role/{name}",
            "CreateDate": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "AssumeRolePolicyDocument": self._sagemaker_trust(),
        }}

    def _iam_SimulatePrincipalPolicy(self, ActionNames: list[str], **_: Any) -> dict[str, Any]:
        return {"EvaluationResults": [{"EvalActionName": a, "EvalResourceName": "*", "EvalDecision": "allowed"} for a in ActionNames], "IsTruncated": False}

    # -- s3
    def _object(self, Bucket: str, Key: str) -> bytes:
        uri = f"s3://{Bucket}/{Key}"
        if uri in self.objects:
            return self.objects[uri]
        if Bucket in self.buckets and Key.endswith((".jsonl", ".json")):
            # A user dataset: one text-only record (the SDK's multimodal probe reads it).
            record = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
            return json.dumps(record).encode() + b"\n"
        raise _AwsError("NoSuchKey", f"no object {uri}", 404)

    def _s3_GetObject(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        data = self._object(Bucket, Key)
        return {"Body": _body(data), "ContentLength": len(data), "ETag": '"oracle"', "LastModified": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}

    def _s3_HeadObject(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        data = self._object(Bucket, Key)
        return {"ContentLength": len(data), "ETag": '"oracle"', "LastModified": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}

    def _s3_HeadBucket(self, Bucket: str, **_: Any) -> dict[str, Any]:
        if Bucket not in self.buckets:
            raise _AwsError("404", "Not Found", 404)
        return {"BucketRegion": self.region}

    def _s3_ListObjectsV2(self, Bucket: str, Prefix: str = "", **_: Any) -> dict[str, Any]:
        if Bucket not in self.buckets:
            raise _AwsError("NoSuchBucket", f"no bucket {Bucket}", 404)
        return {"KeyCount": 1, "Contents": [{"Key": Prefix or "object", "Size": 1}], "IsTruncated": False, "Name": Bucket, "Prefix": Prefix}

    def _s3_PutObject(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        if Bucket not in self.buckets:
            raise _AwsError("NoSuchBucket", f"no bucket {Bucket}", 404)
        return {"ETag": '"oracle"'}

    # -- sagemaker: hub
    def _sagemaker_DescribeHubContent(
        self, HubName: str, HubContentType: str, HubContentName: str, HubContentVersion: str | None = None
    ) -> dict[str, Any]:
        if HubName == catalog.PUBLIC_HUB_NAME and HubContentType == "Model" and HubContentName in catalog.model_ids():
            response = catalog.describe_hub_content(self.region, HubContentName)
            response["CreationTime"] = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
            return response
        if (HubName, HubContentName) in self.imported and HubContentType == "JsonDoc":
            return copy.deepcopy(self.imported[(HubName, HubContentName)])
        if HubContentType == "DataSet":
            for arn in self.datasets:
                parts = arn.split(":", 5)[5].split("/")
                if parts[1:4] == [HubName, "DataSet", HubContentName]:
                    return {**self._evaluator_description(arn, ""), "HubContentType": "DataSet", "HubContentDocument": "{}"}
        for arn, target in self.evaluators.items():
            parts = arn.split(":", 5)[5].split("/")
            if parts[1:4] == [HubName, HubContentType, HubContentName]:
                return self._evaluator_description(arn, target)
        raise _AwsError("ResourceNotFound", f"hub content {HubName}/{HubContentType}/{HubContentName} not found")

    def _evaluator_description(self, arn: str, target: str) -> dict[str, Any]:
        parts = arn.split(":", 5)[5].split("/")
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        return {
            "HubContentName": parts[3],
            "HubContentArn": arn,
            "HubContentVersion": parts[4] if len(parts) > 4 else "1.0.0",
            "HubContentType": "JsonDoc",
            "DocumentSchemaVersion": "2.0.0",
            "HubName": parts[1],
            "HubArn": f"arn:aws:sagemaker:{self.region}:{self.account}:hub/{parts[1]}",
            "HubContentDocument": json.dumps(
                {"SubType": "AWS/Evaluator", "JsonContent": json.dumps({"Reference": target, "EvaluatorType": "RewardFunction"})}
            ),
            "HubContentStatus": "Available",
            "CreationTime": now,
            "LastModifiedTime": now,
        }

    def _sagemaker_DescribeHub(self, HubName: str) -> dict[str, Any]:
        if HubName not in self.hubs:
            raise _AwsError("ResourceNotFound", f"hub {HubName} not found")
        return copy.deepcopy(self.hubs[HubName])

    def _sagemaker_CreateHub(self, HubName: str, HubDescription: str, **rest: Any) -> dict[str, Any]:
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:hub/{HubName}"
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        self.hubs[HubName] = {
            "HubName": HubName, "HubArn": arn, "HubDescription": HubDescription, "HubStatus": "InService",
            "CreationTime": now, "LastModifiedTime": now, **rest,
        }
        return {"HubArn": arn}

    def _sagemaker_ImportHubContent(
        self, HubName: str, HubContentName: str, HubContentType: str, HubContentDocument: str,
        DocumentSchemaVersion: str, HubContentVersion: str = "1.0.0", **rest: Any,
    ) -> dict[str, Any]:
        if HubName not in self.hubs:
            raise _AwsError("ResourceNotFound", f"hub {HubName} not found")
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:hub-content/{HubName}/{HubContentType}/{HubContentName}/{HubContentVersion}"
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        self.imported[(HubName, HubContentName)] = {
            "HubContentName": HubContentName, "HubContentArn": arn, "HubContentVersion": HubContentVersion,
            "HubContentType": HubContentType, "DocumentSchemaVersion": DocumentSchemaVersion, "HubName": HubName,
            "HubArn": self.hubs[HubName]["HubArn"], "HubContentDocument": HubContentDocument,
            "HubContentSearchKeywords": rest.get("HubContentSearchKeywords", []),
            "HubContentStatus": "Available", "CreationTime": now, "LastModifiedTime": now,
        }
        return {"HubArn": self.hubs[HubName]["HubArn"], "HubContentArn": arn}

    # -- sagemaker: model packages
    def _group_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:model-package-group/{name}"

    def _sagemaker_DescribeModelPackageGroup(self, ModelPackageGroupName: str) -> dict[str, Any]:
        name = ModelPackageGroupName.rsplit("/", 1)[-1]
        return {
            "ModelPackageGroupName": name,
            "ModelPackageGroupArn": self._group_arn(name),
            "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            "CreatedBy": {},
            "ModelPackageGroupStatus": "Completed",
        }

    def _sagemaker_DescribeModelPackage(self, ModelPackageName: str) -> dict[str, Any]:
        if ModelPackageName not in self.model_packages:
            raise _AwsError("ValidationException", f"model package {ModelPackageName} does not exist")
        base, group = self.model_packages[ModelPackageName]
        return {
            "ModelPackageName": group,
            "ModelPackageGroupName": group,
            "ModelPackageVersion": int(ModelPackageName.rsplit("/", 1)[-1]),
            "ModelPackageArn": ModelPackageName,
            "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
            "ModelPackageStatus": "Completed",
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": f"763104351884.dkr.ecr.{self.region}.amazonaws.com/djl-inference:latest",
                        "BaseModel": {"HubContentName": base, "HubContentVersion": "1.0.0"},
                    }
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        }

    # -- sagemaker: MLflow. Without an explicit ARN the SDK looks for an account default app and,
    # finding none (this account has none), creates one and waits for it.
    def _sagemaker_ListMlflowApps(self, **_: Any) -> dict[str, Any]:
        return {"Summaries": []}

    def _sagemaker_CreateMlflowApp(self, Name: str, **_: Any) -> dict[str, Any]:
        self.mlflow_apps.append(Name)
        return {"Arn": f"arn:aws:sagemaker:{self.region}:{self.account}:mlflow-app/app-{len(self.mlflow_apps):012d}"}

    def _sagemaker_DescribeMlflowApp(self, Arn: str) -> dict[str, Any]:
        return {"Arn": Arn, "Status": "Created"}

    def _s3_CreateBucket(self, Bucket: str, **_: Any) -> dict[str, Any]:
        self.buckets.add(Bucket)
        return {"Location": f"/{Bucket}"}

    # -- sagemaker: the training job
    def _sagemaker_CreateTrainingJob(self, **request: Any) -> dict[str, Any]:
        self.training_requests.append(copy.deepcopy(request))
        return {"TrainingJobArn": f"arn:aws:sagemaker:{self.region}:{self.account}:training-job/{request['TrainingJobName'].lower()}"}

    def _sagemaker_DescribeTrainingJob(self, TrainingJobName: str) -> dict[str, Any]:
        request = next(r for r in reversed(self.training_requests) if r["TrainingJobName"] == TrainingJobName)
        now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        return {
            "TrainingJobName": TrainingJobName,
            "TrainingJobArn": f"arn:aws:sagemaker:{self.region}:{self.account}:training-job/{TrainingJobName.lower()}",
            "ModelArtifacts": {"S3ModelArtifacts": ""},
            "TrainingJobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "RoleArn": request["RoleArn"],
            "OutputDataConfig": request["OutputDataConfig"],
            "StoppingCondition": request.get("StoppingCondition", {"MaxRuntimeInSeconds": 86400}),
            "CreationTime": now,
        }


# ----------------------------------------------------------------------------- running the SDK
def fake_boto3_session(account: FakeAccount) -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)  # share parsed service models (speed only)
    core.register("before-parameter-build", account.remember_params)
    core.register("before-call", account.answer)
    return boto3.Session(
        botocore_session=core,
        region_name=account.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


@contextlib.contextmanager
def _sdk_environment(session: boto3.Session) -> Iterator[None]:
    """The I/O edges, set for the duration of one SDK run and restored afterwards."""
    from unittest import mock

    from sagemaker.ai_registry.air_hub import AIRHub
    from sagemaker.core.telemetry import telemetry_logging

    names = ("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", "SAGEMAKER_USER_CONFIG_OVERRIDE", "SAGEMAKER_HUB_NAME", "AWS_EC2_METADATA_DISABLED", "AWS_DEFAULT_REGION")
    saved_env = {k: os.environ.get(k) for k in names}
    saved_default = boto3.DEFAULT_SESSION
    saved_hub = AIRHub.__dict__.get("hubName"), AIRHub.__dict__.get("hubDisplayName")
    saved_clients = AIRHub._sagemaker_client, AIRHub._s3_client
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(telemetry_logging, "_send_telemetry_request", lambda *a, **k: None):
        config = Path(tmp) / "config.yaml"
        config.write_text(_NO_DEFAULTS, encoding="utf-8")
        try:
            os.environ["SAGEMAKER_ADMIN_CONFIG_OVERRIDE"] = str(config)  # no SDK defaults from this machine
            os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)
            os.environ.pop("SAGEMAKER_HUB_NAME", None)  # SageMakerPublicHub
            os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
            os.environ["AWS_DEFAULT_REGION"] = session.region_name
            boto3.DEFAULT_SESSION = session  # session-less boto3.client(...) calls reach the fake too
            # AIRHub's class-level clients were made at import time from the default session; the
            # evaluator's wait() (Evaluator.refresh) uses them, so they must reach the fake too.
            AIRHub._sagemaker_client = session.client("sagemaker")
            AIRHub._s3_client = session.client("s3")
            for attr in ("hubName", "hubDisplayName"):  # the AI Registry hub name cache (per account)
                if attr in AIRHub.__dict__:
                    delattr(AIRHub, attr)
            yield
        finally:
            boto3.DEFAULT_SESSION = saved_default
            AIRHub._sagemaker_client, AIRHub._s3_client = saved_clients
            for attr, value in zip(("hubName", "hubDisplayName"), saved_hub, strict=True):
                if attr in AIRHub.__dict__:
                    delattr(AIRHub, attr)
                if value is not None:
                    setattr(AIRHub, attr, value)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


#: Public names of the pieces above, for the oracles built on this one (``tests/sdk_eval_oracle.py``).
AwsError = _AwsError
sdk_environment = _sdk_environment
streaming_body = _body


def _trainer(intent: Intent, sm_session: Any) -> Any:
    from sagemaker.core.training.configs import StoppingCondition
    from sagemaker.train.common import TrainingType
    from sagemaker.train.dpo_trainer import DPOTrainer
    from sagemaker.train.rlaif_trainer import RLAIFTrainer
    from sagemaker.train.rlvr_trainer import RLVRTrainer
    from sagemaker.train.sft_trainer import SFTTrainer

    kwargs: dict[str, Any] = dict(
        model=intent.model,
        training_type=TrainingType(intent.training_type) if intent.training_type_as_enum else intent.training_type,
        model_package_group=intent.model_package_group,
        mlflow_resource_arn=intent.mlflow_resource_arn,
        mlflow_experiment_name=intent.mlflow_experiment_name,
        mlflow_run_name=intent.mlflow_run_name,
        training_dataset=intent.training_dataset,
        validation_dataset=intent.validation_dataset,
        s3_output_path=intent.s3_output_path,
        kms_key_id=intent.kms_key_id,
        accept_eula=intent.accept_eula,
        sequence_length=intent.sequence_length,
        sagemaker_session=sm_session,
        role=intent.role_arn,
        disable_output_compression=intent.disable_output_compression,
    )
    if intent.max_runtime_in_seconds is not None:
        kwargs["stopping_condition"] = StoppingCondition(max_runtime_in_seconds=intent.max_runtime_in_seconds)
    if intent.tags:
        # The form SDK v3 uses for its own JumpStart tags (utils._get_jumpstart_tags).
        kwargs["tags"] = [{"key": k, "value": v} for k, v in intent.tags.items()]
    if intent.hyperparameters:
        # Same path as ``trainer.hyperparameters.<name> = value`` (BaseTrainer._apply_user_hyperparameters).
        kwargs["hyperparameters"] = dict(intent.hyperparameters)
    if intent.technique == "SFT":
        return SFTTrainer(**kwargs)
    if intent.technique == "DPO":
        return DPOTrainer(**kwargs)
    if intent.technique == "RLVR":
        # The pre-launch reward verification (a Lambda invocation on dataset samples) is a separate
        # state of our workflow; it does not change the request, so the oracle skips it.
        return RLVRTrainer(custom_reward_function=intent.custom_reward_function, skip_reward_validation=True, **kwargs)
    if intent.technique == "RLAIF":
        return RLAIFTrainer(reward_model_id=intent.reward_model_id, reward_prompt=intent.reward_prompt, **kwargs)
    raise ValueError(f"unknown technique {intent.technique!r}")


def capture_sdk_request(
    intent: Intent,
    *,
    region: str = REGION,
    account_id: str = ACCOUNT,
    buckets: tuple[str, ...] = (),
    model_packages: dict[str, tuple[str, str]] | None = None,
    evaluators: dict[str, str] | None = None,
    datasets: tuple[str, ...] = (),
) -> SdkCapture:
    """Run the SDK v3 trainer for ``intent`` against the fake account; return its CreateTrainingJob request."""
    from sagemaker.core.helper.session_helper import Session

    account = FakeAccount(
        region, account_id, buckets=buckets, model_packages=model_packages, evaluators=evaluators, datasets=datasets
    )
    boto_session = fake_boto3_session(account)
    with _sdk_environment(boto_session):
        sm_session = Session(boto_session=boto_session)
        trainer = _trainer(intent, sm_session)
        trainer.train(wait=False)
    if len(account.training_requests) != 1:
        raise AssertionError(f"expected one CreateTrainingJob call, saw {len(account.training_requests)}: {account.calls}")
    created = {
        doc["HubContentArn"]: json.loads(json.loads(doc["HubContentDocument"])["JsonContent"])["Reference"]
        for doc in account.imported.values()
    }
    return SdkCapture(account.training_requests[0], account.calls, account.unexpected, account.mlflow_apps, created)


# ----------------------------------------------------------------------------- request checks
def create_training_job_shape() -> Any:
    return botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape


_SHAPE = None


def request_errors(request: dict[str, Any]) -> list[str]:
    """botocore's ParamValidator report plus the service model's max / pattern / enum constraints.

    botocore validates types, required members and minimums only; the service also enforces
    ``max``, ``pattern`` (unanchored in the model: matched in full here, with the ``regex``
    module for ``\\p{L}``-style classes) and ``enum``. Which of these the service enforces exactly
    is inferred from the model, not observed.
    """
    import regex
    from botocore.validate import ParamValidator

    global _SHAPE
    if _SHAPE is None:
        _SHAPE = create_training_job_shape()
    report = ParamValidator().validate(request, _SHAPE)
    errors = [report.generate_report()] if report.has_errors() else []
    # Model patterns are Java regexes matched in full; here too "." does not match a newline.

    def walk(value: Any, shape: Any, path: str) -> None:
        md = shape.metadata
        if shape.type_name == "structure" and isinstance(value, dict):
            for name, member in value.items():
                if name in shape.members:
                    walk(member, shape.members[name], f"{path}.{name}")
        elif shape.type_name == "list" and isinstance(value, list):
            if "max" in md and len(value) > md["max"]:
                errors.append(f"{path}: {len(value)} items > max {md['max']}")
            for i, item in enumerate(value):
                walk(item, shape.member, f"{path}[{i}]")
        elif shape.type_name == "map" and isinstance(value, dict):
            if "max" in md and len(value) > md["max"]:
                errors.append(f"{path}: {len(value)} entries > max {md['max']}")
            for k, v in value.items():
                walk(k, shape.key, f"{path}{{key {k!r}}}")
                walk(v, shape.value, f"{path}[{k!r}]")
        elif shape.type_name == "string" and isinstance(value, str):
            if "max" in md and len(value) > md["max"]:
                errors.append(f"{path}: length {len(value)} > max {md['max']}")
            if "pattern" in md and not regex.fullmatch(md["pattern"], value):
                errors.append(f"{path}: {value!r} does not match {md['pattern']}")
            if shape.enum and value not in shape.enum:
                errors.append(f"{path}: {value!r} not in {shape.enum}")
        elif shape.type_name in ("integer", "long") and isinstance(value, int):
            if "max" in md and value > md["max"]:
                errors.append(f"{path}: {value} > max {md['max']}")

    walk(request, _SHAPE, "CreateTrainingJob")
    return errors


def assert_valid_request(request: dict[str, Any]) -> None:
    errors = request_errors(request)
    assert not errors, "invalid CreateTrainingJob request:\n" + "\n".join(errors)
