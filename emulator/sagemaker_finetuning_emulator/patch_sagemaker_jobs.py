"""Gap 4 - simulated serverless SageMaker training jobs that progress over time.

moto 5.2.5's ``FakeTrainingJob`` indexes ``OutputDataConfig["S3OutputPath"]`` and writes into
``AlgorithmSpecification``, so a serverless request (no AlgorithmSpecification/ResourceConfig)
is a 500; when it does succeed the job is ``Completed`` at once, the serverless fields
(ServerlessJobConfig, ModelPackageConfig, MlflowConfig ...) are dropped, StopTrainingJob does not
exist, no model package is registered and no EventBridge event is sent.

Here ``CreateTrainingJob``/``DescribeTrainingJob``/``StopTrainingJob`` are response methods of
``SageMakerResponse`` backed by a :class:`SimJob` per job. moto's ``FakeTrainingJob`` is still
created (with defaults for what a serverless request leaves out) so ListTrainingJobs, tags and
Search keep working; the simulator keeps its status fields in sync. A clock thread moves each
job through ``InProgress`` (Starting -> Downloading -> Training -> Uploading) to ``Completed``
(model package registered in the ModelPackageConfig group), ``Failed`` or ``Stopped`` and puts a
"SageMaker Training Job State Change" event on the default bus at every (secondary) status change.

Evaluation jobs (``ServerlessJobConfig.JobType=Evaluation``) progress the same way, but register
no model package: on completion they write their results under ``S3OutputPath`` with SDK v3's layout
(``results_<time>.json`` for benchmark / custom-scorer jobs, ``inference_output.jsonl`` for an
inference-only job, ``bedrock_llm_judge_results.json`` plus a per-example ``..._output.jsonl`` for
an LLM-as-judge job, which first checks that its ``inference_data_s3_path`` exists). Metric values
come from the control API, the tags ``sim:metrics`` / ``sim:base-metrics`` or a hash of the job name.

Simulation controls: global duration (``FINETUNE_SIM_JOB_SECONDS``, control API ``/sim``), per
job tags ``sim:duration-seconds``, ``sim:outcome`` (Completed|Failed), ``sim:failure-reason``,
``sim:metrics``, ``sim:base-metrics`` and the control API (forced outcome, event suppression, clock
advance, evaluation metrics).
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import re
import statistics
import threading
import time
import uuid
from typing import Any

from sagemaker_finetuning.core.constants import TERMINAL_JOB_STATUSES
from sagemaker_finetuning_emulator import _patching, catalog, patch_sagemaker_hub
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED
from sagemaker_finetuning_emulator.validation import _plain

_patching.require(
    "moto.sagemaker.models:SageMakerModelBackend.create_training_job",
    "training_job_name",
    "hyper_parameters",
    "algorithm_specification",
    "role_arn",
    "input_data_config",
    "output_data_config",
    "resource_config",
    "vpc_config",
    "stopping_condition",
    "tags",
    "enable_network_isolation",
    "enable_inter_container_traffic_encryption",
    "enable_managed_spot_training",
    "checkpoint_config",
    "debug_hook_config",
    "debug_rule_configurations",
    "tensor_board_output_config",
    "experiment_config",
)
_patching.require("moto.sagemaker.models:SageMakerModelBackend.describe_training_job", "training_job_name")
_patching.require(
    "moto.sagemaker.models:SageMakerModelBackend.create_model_package",
    "model_package_name",
    "model_package_group_name",
    "model_package_description",
    "inference_specification",
    "model_approval_status",
    "customer_metadata_properties",
)
_patching.require("moto.sagemaker.models:SageMakerModelBackend.describe_model_package", "model_package_name")
_patching.require("moto.sagemaker.models:SageMakerModelBackend.describe_model_package_group", "model_package_group_name")
_patching.require("moto.sagemaker.models:sagemaker_backends")
_patching.require("moto.sagemaker.responses:SageMakerResponse.create_training_job")
_patching.require("moto.sagemaker.responses:SageMakerResponse.describe_training_job")
_patching.require("moto.events.models:events_backends")
_patching.require("moto.events.models:EventsBackend.put_events", "events")
_patching.require("moto.s3.models:s3_backends")
_patching.require(
    "moto.sagemaker.models:SageMakerModelBackend.update_model_package",
    "model_package_arn", "model_approval_status", "approval_description", "customer_metadata_properties",
    "customer_metadata_properties_to_remove", "additional_inference_specifications_to_add",
)

DETAIL_TYPE = "SageMaker Training Job State Change"
TERMINAL = TERMINAL_JOB_STATUSES

#: (secondary status, fraction of the job duration at which it starts, status message)
PHASES = (
    ("Starting", 0.0, "Starting the serverless training job"),
    ("Downloading", 0.15, "Downloading the input data"),
    ("Training", 0.25, "Training the model"),
    ("Uploading", 0.85, "Uploading the trained model"),
)
#: The same phases for an evaluation job (JobType=Evaluation): "Training" is the evaluation itself.
EVALUATION_PHASES = (
    ("Starting", 0.0, "Starting the serverless evaluation job"),
    ("Downloading", 0.15, "Downloading the evaluation data"),
    ("Training", 0.25, "Evaluating the model"),
    ("Uploading", 0.85, "Uploading the evaluation results"),
)
_FAIL_AT = 0.55  # a job whose outcome is Failed fails this far into its duration (during Training)
_STOP_FRACTION = 0.1  # Stopping lasts this fraction of the duration (between 0.2 s and 1 s)

_BASE_MODEL_ARN = re.compile(
    r"^arn:[^:]+:sagemaker:(?P<region>[^:]+):(?P<account>[^:]+):hub-content/(?P<hub>[^/]+)/Model/(?P<name>[^/]+)(?:/(?P<version>[^/]+))?$"
)
_GROUP_ARN = re.compile(r"^arn:[^:]+:sagemaker:(?P<region>[^:]+):(?P<account>\d{12}):model-package-group/(?P<name>[^/]+)$")

_jobs_lock = threading.RLock()
#: Every simulated job of this process: (account, region, name) -> SimJob. Cleared on reset.
_JOBS: dict[tuple[str, str, str], "SimJob"] = {}


def _now() -> _dt.datetime:
    return _dt.datetime.now(tz=_dt.timezone.utc)


def _errors() -> Any:
    from moto.sagemaker import exceptions

    return exceptions


def _simulated(text: str) -> str:
    return text if text.startswith(SIMULATED) else f"{SIMULATED}: {text}"


# -- request checks -------------------------------------------------------------------------------


def resolve_base_model(backend: Any, arn: str) -> dict[str, Any]:
    """Find the model a ``BaseModelArn`` names: a public-catalogue model or private-hub Model content."""
    match = _BASE_MODEL_ARN.match(arn or "")
    if not match:
        raise _errors().ValidationError(f"BaseModelArn {arn} is not a hub content ARN of type Model.")
    hub, name = match["hub"], match["name"]
    if hub == catalog.PUBLIC_HUB_NAME:
        if name not in catalog.model_ids():
            raise _errors().ValidationError(
                f"{SIMULATED}: base model {name} does not exist in {catalog.PUBLIC_HUB_NAME} "
                f"(simulated catalogue: {', '.join(catalog.model_ids())})."
            )
        described = catalog.describe_hub_content(backend.region_name, name)
        doc = json.loads(described["HubContentDocument"])
        return {
            "hub": hub,
            "name": name,
            "version": described["HubContentVersion"],
            "public": True,
            "gated": bool(doc.get("GatedBucket")),
            "recipes": doc.get("RecipeCollection", []),
        }
    content = patch_sagemaker_hub.find_content(backend, hub, "Model", name, None)
    if content is None:
        raise _errors().ValidationError(f"Hub content Model/{name} does not exist in hub {hub}.")
    try:
        doc = json.loads(content.document)
    except ValueError:
        doc = {}
    return {
        "hub": hub,
        "name": name,
        "version": content.version,
        "public": False,
        "gated": bool(doc.get("GatedBucket")),
        "recipes": doc.get("RecipeCollection", []),
    }


def _pick_recipe(base: dict[str, Any], sjc: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The recipe of ``base`` that the job config selects, or an error message."""
    recipes = base.get("recipes") or []
    if not recipes:
        return None, None
    technique = sjc.get("CustomizationTechnique")
    peft = sjc.get("Peft")
    seq = sjc.get("SequenceLength")
    candidates = [
        r
        for r in recipes
        if (technique is None or r.get("CustomizationTechnique") == technique)
        and (r.get("Peft") == peft)
        and (seq is None or r.get("SequenceLength") == seq)
    ]
    if candidates:
        return candidates[0], None
    offered = sorted(
        {f"{r.get('CustomizationTechnique')}/{r.get('Peft') or 'FULL'}/{r.get('SequenceLength')}" for r in recipes}
    )
    asked = f"{technique}/{peft or 'FULL'}/{seq or '*'}"
    return None, (
        f"{SIMULATED}: model {base['name']} has no recipe for {asked} "
        f"(simulated catalogue offers {', '.join(offered)})."
    )


def semantic_errors(backend: Any, params: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None, dict[str, Any] | None]:
    """Checks beyond the service model. Returns (errors, base model, recipe)."""
    errors: list[str] = []
    base = recipe = None
    sjc = params.get("ServerlessJobConfig")
    if sjc:
        try:
            base = resolve_base_model(backend, sjc.get("BaseModelArn", ""))
        except Exception as exc:  # noqa: BLE001 - collected into one ValidationException
            errors.append(getattr(exc, "message", str(exc)))
        if base is not None:
            if base["gated"] and not sjc.get("AcceptEula"):
                errors.append(
                    f"{SIMULATED}: model {base['name']} is gated; set ServerlessJobConfig.AcceptEula to true "
                    "to accept its end-user license agreement."
                )
            if sjc.get("JobType") == "FineTuning":
                recipe, problem = _pick_recipe(base, sjc)
                if problem:
                    errors.append(problem)
        if sjc.get("JobType") == "Evaluation":
            errors += _evaluation_request_errors(params)
        evaluator = sjc.get("EvaluatorArn")
        if evaluator and ":hub-content/" in evaluator:
            if patch_sagemaker_hub.content_from_arn(backend, evaluator) is None:
                errors.append(f"Evaluator {evaluator} does not exist.")
    else:
        if not params.get("AlgorithmSpecification"):
            errors.append(
                f"{SIMULATED}: AlgorithmSpecification is required for a training job without ServerlessJobConfig."
            )
        if not params.get("ResourceConfig"):
            errors.append(f"{SIMULATED}: ResourceConfig is required for a training job without ServerlessJobConfig.")
    mpc = params.get("ModelPackageConfig")
    if mpc:
        group_arn = mpc.get("ModelPackageGroupArn", "")
        match = _GROUP_ARN.match(group_arn)
        if not match:
            errors.append(f"ModelPackageGroupArn {group_arn} is not a model package group ARN.")
        elif match["region"] != backend.region_name or match["account"] != backend.account_id:
            errors.append(f"ModelPackageGroup {group_arn} does not exist.")
        elif match["name"] not in backend.model_package_groups:
            errors.append(f"ModelPackageGroup {group_arn} does not exist.")
        source = mpc.get("SourceModelPackageArn")
        if source:
            try:
                backend.describe_model_package(source)
            except Exception:  # noqa: BLE001
                errors.append(f"Model package {source} does not exist.")
    for channel in params.get("InputDataConfig") or []:
        dataset = ((channel.get("DataSource") or {}).get("DatasetSource") or {}).get("DatasetArn")
        if dataset and ":hub-content/" in dataset and patch_sagemaker_hub.content_from_arn(backend, dataset) is None:
            errors.append(f"Dataset {dataset} of channel {channel.get('ChannelName')} does not exist.")
    return errors, base, recipe


# -- the simulated job ----------------------------------------------------------------------------


def _tags(params: dict[str, Any]) -> dict[str, str]:
    return {t.get("Key"): t.get("Value") for t in params.get("Tags") or [] if isinstance(t, dict)}


def _int(value: Any, default: int) -> int:
    try:
        return max(1, int(float(value)))
    except (TypeError, ValueError):
        return default


# -- evaluation jobs (JobType=Evaluation) --------------------------------------------------------

#: Tags that set an evaluation job's metrics: space-separated ``name=value`` pairs (tag values cannot
#: hold JSON). ``sim:base-metrics`` applies to a job that evaluates a base model (no
#: ``ModelPackageConfig.SourceModelPackageArn``) and wins there over ``sim:metrics``.
METRICS_TAG = "sim:metrics"
BASE_METRICS_TAG = "sim:base-metrics"
#: LLM-as-judge metrics of a judging job whose ``llmaj_metrics`` hyperparameter names none.
DEFAULT_JUDGE_METRICS = ("Correctness", "Helpfulness")
#: The metric of each benchmark whose metric is not accuracy (SDK v3 ``_BENCHMARK_CONFIG``).
_BENCHMARK_METRICS = {"math": ("exact_match",), "strong_reject": ("deflection",)}
#: The (SIMULATED) metric a custom-scorer evaluation reports when no tag names one.
CUSTOM_SCORER_METRIC = "aggregate_reward_score"
_metrics_lock = threading.Lock()
#: Metrics set through the control API, by job name (win over tags). Cleared on reset.
_METRIC_OVERRIDES: dict[str, dict[str, float]] = {}


def evaluation_kind(request: dict[str, Any]) -> str | None:
    """``benchmark``, ``custom_scorer``, ``inference`` (task=inference_only), ``llmaj``; None: not an evaluation."""
    sjc = request.get("ServerlessJobConfig") or {}
    if sjc.get("JobType") != "Evaluation":
        return None
    if sjc.get("EvaluationType") == "LLMAJEvaluation":
        return "llmaj"
    if (request.get("HyperParameters") or {}).get("task") == "inference_only":
        return "inference"
    return "custom_scorer" if sjc.get("EvaluationType") == "CustomScorerEvaluation" else "benchmark"


def _evaluation_phases(request: dict[str, Any]) -> tuple[tuple[str, float, str], ...]:
    hp = request.get("HyperParameters") or {}
    doing = {
        "inference": "Generating the model's responses (task=inference_only)",
        "llmaj": f"Judging the model's responses with {hp.get('judge_model_id') or 'the judge model'}",
        "custom_scorer": "Scoring the model's responses with the custom scorer",
    }.get(evaluation_kind(request) or "", f"Evaluating the model on benchmark {hp.get('task') or '(none)'}")
    return (*EVALUATION_PHASES[:2], ("Training", EVALUATION_PHASES[2][1], doing), *EVALUATION_PHASES[3:])


def parse_metrics(text: str) -> dict[str, float]:
    """``"accuracy=0.82 exact_match=0.5"`` -> ``{"accuracy": 0.82, "exact_match": 0.5}``; ValueError if malformed."""
    metrics: dict[str, float] = {}
    for pair in (text or "").split():
        name, sep, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise ValueError(f"{pair!r} is not name=number")
        metrics[name] = number
    return metrics


def simulated_metric_value(job_name: str, metric: str, low: float = 0.5, high: float = 0.9) -> float:
    """The deterministic default of ``metric`` for ``job_name``: a hash of both mapped into [low, high]."""
    digest = hashlib.sha256(f"{job_name}/{metric}".encode()).digest()
    return round(low + (high - low) * int.from_bytes(digest[:4], "big") / 0xFFFFFFFF, 4)


def evaluates_base_model(request: dict[str, Any]) -> bool:
    """An evaluation job without ``ModelPackageConfig.SourceModelPackageArn`` evaluates the base model."""
    return not (request.get("ModelPackageConfig") or {}).get("SourceModelPackageArn")


def _judge_metric_names(hp: dict[str, Any]) -> tuple[str, ...]:
    raw = hp.get("llmaj_metrics") or ""
    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        names = re.split(r"[,\s]+", raw)
    names = names if isinstance(names, list) else [names]
    bare = (str(n)[8:] if str(n).lower().startswith("builtin.") else str(n) for n in names)
    return tuple(dict.fromkeys(n for n in bare if n)) or DEFAULT_JUDGE_METRICS


def default_metric_names(request: dict[str, Any]) -> tuple[str, ...]:
    """The metrics an evaluation job reports when neither a tag nor the control API sets them."""
    kind = evaluation_kind(request)
    hp = request.get("HyperParameters") or {}
    if kind == "llmaj":
        return _judge_metric_names(hp)
    if kind == "custom_scorer":
        return (CUSTOM_SCORER_METRIC,)
    if kind == "benchmark":
        named = hp.get("evaluation_metric") or hp.get("metric")
        if named and named != "all":
            return (str(named),)
        return _BENCHMARK_METRICS.get(str(hp.get("task")), ("accuracy",))
    return ()


def tag_metrics(request: dict[str, Any]) -> dict[str, float] | None:
    """The metrics the job's ``sim:base-metrics`` (base-model job) or ``sim:metrics`` tag sets, if any."""
    tags = _tags(request)
    if evaluates_base_model(request) and tags.get(BASE_METRICS_TAG):
        return parse_metrics(tags[BASE_METRICS_TAG])
    return parse_metrics(tags[METRICS_TAG]) if tags.get(METRICS_TAG) else None


def set_metric_override(job_name: str, metrics: dict[str, float] | None) -> None:
    """Control API: the metrics job ``job_name`` writes when it completes (None: back to tags/defaults)."""
    with _metrics_lock:
        if metrics is None:
            _METRIC_OVERRIDES.pop(job_name, None)
        else:
            _METRIC_OVERRIDES[job_name] = {str(k): float(v) for k, v in metrics.items()}


def evaluation_metrics(job_name: str, request: dict[str, Any]) -> dict[str, float]:
    """Control API override > tag > deterministic defaults."""
    with _metrics_lock:
        override = _METRIC_OVERRIDES.get(job_name)
    if override is not None:
        return dict(override)
    tagged = tag_metrics(request)
    if tagged is not None:
        return tagged
    return {m: simulated_metric_value(job_name, m) for m in default_metric_names(request)}


def _evaluation_request_errors(params: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    if not params["ServerlessJobConfig"].get("EvaluationType"):
        errors.append(f"{SIMULATED}: ServerlessJobConfig.EvaluationType is required when JobType is Evaluation.")
    if not (params.get("ModelPackageConfig") or {}).get("ModelPackageGroupArn") and not (
        params.get("MlflowConfig") or {}
    ).get("MlflowExperimentName"):
        errors.append("MlflowExperimentName is required when ModelPackageGroupArn is not provided")
    tags = _tags(params)
    for tag in (METRICS_TAG, BASE_METRICS_TAG):
        try:
            parse_metrics(tags.get(tag) or "")
        except ValueError as exc:
            errors.append(
                f"{SIMULATED}: tag {tag} must hold space-separated name=value pairs with numeric values, "
                f"e.g. 'accuracy=0.82 exact_match=0.5' ({exc})."
            )
    return errors


def _with_stderr(job_name: str, metrics: dict[str, float]) -> dict[str, float]:
    """Each metric followed by a SIMULATED ``<name>_stderr`` (unless given or itself a stderr)."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        out[name] = value
        if "stderr" not in name.lower() and f"{name}_stderr" not in metrics:
            out[f"{name}_stderr"] = simulated_metric_value(job_name, f"{name}_stderr", 0.005, 0.03)
    return out


def results_document(job_name: str, request: dict[str, Any], metrics: dict[str, float], model: Any) -> dict[str, Any]:
    """The ``results_<time>.json`` of a benchmark or custom-scorer job (SDK v3 reads ``results``)."""
    hp = request.get("HyperParameters") or {}
    body = _with_stderr(job_name, metrics)
    if evaluation_kind(request) == "custom_scorer":
        task, strategy = hp.get("task") or "gen_qa", hp.get("strategy") or "gen_qa"
        results = {f"custom|{task}_{strategy}|0": body}
    else:
        results = {"all": body}
    return {
        "config_general": {
            "note": f"{SIMULATED} evaluation results written by the offline emulator",
            "job_name": job_name,
            "evaluation_type": (request.get("ServerlessJobConfig") or {}).get("EvaluationType"),
            "task": hp.get("task"),
            "strategy": hp.get("strategy"),
            "model": model,
            "source_model_package_arn": (request.get("ModelPackageConfig") or {}).get("SourceModelPackageArn"),
        },
        "results": results,
    }


def inference_records(job_name: str, prompts: list[str]) -> list[dict[str, Any]]:
    """``inference_output.jsonl`` lines, as SDK v3's inference-only benchmark writes them."""
    return [
        {
            "prompt": str([{"role": "user", "content": prompt}]),
            "modelResponses": [
                {"response": json.dumps([f"{SIMULATED} response {i + 1} of {job_name}"]), "modelIdentifier": "model"}
            ],
        }
        for i, prompt in enumerate(prompts)
    ]


def _spread(score: float, n: int) -> list[float]:
    """``n`` per-example scores whose mean is ``score`` (pairs score+d / score-d, d <= 0.1, inside [0, 1])."""
    delta = min(0.1, score, 1.0 - score) if 0.0 <= score <= 1.0 else 0.0
    return [round(score if (n % 2 and i == n - 1) else score + (delta if i % 2 == 0 else -delta), 4) for i in range(n)]


def bedrock_job_names(job_arn: str) -> tuple[str, str]:
    """SIMULATED (name, id) of the Bedrock evaluation job behind an LLMAJEvaluation job."""
    digest = hashlib.sha256(job_arn.encode()).hexdigest()
    return f"bedrock-llmaj-{digest[:12]}", digest[12:24]


def judge_documents(
    bedrock_job: str, judge_model: str, metrics: dict[str, float], records: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``bedrock_llm_judge_results.json`` and the per-example ``..._output.jsonl`` lines of a judging job."""
    n = len(records)
    scores = {m: _spread(v, n) for m, v in metrics.items()}
    results = {}
    for metric, value in metrics.items():
        passed = sum(1 for s in scores[metric] if s >= 0.5)
        results[metric] = {
            "score": value,
            "std_deviation": round(statistics.pstdev(scores[metric]), 4) if n else 0.0,
            "total_evaluations": n,
            "passed": passed,
            "failed": n - passed,
        }
    explanation = f"{SIMULATED}: score chosen by the offline emulator, no judge model was called"
    lines = [
        {
            "inputRecord": {"prompt": record.get("prompt", "")},
            "modelResponses": record.get("modelResponses") or [],
            "automatedEvaluationResult": {
                "scores": [
                    {
                        "metricName": metric,
                        "result": scores[metric][i],
                        "evaluatorDetails": [{"modelIdentifier": judge_model, "explanation": explanation}],
                    }
                    for metric in metrics
                ]
            },
        }
        for i, record in enumerate(records)
    ]
    return {"job_name": bedrock_job, "results": results}, lines


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.partition("://")[2].partition("/")
    return bucket, key


def _prompt_of(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    for key in ("prompt", "query", "question", "input"):
        if isinstance(record.get(key), str):
            return record[key]
    for message in record.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return None


def _prompts_under(s3: Any, uri: str, limit: int) -> list[str]:
    """Up to ``limit`` prompts from the JSON lines under ``uri`` in the emulated S3."""
    bucket, prefix = _split_s3(uri)
    prompts: list[str] = []
    try:
        keys = s3.get_bucket(bucket).keys
        for name in sorted(k for k in list(keys.keys()) if k.startswith(prefix)):
            for line in bytes(keys[name].value).decode(errors="replace").splitlines():
                try:
                    prompt = _prompt_of(json.loads(line))
                except ValueError:
                    continue
                if prompt is not None:
                    prompts.append(prompt)
                if len(prompts) >= limit:
                    return prompts
    except Exception:  # noqa: BLE001 - no bucket, unreadable object: synthetic prompts instead
        return prompts
    return prompts


class SimJob:
    """One simulated training job. All mutation happens under ``self.lock``."""

    def __init__(self, backend: Any, fake: Any, request: dict[str, Any], base: dict[str, Any] | None, recipe: dict[str, Any] | None):
        self.backend = backend
        self.fake = fake
        self.request = request
        self.base = base
        self.recipe = recipe
        self.lock = threading.RLock()
        self.name: str = request["TrainingJobName"]
        self.arn: str = fake.arn
        self.account_id: str = backend.account_id
        self.region: str = backend.region_name
        tags = _tags(request)
        self.tags = tags
        duration = tags.get("sim:duration-seconds")
        try:
            self.duration = float(duration) if duration else float(RUNTIME.settings.job_seconds)
        except ValueError:
            self.duration = float(RUNTIME.settings.job_seconds)
        self.duration = max(self.duration, 0.05)
        self.max_epoch = _int((request.get("HyperParameters") or {}).get("max_epochs"), 1)
        self.evaluation = evaluation_kind(request)
        self.phases = _evaluation_phases(request) if self.evaluation else PHASES
        #: Evaluation jobs: the metrics written and the S3 URIs of the result files (once Completed).
        self.metrics: dict[str, float] | None = None
        self.result_uris: list[str] = []
        self.elapsed = 0.0
        self.creation_time = _now()
        self.last_modified_time = self.creation_time
        self.status = "InProgress"
        self.secondary = "Starting"
        self.transitions: list[dict[str, Any]] = []
        self.failure_reason: str | None = None
        self.training_start_time: _dt.datetime | None = None
        self.training_end_time: _dt.datetime | None = None
        self.progress: dict[str, int] | None = None
        self.output_model_package_arn: str | None = None
        self.billable_tokens: int | None = None
        self.stop_at: float | None = None
        self.mlflow_details: dict[str, str] | None = None
        if request.get("MlflowConfig"):
            self.mlflow_details = {
                "MlflowExperimentId": str(uuid.uuid4().int % 10**12),
                "MlflowRunId": uuid.uuid4().hex,
            }
        self.suppressed_events = 0
        self._open_transition("Starting", self.phases[0][2])
        self._sync_fake()

    # -- bookkeeping ------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.name)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def _open_transition(self, status: str, message: str) -> None:
        now = _now()
        if self.transitions and "EndTime" not in self.transitions[-1]:
            self.transitions[-1]["EndTime"] = now
        self.transitions.append({"Status": status, "StartTime": now, "StatusMessage": _simulated(message)})
        self.secondary = status
        self.last_modified_time = now

    def _sync_fake(self) -> None:
        fake = self.fake
        fake.training_job_status = self.status
        fake.secondary_status = self.secondary
        fake.last_modified_time = self.last_modified_time
        fake.training_start_time = self.training_start_time
        fake.training_end_time = self.training_end_time
        fake.secondary_status_transitions = copy.deepcopy(self.transitions)
        fake.failure_reason = self.failure_reason

    def _outcome(self) -> tuple[str, str | None]:
        override = RUNTIME.peek_override(self.name)
        if override and override.outcome:
            return override.outcome, override.failure_reason
        outcome = self.tags.get("sim:outcome") or "Completed"
        return outcome, self.tags.get("sim:failure-reason")

    # -- describe ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        with self.lock:
            req = self.request
            out_path = (req.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
            d: dict[str, Any] = {
                "TrainingJobName": self.name,
                "TrainingJobArn": self.arn,
                "ModelArtifacts": {"S3ModelArtifacts": f"{out_path}/{self.name}/output/model"},
                "TrainingJobStatus": self.status,
                "SecondaryStatus": self.secondary,
                "RoleArn": req.get("RoleArn"),
                "OutputDataConfig": copy.deepcopy(req.get("OutputDataConfig")),
                "StoppingCondition": copy.deepcopy(req.get("StoppingCondition") or {"MaxRuntimeInSeconds": 86400}),
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "SecondaryStatusTransitions": copy.deepcopy(self.transitions),
                "EnableNetworkIsolation": bool(req.get("EnableNetworkIsolation", False)),
                "EnableInterContainerTrafficEncryption": bool(req.get("EnableInterContainerTrafficEncryption", False)),
                "EnableManagedSpotTraining": bool(req.get("EnableManagedSpotTraining", False)),
            }
            for key in _ECHOED:
                if req.get(key) is not None and key not in d:
                    d[key] = copy.deepcopy(req[key])
            if self.failure_reason:
                d["FailureReason"] = self.failure_reason
            if self.training_start_time:
                d["TrainingStartTime"] = self.training_start_time
            if self.training_end_time:
                d["TrainingEndTime"] = self.training_end_time
                if self.training_start_time:
                    seconds = max(1, int((self.training_end_time - self.training_start_time).total_seconds()))
                    d["TrainingTimeInSeconds"] = seconds
            if self.progress:
                d["ProgressInfo"] = dict(self.progress)
            if self.mlflow_details:
                d["MlflowDetails"] = dict(self.mlflow_details)
            if self.billable_tokens is not None and self.status == "Completed":
                d["BillableTokenCount"] = self.billable_tokens
            if self.output_model_package_arn:
                d["OutputModelPackageArn"] = self.output_model_package_arn
            return d

    # -- progression ------------------------------------------------------------------------
    def stop(self) -> list[dict[str, Any]]:
        with self.lock:
            if self.status != "InProgress":
                raise _errors().ValidationError(
                    f"The request was rejected because the training job is in status {self.status}."
                )
            self.status = "Stopping"
            self._open_transition("Stopping", "Stopping the training job")
            self.stop_at = self.elapsed + min(max(self.duration * _STOP_FRACTION, 0.2), 1.0)
            self._sync_fake()
            return [self.describe()]

    def tick(self, dt: float) -> list[dict[str, Any]]:
        """Advance the job by ``dt`` simulated seconds; returns describe snapshots to publish."""
        snapshots: list[dict[str, Any]] = []
        with self.lock:
            if self.terminal:
                return snapshots
            self.elapsed += dt
            if self.status == "Stopping":
                if self.stop_at is not None and self.elapsed >= self.stop_at:
                    self._finish("Stopped", "Training job stopped")
                    snapshots.append(self.describe())
                return snapshots
            fraction = self.elapsed / self.duration
            for _ in range(len(self.phases) + 2):
                changed = self._step(fraction)
                if changed:
                    snapshots.append(self.describe())
                if not changed or self.terminal:
                    break
            self._sync_fake()
        return snapshots

    def _step(self, fraction: float) -> bool:
        """Apply at most one status change. Returns True when something changed."""
        outcome, reason = self._outcome()
        phases = self.phases
        failure = reason or f"AlgorithmError: simulated {'evaluation' if self.evaluation else 'training'} failure (sim:outcome=Failed)"
        if self.secondary == "Starting" and fraction >= phases[1][1]:
            self._open_transition("Downloading", phases[1][2])
            self.training_start_time = _now()
            problem = self._check_inputs() or (self._check_evaluation_inputs() if self.evaluation else None)
            if problem:
                self._fail(problem)
            return True
        if self.secondary == "Downloading" and fraction >= phases[2][1]:
            self._open_transition("Training", phases[2][2])
            self._progress(0.0)
            return True
        if self.secondary == "Training":
            self._progress((fraction - phases[2][1]) / (phases[3][1] - phases[2][1]))
            if outcome == "Failed" and fraction >= _FAIL_AT:
                self._fail(failure)
                return True
            if fraction >= phases[3][1]:
                self._progress(1.0)
                self._open_transition("Uploading", phases[3][2])
                return True
            return False
        if self.secondary == "Uploading":
            if outcome == "Failed":
                self._fail(failure)
                return True
            if fraction >= 1.0:
                problem = self._publish_evaluation() if self.evaluation else self._publish_outputs()
                if problem:
                    self._fail(problem)
                else:
                    self._finish("Completed", "Training job completed")
                return True
        return False

    def _progress(self, p: float) -> None:
        if self.evaluation:  # SIMULATED: no epochs/steps to report for an evaluation
            return
        steps = max(1, int(RUNTIME.settings.steps_per_epoch))
        total = steps * self.max_epoch
        done = min(total, max(0, int(p * total)))
        if done >= total:
            epoch, step = self.max_epoch, steps
        else:
            epoch, step = done // steps + 1, done % steps
        self.progress = {
            "TotalStepCountPerEpoch": steps,
            "CurrentStep": step,
            "CurrentEpoch": epoch,
            "MaxEpoch": self.max_epoch,
        }

    def _fail(self, reason: str) -> None:
        self.failure_reason = _simulated(reason)[:1024]
        self._finish("Failed", "Training job failed")

    def _finish(self, status: str, message: str) -> None:
        self.status = status
        self._open_transition(status, message)
        now = self.transitions[-1]["StartTime"]
        self.transitions[-1]["EndTime"] = now
        self.training_end_time = now
        if self.training_start_time is None:
            self.training_start_time = self.creation_time
        self._sync_fake()
        LOG.info("%s training job %s -> %s%s", SIMULATED, self.name, status, f" ({self.failure_reason})" if self.failure_reason else "")

    # -- side effects ------------------------------------------------------------------------
    def _s3(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]

    def _check_inputs(self) -> str | None:
        total = 0
        saw_s3 = False
        for channel in self.request.get("InputDataConfig") or []:
            source = (channel.get("DataSource") or {}).get("S3DataSource")
            if not source:
                continue
            uri = source.get("S3Uri", "")
            saw_s3 = True
            bucket, _, prefix = uri.partition("://")[2].partition("/")
            size = _prefix_size(self._s3(), bucket, prefix)
            if size is None and RUNTIME.settings.check_input_data:
                return (
                    f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
                    f"that the bucket exists in the selected region ({self.region}), that objects exist under that S3 "
                    f'prefix, and that the role "{self.request.get("RoleArn")}" has "s3:ListBucket" permissions on '
                    f'bucket "{bucket}".'
                )
            total += size or 0
        tokens_per_epoch = max(1, total // 4) if saw_s3 and total else 100_000
        self.billable_tokens = tokens_per_epoch * self.max_epoch
        return None

    def _publish_outputs(self) -> str | None:
        out_path = (self.request.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
        bucket, _, prefix = out_path.partition("://")[2].partition("/")
        key = "/".join(p for p in (prefix, self.name, "output", "model", "SIMULATED_MODEL.json") if p)
        try:
            self._s3().put_object(
                bucket,
                key,
                json.dumps(
                    {
                        "note": f"{SIMULATED} model artefact written by the offline emulator",
                        "TrainingJobName": self.name,
                        "BaseModel": self.base_model(),
                    }
                ).encode(),
            )
        except Exception as exc:  # noqa: BLE001 - any S3 problem fails the job like in AWS
            return f"ClientError: Failed to upload the model to {out_path}: {getattr(exc, 'message', exc)}"
        mpc = self.request.get("ModelPackageConfig")
        if not mpc:
            return None
        group_name = mpc["ModelPackageGroupArn"].rsplit("/", 1)[-1]
        container: dict[str, Any] = {
            "Image": (self.recipe or {}).get(
                "SmtjImageUri",
                f"123456789012.dkr.ecr.{self.region}.amazonaws.com/sagemaker-llm-customization:latest",
            ),
            "ModelDataSource": {
                "S3DataSource": {
                    "S3Uri": f"{out_path}/{self.name}/output/model/",
                    "S3DataType": "S3Prefix",
                    "CompressionType": "None",
                }
            },
        }
        base_model = self.base_model()
        if base_model:
            container["BaseModel"] = base_model
        try:
            self.output_model_package_arn = self.backend.create_model_package(
                model_package_name=None,
                model_package_group_name=group_name,
                model_package_description=f"{SIMULATED}: model trained by training job {self.name}",
                inference_specification={
                    "Containers": [container],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
                validation_specification=None,
                source_algorithm_specification=None,
                certify_for_marketplace=False,
                tags=None,
                model_approval_status="PendingManualApproval",
                metadata_properties=None,
                model_metrics=None,
                client_token=None,
                customer_metadata_properties={"SourceTrainingJobArn": self.arn, "Simulated": "true"},
                drift_check_baselines=None,
                domain=None,
                task=None,
                sample_payload_url=None,
                additional_inference_specifications=None,
            )
        except Exception as exc:  # noqa: BLE001
            return f"ClientError: Failed to register the output model package in {group_name}: {getattr(exc, 'message', exc)}"
        return None

    # -- evaluation side effects -----------------------------------------------------------------
    def _out_path(self) -> str:
        return (self.request.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")

    def _eval_results_uri(self, folder: str, filename: str) -> str:
        """``<S3OutputPath>/<job>/output/output/<folder>/eval_results/<filename>`` (SDK v3's layout)."""
        return f"{self._out_path()}/{self.name}/output/output/{folder}/eval_results/{filename}"

    def _read_s3(self, uri: str) -> bytes | None:
        bucket, key = _split_s3(uri)
        try:
            found = self._s3().get_object(bucket, key)
        except Exception:  # noqa: BLE001 - no such bucket
            return None
        return None if found is None else bytes(found.value)

    def _put_s3(self, uri: str, body: bytes) -> None:
        bucket, key = _split_s3(uri)
        self._s3().put_object(bucket, key, body)
        self.result_uris.append(uri)

    def _check_evaluation_inputs(self) -> str | None:
        """A judging job needs its judge and the inference job's ``inference_output.jsonl``."""
        if self.evaluation != "llmaj":
            return None
        hp = self.request.get("HyperParameters") or {}
        if not hp.get("judge_model_id"):
            return "ClientError: hyperparameter judge_model_id is required for an LLMAJEvaluation job."
        uri = hp.get("inference_data_s3_path")
        if not uri:
            return (
                "ClientError: hyperparameter inference_data_s3_path is required for an LLMAJEvaluation job (the "
                ".../eval_results/inference_output.jsonl of an inference job, HyperParameters task=inference_only)."
            )
        if RUNTIME.settings.check_input_data and self._read_s3(uri) is None:
            return (
                f"ClientError: The inference data {uri} given in hyperparameter inference_data_s3_path does not "
                "exist. Run the inference job (EvaluationType BenchmarkEvaluation, HyperParameters "
                "task=inference_only) first and pass its .../output/output/<name>/eval_results/inference_output.jsonl."
            )
        return None

    def _publish_evaluation(self) -> str | None:
        """Write the job's result file(s) under its S3OutputPath; no model package is registered."""
        hp = self.request.get("HyperParameters") or {}
        try:
            if self.evaluation == "inference":
                prompts = self._sample_prompts() or [f"{SIMULATED} prompt {i + 1}" for i in range(3)]
                body = "".join(json.dumps(r) + "\n" for r in inference_records(self.name, prompts))
                # str(None) = "None" without a name hyperparameter, as in SDK v3's display path
                self._put_s3(self._eval_results_uri(str(hp.get("name")), "inference_output.jsonl"), body.encode())
            elif self.evaluation == "llmaj":
                return self._write_judge_results(hp)
            else:
                self.metrics = evaluation_metrics(self.name, self.request)
                stamp = _now().strftime("%Y-%m-%dT%H-%M-%S.%f")
                document = results_document(self.name, self.request, self.metrics, self.base_model())
                self._put_s3(self._eval_results_uri(str(hp.get("name")), f"results_{stamp}.json"), json.dumps(document, indent=2).encode())
        except Exception as exc:  # noqa: BLE001 - any S3 problem fails the job like in AWS
            return f"ClientError: Failed to upload the evaluation results to {self._out_path()}: {getattr(exc, 'message', exc)}"
        return None

    def _write_judge_results(self, hp: dict[str, Any]) -> str | None:
        uri = str(hp.get("inference_data_s3_path") or "")
        raw = self._read_s3(uri) if uri else None
        if raw is None:  # only when check_input_data is off: judge synthetic responses
            records = inference_records(self.name, [f"{SIMULATED} prompt {i + 1}" for i in range(3)])
        else:
            records = []
            for line in raw.decode(errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        if not records:
            return f"ClientError: The inference data {uri} holds no JSON line (expected prompt and modelResponses)."
        self.metrics = evaluation_metrics(self.name, self.request)
        bedrock_job, bedrock_id = bedrock_job_names(self.arn)
        aggregate, lines = judge_documents(bedrock_job, str(hp.get("judge_model_id")), self.metrics, records)
        output_path = str(hp.get("output_path") or "")
        base = output_path.rstrip("/") if output_path.startswith("s3://") else self._out_path()
        self._put_s3(self._eval_results_uri(bedrock_job, "bedrock_llm_judge_results.json"), json.dumps(aggregate, indent=2).encode())
        per_example = f"{base}/{bedrock_job}/{bedrock_id}/models/model/taskTypes/General/datasets/inference_output/{bedrock_id}_output.jsonl"
        self._put_s3(per_example, "".join(json.dumps(line) + "\n" for line in lines).encode())
        return None

    def _sample_prompts(self, limit: int = 5) -> list[str]:
        """Prompts of the job's S3 input channel (the first ``limit`` JSON lines that have one)."""
        for channel in self.request.get("InputDataConfig") or []:
            uri = ((channel.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")
            prompts = _prompts_under(self._s3(), uri, limit) if uri else []
            if prompts:
                return prompts
        return []

    def base_model(self) -> dict[str, str] | None:
        """``{HubContentName, HubContentVersion, RecipeName}`` of the model this job fine-tunes."""
        source = (self.request.get("ModelPackageConfig") or {}).get("SourceModelPackageArn")
        if source:
            try:
                package = self.backend.describe_model_package(source)
                containers = (package.inference_specification or {}).get("Containers") or []
                if containers and containers[0].get("BaseModel"):
                    return dict(containers[0]["BaseModel"])
            except Exception:  # noqa: BLE001
                pass
        if not self.base:
            return None
        out = {"HubContentName": self.base["name"], "HubContentVersion": self.base["version"]}
        if self.recipe and self.recipe.get("Name"):
            out["RecipeName"] = self.recipe["Name"]
        return out


def _prefix_size(s3: Any, bucket: str, prefix: str) -> int | None:
    """Total size of the objects under ``s3://bucket/prefix`` in the emulated S3; None when there are none."""
    try:
        b = s3.get_bucket(bucket)
    except Exception:  # noqa: BLE001
        return None
    total, found = 0, False
    for name in list(b.keys.keys()):
        if name.startswith(prefix):
            found = True
            try:
                total += int(b.keys[name].size)
            except Exception:  # noqa: BLE001
                pass
    return total if found else None


_ECHOED = (
    "HyperParameters",
    "AlgorithmSpecification",
    "InputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "Environment",
    "RetryStrategy",
    "RemoteDebugConfig",
    "InfraCheckConfig",
    "ServerlessJobConfig",
    "MlflowConfig",
    "ModelPackageConfig",
)


# -- events ----------------------------------------------------------------------------------------


def _event_value(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: _event_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_event_value(v) for v in value]
    return value


def publish(job: SimJob, snapshot: dict[str, Any]) -> None:
    """Put a "SageMaker Training Job State Change" event for ``snapshot`` on the default bus."""
    override = RUNTIME.peek_override(job.name)
    if override and override.suppress_events:
        job.suppressed_events += 1
        RUNTIME.bump("suppressed_events")
        LOG.info(
            "%s dropped the state-change event of %s (%s/%s) as requested",
            SIMULATED,
            job.name,
            snapshot["TrainingJobStatus"],
            snapshot["SecondaryStatus"],
        )
        return
    detail = _event_value(snapshot)
    detail["Tags"] = dict(job.tags)
    from moto.events.models import events_backends

    try:
        events_backends[job.account_id][job.region].put_events(
            [
                {
                    "Source": "aws.sagemaker",
                    "DetailType": DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "Resources": [job.arn],
                }
            ]
        )
        RUNTIME.bump("training_job_events")
    except Exception:  # noqa: BLE001 - an event failure must not stop the simulation
        LOG.exception("%s could not publish the state change of %s", SIMULATED, job.name)


# -- registry and clock ------------------------------------------------------------------------------


def all_jobs() -> list[SimJob]:
    with _jobs_lock:
        return list(_JOBS.values())


def find_job(account_id: str, region: str, name: str) -> SimJob | None:
    with _jobs_lock:
        return _JOBS.get((account_id, region, name))


def _forget_all() -> None:
    with _jobs_lock:
        _JOBS.clear()
    with _metrics_lock:
        _METRIC_OVERRIDES.clear()


class SimClock:
    """The background thread that advances every active simulated job."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="finetune-sim-clock", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(RUNTIME.settings.tick_seconds):
            now = time.monotonic()
            dt, last = (now - last) * RUNTIME.settings.speed, now
            advance(dt)


def advance(dt: float, job_name: str | None = None) -> int:
    """Move active jobs ``dt`` simulated seconds forward. Returns how many jobs moved."""
    moved = 0
    for job in all_jobs():
        if job.terminal or (job_name is not None and job.name != job_name):
            continue
        try:
            snapshots = job.tick(dt)
        except Exception:  # noqa: BLE001 - keep the clock alive
            LOG.exception("%s simulation of %s failed", SIMULATED, job.name)
            continue
        moved += 1
        for snapshot in snapshots:
            publish(job, snapshot)
    return moved


CLOCK = SimClock()


# -- response methods ---------------------------------------------------------------------------------


def create_job(backend: Any, params: dict[str, Any]) -> SimJob:
    exc = _errors()
    name = params.get("TrainingJobName")
    if name in backend.training_jobs or find_job(backend.account_id, backend.region_name, name):
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:training-job/{name}"
        raise exc.ResourceInUseException(
            f"Training job names must be unique within an AWS account and region, and a training job with this name already exists ({arn})"
        )
    errors, base, recipe = semantic_errors(backend, params)
    if errors:
        raise exc.ValidationError(" ".join(errors))
    fake = backend.create_training_job(
        training_job_name=name,
        hyper_parameters=copy.deepcopy(params.get("HyperParameters")),
        algorithm_specification=copy.deepcopy(params.get("AlgorithmSpecification") or {}),
        role_arn=params.get("RoleArn"),
        input_data_config=copy.deepcopy(params.get("InputDataConfig")),
        output_data_config=copy.deepcopy(params.get("OutputDataConfig")),
        resource_config=copy.deepcopy(params.get("ResourceConfig")),
        vpc_config=copy.deepcopy(params.get("VpcConfig")),
        stopping_condition=copy.deepcopy(params.get("StoppingCondition")),
        tags=copy.deepcopy(params.get("Tags")),
        enable_network_isolation=params.get("EnableNetworkIsolation", False),
        enable_inter_container_traffic_encryption=params.get("EnableInterContainerTrafficEncryption", False),
        enable_managed_spot_training=params.get("EnableManagedSpotTraining", False),
        checkpoint_config=copy.deepcopy(params.get("CheckpointConfig")),
        debug_hook_config=copy.deepcopy(params.get("DebugHookConfig")),
        debug_rule_configurations=copy.deepcopy(params.get("DebugRuleConfigurations")),
        tensor_board_output_config=copy.deepcopy(params.get("TensorBoardOutputConfig")),
        experiment_config=copy.deepcopy(params.get("ExperimentConfig")),
    )
    job = SimJob(backend, fake, copy.deepcopy(params), base, recipe)
    RUNTIME.bump("training_jobs_created")
    LOG.info("%s training job %s created (%.1fs simulated run, outcome %s)", SIMULATED, name, job.duration, job._outcome()[0])
    publish(job, job.describe())  # before the clock can see the job: Starting is always the first event
    with _jobs_lock:
        _JOBS[job.key] = job
    CLOCK.ensure_running()
    return job


def create_training_job(self: Any) -> Any:
    """``CreateTrainingJob`` for serverless and classic requests.

    moto: 500 without AlgorithmSpecification or S3OutputPath, otherwise an instantly
    ``Completed`` job that forgets ServerlessJobConfig/ModelPackageConfig/MlflowConfig.
    AWS: validates the base model, model package group and name, then runs the job for minutes
    to hours, emitting state-change events.
    """
    from moto.core.responses import ActionResult

    job = create_job(self.sagemaker_backend, _plain(self.params))
    return ActionResult({"TrainingJobArn": job.arn})


def describe_training_job(self: Any) -> Any:
    """``DescribeTrainingJob`` from the simulator (falls back to moto for jobs it did not create)."""
    from moto.core.responses import ActionResult

    backend = self.sagemaker_backend
    name = self._get_param("TrainingJobName")
    job = find_job(backend.account_id, backend.region_name, name)
    if job is None:
        return ActionResult(backend.describe_training_job(name))
    return ActionResult(job.describe())


def stop_training_job(self: Any) -> Any:
    """``StopTrainingJob`` (moto has none: 500). AWS: InProgress -> Stopping -> Stopped."""
    from moto.core.responses import EmptyResult

    backend = self.sagemaker_backend
    name = self._get_param("TrainingJobName")
    job = find_job(backend.account_id, backend.region_name, name)
    if job is None:
        arn = f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:training-job/{name}"
        raise _errors().ValidationError(f"Could not find training job '{arn}'.")
    for snapshot in job.stop():
        publish(job, snapshot)
    CLOCK.ensure_running()
    return EmptyResult()


def update_model_package(self: Any, model_package_arn: str, model_approval_status: str | None, approval_description: str | None,
                         customer_metadata_properties: dict[str, str] | None, customer_metadata_properties_to_remove: list[str],
                         additional_inference_specifications_to_add: list[Any] | None) -> str:
    """``SageMakerModelBackend.update_model_package`` that changes only what the request names.

    moto: sets every field from the request, so an update of the metadata alone clears the approval
    status and description, and CustomerMetadataProperties replace the package's instead of merging.
    Why that is wrong for us: GateEvaluation writes the metrics without a gate and expects the status
    to stay. AWS: UpdateModelPackage changes the fields it is given; CustomerMetadataProperties are
    added or overwritten key by key (CustomerMetadataPropertiesToRemove removes keys)."""
    package = self.model_packages.get(self.model_package_name_mapping.get(model_package_arn, model_package_arn))
    if package is None:
        return str(_orig_update_model_package(self, model_package_arn, model_approval_status, approval_description,
                                              customer_metadata_properties, customer_metadata_properties_to_remove,
                                              additional_inference_specifications_to_add))
    if model_approval_status is not None:
        package.set_model_approval_status(model_approval_status)
    if approval_description is not None:
        package.approval_description = approval_description
    if customer_metadata_properties:
        package.customer_metadata_properties = {**(package.customer_metadata_properties or {}), **customer_metadata_properties}
    package.remove_customer_metadata_property(customer_metadata_properties_to_remove or [])
    package.add_additional_inference_specifications(additional_inference_specifications_to_add)
    package.modifications_done()
    return str(package.arn)


_orig_update_model_package: Any = None


def apply() -> None:
    global _orig_update_model_package
    _orig_update_model_package = _patching.replace(
        "moto.sagemaker.models:SageMakerModelBackend.update_model_package", update_model_package,
        "UpdateModelPackage changes only the fields it is given (metadata merged key by key)",
    )
    _patching.replace(
        "moto.sagemaker.responses:SageMakerResponse.create_training_job",
        create_training_job,
        "CreateTrainingJob accepts serverless requests and starts a simulated job",
    )
    _patching.replace(
        "moto.sagemaker.responses:SageMakerResponse.describe_training_job",
        describe_training_job,
        "DescribeTrainingJob reports the simulated job (status over time, serverless fields)",
    )
    _patching.replace(
        "moto.sagemaker.responses:SageMakerResponse.stop_training_job",
        stop_training_job,
        "StopTrainingJob: InProgress -> Stopping -> Stopped",
        add=True,
    )
    RUNTIME.reset_hooks.append(_forget_all)
