"""SDK v3 as an oracle for serverless evaluation: the Training steps of the SageMaker Pipeline it renders.

``capture_eval_requests(intent)`` builds the real evaluator of sagemaker-train 1.27.0
(``BenchMarkEvaluator``, ``CustomScorerEvaluator`` or ``LLMAsJudgeEvaluator`` from
``sagemaker.train.evaluate``) for a fine-tuned model package and runs its ordinary public path,
``evaluate()``. The SDK renders a Jinja pipeline definition (``evaluate/pipeline_templates.py``),
creates (or updates) the pipeline ``SagemakerEvaluation-<type>-<uuid>`` and starts an execution. The
``PipelineDefinition`` it sends with CreatePipeline / UpdatePipeline is the oracle's output: its
``Training`` steps carry the CreateTrainingJob ``Arguments`` SageMaker Pipelines sends at run time.

The technique is ``tests/sdk_oracle.py``'s (read its docstring): a boto3 session whose botocore
hooks answer every AWS call from an in-memory account, the same I/O edges
(``sdk_oracle.sdk_environment``: no telemetry, no user config, no real credentials), no SDK logic
patched. :class:`EvalAccount` extends ``sdk_oracle.FakeAccount`` with what evaluation needs:

* **the hub**: DescribeHubContent of the base model from the project's hub data
  (``tests/hub_fixtures.py``), plus one evaluation recipe the project's data lacks (below);
* **the model package** (DescribeModelPackage: base model = the intent's ``base_model_id``);
* **lineage**: ListArtifacts / CreateArtifact / DescribeArtifact (the model package's artifact);
* **pipelines**: ListPipelines, ListTags, CreatePipeline, UpdatePipeline, DescribePipeline,
  StartPipelineExecution, DescribePipelineExecution;
* **Bedrock** (LLM-as-judge): the supported-judge list in S3 and GetFoundationModel;
* S3 probes of the dataset, IAM role checks, MLflow (as sdk_oracle).

Answers that encode an assumption (each also in the report of the oracle's author):

``eval_recipe()`` / ``EVAL_OVERRIDE_PARAMS``
    The project's hub data (``sagemaker_finetuning_emulator.hub_data``) holds fine-tuning recipes
    only. SDK v3 reads the inference defaults of benchmark and custom-scorer jobs from the model's
    ``Type: Evaluation`` / ``EvaluationType: DeterministicEvaluation`` recipe
    (``recipe_utils._get_evaluation_override_params``) and silently sends none without one.
    The recipe entry and its override params are those of AWS's recipes repository
    (``aws/sagemaker-hyperpod-recipes`` @ 0700d223, ``launcher/recipe_templatization/evaluation/``:
    ``evaluation_recipe_template_processor.py`` ``get_recipe_metadata`` and the
    ``open_source_deterministic_eval`` ``recipe_override_parameters`` of
    ``evaluation_recipe_template_parameters.json``, restricted to the keys the SDK reads,
    ``_extract_eval_override_options``). That the public hub serves it for the base model is
    inferred: the model is in ``js_model_name_instance_mapping`` of ``evaluation_regional_parameters.json``.
    ``EvalAccount(eval_recipe=False)`` serves the project's hub data unchanged.
``SUPPORTED_JUDGE_MODELS``
    ``LLMAsJudgeEvaluator`` validates ``evaluator_model`` against
    ``s3://jumpstart-cache-prod-<region>/fmhMetadata/supported-llmaj-judge-models.json``
    (``llm_as_judge_evaluator._fetch_supported_judge_model_ids``); the file is not public. Served
    here: the shape of the SDK's unit tests (``{"schema_version": "1.0", "supported_judge_models":
    [{"model_id": ...}]}``) listing the evaluator models of Bedrock's documentation for built-in
    metrics (the page the SDK's error messages cite). GetFoundationModel answers ``ACTIVE`` for those
    and for the RLAIF judges SDK v3 allows in the region (``bedrock_models``), ResourceNotFound else.
``EvalIntent.evaluator_lambda``
    What DescribeHubContent of a hub evaluator (JsonDoc) would answer. SDK v3 1.27.0 does not look the
    evaluator up on the serverless path: it passes the ARN through as ``EvaluatorArn``.

Two I/O edges beyond sdk_oracle's (``offline_edges``): sagemaker-core resources called without a
session get the fake session, and botocore's HTTP sender refuses to send (nothing reaches a network).

Everything the SDK sends is recorded (``EvalCapture.calls``); an operation the account does not know
is answered with an error and recorded in ``EvalCapture.unexpected``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterator

import hub_fixtures as catalog
import sdk_oracle as O

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning_emulator.hub_data import recipe_uris  # the hub's recipe key layout

REGION, ACCOUNT, ROLE_ARN = O.REGION, O.ACCOUNT, O.ROLE_ARN
BASE_MODEL_ID = catalog.DEFAULT_MODEL_ID  # huggingface-reasoning-qwen3-06b
BUCKET = "ft-stack-bucket"
DATA_BUCKET = "ft-shared-datasets"
GROUP = "ft-models"
MODEL_PACKAGE_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{GROUP}/3"
MLFLOW_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-ABCDEF123456"
OUTPUT_PATH = f"s3://{BUCKET}/evaluations/"
DATASET = f"s3://{DATA_BUCKET}/eval/gen_qa.jsonl"
EVALUATOR_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hub-content/FtRegistry/JsonDoc/ft-reward/1.0.0"
EVALUATOR_LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ft-reward"
#: A judge in the Bedrock list below; the SDK's own integration tests use it as "in service".
JUDGE_MODEL_ID = "anthropic.claude-haiku-4-5-20251001-v1:0"

#: Evaluator models for built-in metrics, https://docs.aws.amazon.com/bedrock/latest/userguide/
#: evaluation-judge.html#evaluation-judge-supported (the page the SDK cites, _EVALUATOR_JUDGE_DOCS_URL).
SUPPORTED_JUDGE_MODELS = (
    "amazon.nova-pro-v1:0",
    "amazon.nova-2-lite-v1:0",
    "amazon.nova-micro-v1:0",
    "amazon.nova-premier-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0",
    "anthropic.claude-opus-4-5-20251101-v1:0",
    "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "mistral.mistral-large-2402-v1:0",
)
JUDGE_LIST_KEY = "fmhMetadata/supported-llmaj-judge-models.json"

#: The open-source deterministic evaluation recipe's override params (see the module docstring):
#: the keys ``_extract_eval_override_options`` reads, as the recipes repository declares them.
EVAL_OVERRIDE_PARAMS: dict[str, dict[str, Any]] = {
    "max_new_tokens": {"type": "integer", "default": 8192, "required": False},
    "top_k": {"type": "integer", "default": -1, "required": False},
    "top_p": {"type": "number", "default": 1.0, "required": False},
    "temperature": {"type": "integer", "default": 0, "required": False},
    "max_model_len": {"type": "integer", "default": 12000, "required": False},
    "postprocessing": {"type": "boolean", "default": False, "required": False},
    "aggregation": {
        "type": "string", "enum": ["average", "median", "max", "min", "sum"], "default": "", "required": False,
    },
}


def eval_recipe(region: str, model_id: str) -> dict[str, Any]:
    """The model's ``DeterministicEvaluation`` RecipeCollection entry (recipes repository metadata)."""
    name = eval_recipe_name(model_id)
    _, override_uri = recipe_uris(region, model_id, name)
    return {
        "Name": name,
        "DisplayName": f"Open Source Evaluation Evaluation on GPU - {model_id.replace('-', ' ').title()}",
        "Type": "Evaluation",
        "EvaluationType": "DeterministicEvaluation",
        "Hardware": "GPU",
        "Versions": ["1.0"],
        "SmtjOverrideParamsS3Uri": override_uri,
    }


# ----------------------------------------------------------------------------- the intent
@dataclass(frozen=True)
class EvalIntent:
    """One serverless evaluation of a fine-tuned model package, in SDK v3 evaluator terms."""

    kind: str  # "benchmark" | "custom_scorer" | "llm_as_judge"
    model_package_arn: str = MODEL_PACKAGE_ARN
    base_model_id: str = BASE_MODEL_ID
    compare_to_base: bool = False
    benchmark: str | None = None
    dataset: str | None = None
    #: custom_scorer: a hub evaluator ARN (JsonDoc) or a built-in ("prime_math" / "prime_code")
    evaluator: str | None = None
    judge_model_id: str | None = None
    #: llm_as_judge built-in metrics, with or without "Builtin." (the SDK strips it)
    metrics: tuple[str, ...] = ()
    s3_output_path: str = OUTPUT_PATH
    mlflow_resource_arn: str | None = MLFLOW_ARN
    mlflow_experiment_name: str | None = None
    mlflow_run_name: str | None = None
    kms_key_id: str | None = None
    role_arn: str = ROLE_ARN
    region: str = REGION
    account: str = ACCOUNT
    #: The Lambda a hub evaluator refers to (what DescribeHubContent of the JsonDoc answers).
    evaluator_lambda: str = EVALUATOR_LAMBDA

    @property
    def group(self) -> str:
        return self.model_package_arn.split(":", 5)[5].split("/")[1]


@dataclass
class EvalCapture:
    #: The PipelineDefinition sent with CreatePipeline / UpdatePipeline (parsed).
    definition: dict[str, Any]
    #: (step name, step type, arguments) of every step, in the definition's order.
    steps: list[tuple[str, str, dict[str, Any]]]
    #: Training step name -> its Arguments (a CreateTrainingJob request, pipeline expressions kept).
    training_requests: OrderedDict[str, dict[str, Any]]
    calls: list[tuple[str, str, dict[str, Any]]]
    unexpected: list[tuple[str, str, dict[str, Any]]]
    pipeline_name: str
    #: The StartPipelineExecution request.
    start_request: dict[str, Any]
    #: What evaluate() returned (an EvaluationPipelineExecution).
    execution: Any = None
    mlflow_apps_created: list[str] = field(default_factory=list)
    #: "CreatePipeline" or "UpdatePipeline" (an evaluation pipeline of the kind already existed).
    pipeline_operation: str = "CreatePipeline"
    #: Its request without the PipelineDefinition (name, role, tags, display name, ...).
    pipeline_request: dict[str, Any] = field(default_factory=dict)

    def operations(self) -> list[str]:
        return [f"{service}:{op}" for service, op, _ in self.calls]

    def expressions(self, step: str) -> dict[str, Any]:
        """Where a Training step's Arguments hold pipeline expressions: dotted path -> expression."""
        return dict(pipeline_expressions(self.training_requests[step]))


# ----------------------------------------------------------------------------- pipeline expressions
def is_expression(value: Any) -> bool:
    """A SageMaker Pipelines expression (``{"Get": ...}``, ``{"Std:Join": ...}``, ...), resolved at run time."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Get", "Std:Join", "Std:JsonGet")


def pipeline_expressions(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if is_expression(value):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from pipeline_expressions(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from pipeline_expressions(item, f"{path}[{i}]")


def with_placeholders(arguments: dict[str, Any], placeholder: str = "PipelineExpression") -> dict[str, Any]:
    """The Arguments as CreateTrainingJob would receive them: expressions as a placeholder string.

    SageMaker Pipelines names a Training step's job itself when the Arguments carry no
    TrainingJobName (benchmark and custom-scorer steps); the placeholder stands for that name too.
    """

    def walk(value: Any) -> Any:
        if is_expression(value):
            return placeholder
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    request = walk(copy.deepcopy(arguments))
    request.setdefault("TrainingJobName", placeholder)
    return request


# ----------------------------------------------------------------------------- the fake account
_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class EvalAccount(O.FakeAccount):
    """``sdk_oracle.FakeAccount`` plus what SDK v3's serverless evaluation path calls."""

    def __init__(self, intent: EvalIntent, *, eval_recipe: bool = True, existing_pipeline: bool = False,
                 supported_judges: tuple[str, ...] | None = SUPPORTED_JUDGE_MODELS):
        buckets = {uri[5:].split("/", 1)[0] for uri in (intent.s3_output_path, intent.dataset) if uri}
        evaluators = {intent.evaluator: intent.evaluator_lambda} if (intent.evaluator or "").startswith("arn:") else {}
        super().__init__(intent.region, intent.account, buckets=tuple(sorted(buckets)),
                         model_packages={intent.model_package_arn: (intent.base_model_id, intent.group)},
                         evaluators=evaluators)
        self.eval_recipe = eval_recipe
        if eval_recipe:
            _, override_uri = recipe_uris(self.region, intent.base_model_id, eval_recipe_name(intent.base_model_id))
            self.objects[override_uri] = json.dumps(EVAL_OVERRIDE_PARAMS).encode()
        if supported_judges is not None:
            doc = {"schema_version": "1.0", "supported_judge_models": [{"model_id": m} for m in supported_judges]}
            self.objects[f"s3://jumpstart-cache-prod-{self.region}/{JUDGE_LIST_KEY}"] = json.dumps(doc).encode()
        self.buckets |= {uri[5:].split("/", 1)[0] for uri in self.objects}
        self.artifacts: dict[str, dict[str, Any]] = {}
        #: pipeline name -> DescribePipeline answer (+ "Tags")
        self.pipelines: dict[str, dict[str, Any]] = {}
        #: (operation, request) of every CreatePipeline / UpdatePipeline
        self.pipeline_requests: list[tuple[str, dict[str, Any]]] = []
        self.executions: dict[str, dict[str, Any]] = {}
        self.start_requests: list[dict[str, Any]] = []
        if existing_pipeline:
            self._add_pipeline(f"SagemakerEvaluation-{eval_type_name(intent.kind)}-{uuid.UUID(int=1)}", "{}", intent.role_arn,
                               [{"Key": "SagemakerModelEvaluation", "Value": "true"}])

    # -- sagemaker: the hub, with the evaluation recipe
    def _sagemaker_DescribeHubContent(self, HubName: str, HubContentType: str, HubContentName: str,
                                      HubContentVersion: str | None = None) -> dict[str, Any]:
        response = super()._sagemaker_DescribeHubContent(HubName, HubContentType, HubContentName, HubContentVersion)
        if self.eval_recipe and HubName == catalog.PUBLIC_HUB_NAME and HubContentType == "Model":
            document = json.loads(response["HubContentDocument"])
            document["RecipeCollection"].append(eval_recipe(self.region, HubContentName))
            response["HubContentDocument"] = json.dumps(document)
        return response

    # -- sagemaker: lineage (BaseEvaluator._get_or_create_artifact_arn)
    def _sagemaker_ListArtifacts(self, SourceUri: str | None = None, **_: Any) -> dict[str, Any]:
        found = [a for a in self.artifacts.values() if SourceUri in (None, a["Source"]["SourceUri"])]
        return {"ArtifactSummaries": [{k: a[k] for k in ("ArtifactArn", "ArtifactName", "Source", "ArtifactType",
                                                          "CreationTime", "LastModifiedTime")} for a in found]}

    def _sagemaker_CreateArtifact(self, Source: dict[str, Any], ArtifactType: str, **rest: Any) -> dict[str, Any]:
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:artifact/{uuid.uuid5(uuid.NAMESPACE_URL, Source['SourceUri']).hex}"
        self.artifacts[arn] = {"ArtifactArn": arn, "ArtifactName": rest.get("ArtifactName", arn.rsplit("/", 1)[1]),
                               "Source": Source, "ArtifactType": ArtifactType,
                               "Properties": rest.get("Properties", {}), "CreationTime": _NOW, "LastModifiedTime": _NOW}
        return {"ArtifactArn": arn}

    def _sagemaker_DescribeArtifact(self, ArtifactArn: str) -> dict[str, Any]:
        if ArtifactArn not in self.artifacts:
            raise O.AwsError("ResourceNotFound", f"artifact {ArtifactArn} not found")
        return copy.deepcopy(self.artifacts[ArtifactArn])

    # -- sagemaker: pipelines (execution._get_or_create_pipeline, EvaluationPipelineExecution.start)
    def _pipeline_arn(self, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{name.lower()}"

    def _add_pipeline(self, name: str, definition: str, role: str, tags: list[dict[str, str]], **rest: Any) -> str:
        self.pipelines[name] = {
            "PipelineArn": self._pipeline_arn(name), "PipelineName": name, "PipelineDefinition": definition,
            "RoleArn": role, "PipelineStatus": "Active", "CreationTime": _NOW, "LastModifiedTime": _NOW,
            "Tags": tags, **{k: v for k, v in rest.items() if k in ("PipelineDisplayName", "PipelineDescription")},
        }
        return self.pipelines[name]["PipelineArn"]

    def _sagemaker_ListPipelines(self, PipelineNamePrefix: str = "", **_: Any) -> dict[str, Any]:
        found = [p for name, p in self.pipelines.items() if name.startswith(PipelineNamePrefix)]
        return {"PipelineSummaries": [{k: p[k] for k in ("PipelineArn", "PipelineName", "RoleArn", "CreationTime",
                                                         "LastModifiedTime")} for p in found]}

    def _sagemaker_ListTags(self, ResourceArn: str, **_: Any) -> dict[str, Any]:
        return {"Tags": next((p["Tags"] for p in self.pipelines.values() if p["PipelineArn"] == ResourceArn), [])}

    def _sagemaker_CreatePipeline(self, PipelineName: str, PipelineDefinition: str, RoleArn: str,
                                  Tags: list[dict[str, str]] | None = None, **rest: Any) -> dict[str, Any]:
        if PipelineName in self.pipelines:
            raise O.AwsError("ResourceInUse", f"pipeline {PipelineName} exists")
        self.pipeline_requests.append(("CreatePipeline", {"PipelineName": PipelineName, "PipelineDefinition": PipelineDefinition,
                                                          "RoleArn": RoleArn, "Tags": copy.deepcopy(Tags), **rest}))
        return {"PipelineArn": self._add_pipeline(PipelineName, PipelineDefinition, RoleArn, list(Tags or []), **rest)}

    def _sagemaker_UpdatePipeline(self, PipelineName: str, PipelineDefinition: str, RoleArn: str | None = None,
                                  **rest: Any) -> dict[str, Any]:
        if PipelineName not in self.pipelines:
            raise O.AwsError("ResourceNotFound", f"pipeline {PipelineName} not found")
        self.pipeline_requests.append(("UpdatePipeline", {"PipelineName": PipelineName, "PipelineDefinition": PipelineDefinition,
                                                          "RoleArn": RoleArn, **rest}))
        self.pipelines[PipelineName].update(PipelineDefinition=PipelineDefinition,
                                            RoleArn=RoleArn or self.pipelines[PipelineName]["RoleArn"])
        return {"PipelineArn": self.pipelines[PipelineName]["PipelineArn"]}

    def _sagemaker_DescribePipeline(self, PipelineName: str, **_: Any) -> dict[str, Any]:
        name = PipelineName.rsplit("/", 1)[-1]
        pipeline = next((p for n, p in self.pipelines.items() if name in (n, n.lower())), None)
        if pipeline is None:
            raise O.AwsError("ResourceNotFound", f"pipeline {PipelineName} not found")
        return {k: copy.deepcopy(v) for k, v in pipeline.items() if k != "Tags"}

    def _sagemaker_StartPipelineExecution(self, PipelineName: str, **request: Any) -> dict[str, Any]:
        self.start_requests.append({"PipelineName": PipelineName, **copy.deepcopy(request)})
        pipeline = self.pipelines[PipelineName]
        arn = f"{pipeline['PipelineArn']}/execution/{uuid.UUID(int=len(self.executions) + 1).hex[:12]}"
        self.executions[arn] = {
            "PipelineArn": pipeline["PipelineArn"], "PipelineExecutionArn": arn,
            "PipelineExecutionDisplayName": request.get("PipelineExecutionDisplayName", ""),
            "PipelineExecutionStatus": "Executing", "CreationTime": _NOW, "LastModifiedTime": _NOW,
        }
        return {"PipelineExecutionArn": arn}

    def _sagemaker_DescribePipelineExecution(self, PipelineExecutionArn: str) -> dict[str, Any]:
        if PipelineExecutionArn not in self.executions:
            raise O.AwsError("ResourceNotFound", f"execution {PipelineExecutionArn} not found")
        return copy.deepcopy(self.executions[PipelineExecutionArn])

    # -- bedrock (LLMAsJudgeEvaluator._check_evaluator_model_lifecycle)
    def _bedrock_GetFoundationModel(self, modelIdentifier: str) -> dict[str, Any]:
        if modelIdentifier not in bedrock_models(self.region):
            raise O.AwsError("ResourceNotFoundException", f"model {modelIdentifier} not found", 404)
        return {"modelDetails": {
            "modelArn": f"arn:aws:bedrock:{self.region}::foundation-model/{modelIdentifier}",
            "modelId": modelIdentifier, "modelLifecycle": {"status": "ACTIVE"},
        }}


def bedrock_models(region: str) -> set[str]:
    """The Bedrock foundation models this account knows (all ``ACTIVE``): the judges of Bedrock
    evaluations above and the RLAIF judges SDK v3 allows in ``region`` (``C.JUDGE_MODEL_REGIONS``)."""
    return set(SUPPORTED_JUDGE_MODELS) | {m for m, regions in C.JUDGE_MODEL_REGIONS.items() if region in regions}


def eval_recipe_name(model_id: str) -> str:
    return f"open-source-eval-{model_id}-deterministic"


def eval_type_name(kind: str) -> str:
    """The pipeline-name part of each kind (evaluate/constants.py ``_get_eval_type_display_name``)."""
    return {"benchmark": "BenchmarkEvaluation", "custom_scorer": "CustomScorerEvaluation",
            "llm_as_judge": "LLMAJEvaluation"}[kind]


# ----------------------------------------------------------------------------- running the SDK
@contextlib.contextmanager
def offline_edges(session: Any, account: EvalAccount) -> Iterator[None]:
    """Two more I/O edges than ``sdk_oracle.sdk_environment``, for the duration of one run.

    * sagemaker-core resources called without a session (``Artifact.get_all`` / ``Artifact.create``
      in ``BaseEvaluator._get_or_create_artifact_arn`` pass a region only) get their client from
      ``SageMakerClient``, which makes a fresh ``boto3.session.Session`` (not
      ``boto3.DEFAULT_SESSION``): ``sagemaker.core.utils.utils.Session`` answers with the fake
      session, and the process-wide client cache is emptied before and after.
    * botocore's HTTP sender refuses to send: a request that escaped the fake account is recorded in
      ``unexpected`` as ``("http", <url>, {})`` and fails, instead of reaching the network. Only the
      capturing thread's requests are recorded: the patch is process-wide, and a daemon thread an
      earlier test left behind (the SDK's telemetry sender, which asks STS for the account) is not
      this capture's SDK path; it is refused all the same.
    """
    import threading
    from unittest import mock

    from botocore.httpsession import URLLib3Session
    from sagemaker.core.utils import utils as core_utils

    capturing = threading.get_ident()

    def refuse(_self: Any, request: Any) -> Any:
        if threading.get_ident() == capturing:
            account.unexpected.append(("http", request.url, {}))
        raise ConnectionError(f"the eval oracle is offline: {request.method} {request.url}")

    core_utils.SageMakerClient.reset()
    try:
        with mock.patch.object(core_utils, "Session", lambda *a, **k: session), \
                mock.patch.object(URLLib3Session, "send", refuse):
            yield
    finally:
        core_utils.SageMakerClient.reset()


def evaluator_for(intent: EvalIntent, sm_session: Any) -> Any:
    """The SDK v3 evaluator for ``intent`` (public classes and enums of ``sagemaker.train.evaluate``)."""
    from sagemaker.train.evaluate import (
        BenchMarkEvaluator,
        CustomScorerEvaluator,
        LLMAsJudgeEvaluator,
        get_benchmarks,
        get_builtin_metrics,
    )

    common: dict[str, Any] = dict(
        model=intent.model_package_arn,
        sagemaker_session=sm_session,
        role=intent.role_arn,
        s3_output_path=intent.s3_output_path,
        mlflow_resource_arn=intent.mlflow_resource_arn,
        mlflow_experiment_name=intent.mlflow_experiment_name,
        mlflow_run_name=intent.mlflow_run_name,
        kms_key_id=intent.kms_key_id,
        evaluate_base_model=intent.compare_to_base,
    )
    if intent.kind == "benchmark":
        return BenchMarkEvaluator(benchmark=get_benchmarks()(intent.benchmark), **common)
    if intent.kind == "custom_scorer":
        evaluator: Any = intent.evaluator
        if evaluator and not evaluator.startswith("arn:"):
            evaluator = get_builtin_metrics()(evaluator)  # the documented form: BuiltInMetric.PRIME_MATH
        return CustomScorerEvaluator(evaluator=evaluator, dataset=intent.dataset, **common)
    if intent.kind == "llm_as_judge":
        return LLMAsJudgeEvaluator(evaluator_model=intent.judge_model_id, dataset=intent.dataset,
                                   builtin_metrics=list(intent.metrics), **common)
    raise ValueError(f"unknown evaluation kind {intent.kind!r}")


def capture_eval_requests(intent: EvalIntent, *, eval_recipe: bool = True, existing_pipeline: bool = False,
                          supported_judges: tuple[str, ...] | None = SUPPORTED_JUDGE_MODELS) -> EvalCapture:
    """Run ``evaluate()`` of the SDK v3 evaluator for ``intent`` against :class:`EvalAccount`."""
    from sagemaker.core.helper.session_helper import Session

    account = EvalAccount(intent, eval_recipe=eval_recipe, existing_pipeline=existing_pipeline,
                          supported_judges=supported_judges)
    boto_session = O.fake_boto3_session(account)
    with O.sdk_environment(boto_session), offline_edges(boto_session, account):
        sm_session = Session(boto_session=boto_session)
        execution = evaluator_for(intent, sm_session).evaluate()
    failure = getattr(getattr(execution, "status", None), "failure_reason", None)
    if failure or len(account.pipeline_requests) != 1 or len(account.start_requests) != 1:
        # EvaluationPipelineExecution.start turns AWS errors into a "Failed" status: surface them.
        raise AssertionError(f"the evaluation did not start ({failure}); calls: {[c[:2] for c in account.calls]}")
    operation, request = account.pipeline_requests[0]
    definition = json.loads(request["PipelineDefinition"])
    steps = [(s["Name"], s["Type"], s.get("Arguments", {})) for s in definition["Steps"]]
    training = OrderedDict((name, args) for name, kind, args in steps if kind == "Training")
    return EvalCapture(
        definition=definition, steps=steps, training_requests=training, calls=account.calls,
        unexpected=account.unexpected, pipeline_name=account.start_requests[0]["PipelineName"],
        start_request=account.start_requests[0], execution=execution, mlflow_apps_created=account.mlflow_apps,
        pipeline_operation=operation, pipeline_request={k: v for k, v in request.items() if k != "PipelineDefinition"},
    )
