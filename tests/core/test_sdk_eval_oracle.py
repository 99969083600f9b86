"""The evaluation oracle (``tests/sdk_eval_oracle.py``): SDK v3's serverless evaluation, captured offline.

For each intent the real evaluator's ``evaluate()`` runs against the fake account; the tests check
that the pipeline it creates holds well-formed CreateTrainingJob requests (botocore's input shape,
pipeline expressions as placeholders), the evaluation type of every job, the base-model steps of
``compare_to_base``, and that the SDK made no call the account does not know. They also pin what
SDK v3 1.27.0 puts in those requests, so a new SDK version that changes them shows up here first.
"""

from __future__ import annotations

import copy
import functools
import json

import pytest
import sdk_eval_oracle as E
import sdk_oracle as O

pytestmark = [
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:register_new_resolver:UserWarning"),
    pytest.mark.filterwarnings("ignore::pydantic.PydanticDeprecatedSince20"),  # the SDK's own validators
]

METRICS = ("Builtin.Correctness", "Builtin.Helpfulness")
INTENTS = {
    "benchmark": E.EvalIntent("benchmark", benchmark="mmlu"),
    "benchmark+base": E.EvalIntent("benchmark", benchmark="mmlu", compare_to_base=True),
    "scorer-arn": E.EvalIntent("custom_scorer", dataset=E.DATASET, evaluator=E.EVALUATOR_ARN),
    "scorer-arn+base": E.EvalIntent("custom_scorer", dataset=E.DATASET, evaluator=E.EVALUATOR_ARN, compare_to_base=True),
    "scorer-math": E.EvalIntent("custom_scorer", dataset=E.DATASET, evaluator="prime_math"),
    "scorer-math+base": E.EvalIntent("custom_scorer", dataset=E.DATASET, evaluator="prime_math", compare_to_base=True),
    "judge": E.EvalIntent("llm_as_judge", dataset=E.DATASET, judge_model_id=E.JUDGE_MODEL_ID, metrics=METRICS),
    "judge+base": E.EvalIntent("llm_as_judge", dataset=E.DATASET, judge_model_id=E.JUDGE_MODEL_ID, metrics=METRICS,
                               compare_to_base=True),
}
#: Training steps per kind, in the definition's order: without / with compare_to_base.
STEPS = {
    "benchmark": (["EvaluateCustomModel"], ["EvaluateBaseModel", "EvaluateCustomModel"]),
    "custom_scorer": (["EvaluateCustomModel"], ["EvaluateBaseModel", "EvaluateCustomModel"]),
    "llm_as_judge": (
        ["EvaluateCustomInferenceModel", "EvaluateCustomModelMetrics"],
        ["EvaluateBaseInferenceModel", "EvaluateCustomInferenceModel", "EvaluateBaseModelMetrics",
         "EvaluateCustomModelMetrics"],
    ),
}
EVALUATION_TYPE = {"benchmark": "BenchmarkEvaluation", "custom_scorer": "CustomScorerEvaluation"}
BASE_MODEL_ARN = ("arn:aws:sagemaker:us-east-1:aws:hub-content/SageMakerPublicHub/Model/"
                  "huggingface-reasoning-qwen3-06b/1.0.0")
PACKAGE_CONFIG = {"ModelPackageGroupArn": f"arn:aws:sagemaker:{E.REGION}:{E.ACCOUNT}:model-package-group/{E.GROUP}",
                  "SourceModelPackageArn": E.MODEL_PACKAGE_ARN}
#: The inference defaults of the evaluation recipe's override params, as the SDK sends them.
INFERENCE = {"max_new_tokens": "8192", "temperature": "0", "top_k": "-1", "top_p": "1.0", "max_model_len": "12000"}


@functools.lru_cache(maxsize=None)
def captured(key: str) -> E.EvalCapture:
    """One capture per intent for the whole session (the SDK run is deterministic but for uuids)."""
    return E.capture_eval_requests(INTENTS[key])


def expected_evaluation_type(kind: str, step: str) -> str:
    if kind == "llm_as_judge":
        return "LLMAJEvaluation" if step.endswith("Metrics") else "BenchmarkEvaluation"
    return EVALUATION_TYPE[kind]


# ----------------------------------------------------------------------------- every intent
@pytest.mark.parametrize("key", INTENTS)
def test_each_intent_captures_without_unexpected_calls(key):
    capture = captured(key)
    assert not capture.unexpected, f"the SDK made calls the oracle does not know: {capture.unexpected}"
    assert capture.pipeline_operation == "CreatePipeline"
    assert capture.pipeline_name.startswith(f"SagemakerEvaluation-{E.eval_type_name(INTENTS[key].kind)}-")
    ops = capture.operations()
    for op in ("sagemaker:DescribeModelPackage", "sagemaker:CreatePipeline", "sagemaker:StartPipelineExecution"):
        assert op in ops
    assert "sagemaker:CreateTrainingJob" not in ops, "the SDK only creates the pipeline: SageMaker runs the jobs"
    assert capture.start_request["PipelineParameters"] == []
    assert {"Key": "SagemakerModelEvaluation", "Value": "true"} in capture.pipeline_request["Tags"]


@pytest.mark.parametrize("key", INTENTS)
def test_training_steps_are_valid_create_training_job_requests(key):
    capture = captured(key)
    assert capture.training_requests, "no Training step"
    for step, arguments in capture.training_requests.items():
        errors = O.request_errors(E.with_placeholders(arguments))
        assert not errors, f"{key} {step}:\n" + "\n".join(errors)


@pytest.mark.parametrize("key", INTENTS)
def test_serverless_evaluation_jobs_and_evaluation_types(key):
    intent, capture = INTENTS[key], captured(key)
    assert list(capture.training_requests) == STEPS[intent.kind][intent.compare_to_base]
    for step, arguments in capture.training_requests.items():
        config = arguments["ServerlessJobConfig"]
        assert config["JobType"] == "Evaluation"
        assert config["EvaluationType"] == expected_evaluation_type(intent.kind, step), step
        assert config["BaseModelArn"] == BASE_MODEL_ARN
        assert config["AcceptEula"] is True
        assert arguments["RoleArn"] == E.ROLE_ARN
        assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
        assert "Tags" not in arguments and "MlflowConfig" not in arguments, "both are the pipeline's"
        # the fine-tuned model is evaluated through its package; the base-model steps carry none
        assert arguments.get("ModelPackageConfig") == (None if "Base" in step else PACKAGE_CONFIG), step


@pytest.mark.parametrize("key", INTENTS)
def test_compare_to_base_adds_the_base_model_steps(key):
    intent = INTENTS[key]
    base_steps = [s for s in captured(key).training_requests if "Base" in s]
    if not intent.compare_to_base:
        assert base_steps == []
        return
    alone = captured(key.removesuffix("+base")).training_requests
    assert len(base_steps) == len(alone), "one base-model job per job of the fine-tuned model"
    for step in base_steps:
        twin = step.replace("Base", "Custom")
        ours, theirs = copy.deepcopy(captured(key).training_requests[step]), copy.deepcopy(alone[twin])
        theirs.pop("ModelPackageConfig")
        assert _without_names(ours) == _without_names(theirs), f"{step} differs from {twin} beyond its names"


def _without_names(arguments: dict) -> dict:
    """The Arguments with "Base"/"Custom" (and "base-"/"custom-") names made alike."""
    text = json.dumps(arguments).replace("BaseInference", "Inference").replace("CustomInference", "Inference")
    return json.loads(text.replace("base-llmaj", "llmaj").replace("custom-llmaj", "llmaj"))


@pytest.mark.parametrize("key", INTENTS)
def test_pipeline_mlflow_config(key):
    capture = captured(key)
    assert capture.definition["MlflowConfig"] == {
        "MlflowResourceArn": E.MLFLOW_ARN,
        "MlflowExperimentName": capture.pipeline_name,  # the SDK's default: the pipeline's name
    }
    assert capture.mlflow_apps_created == []


# ----------------------------------------------------------------------------- what SDK v3 1.27.0 sends
def test_benchmark_requests():
    for key in ("benchmark", "benchmark+base"):
        for step, arguments in captured(key).training_requests.items():
            assert arguments["HyperParameters"] == {
                "task": "mmlu", "strategy": "zs_cot", "evaluation_metric": "accuracy", **INFERENCE,
                "aggregation": "", "postprocessing": "False",  # the recipe's defaults, stringified
            }, step
            assert arguments["OutputDataConfig"] == {"S3OutputPath": E.OUTPUT_PATH, "CompressionType": "NONE"}
            assert "InputDataConfig" not in arguments and "TrainingJobName" not in arguments
            assert "EvaluatorArn" not in arguments["ServerlessJobConfig"]
            assert captured(key).expressions(step) == {}


def test_custom_scorer_requests():
    train = [{"ChannelName": "train",
              "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": E.DATASET}}}]
    for key in ("scorer-arn", "scorer-arn+base", "scorer-math", "scorer-math+base"):
        by_arn = key.startswith("scorer-arn")
        for step, arguments in captured(key).training_requests.items():
            hyper = {"task": "gen_qa", "strategy": "gen_qa", "evaluation_metric": "all", **INFERENCE}
            # with an evaluator ARN the SDK turns post-processing on and defaults the aggregation to "mean"
            hyper |= {"aggregation": "mean", "postprocessing": "True"} if by_arn else {
                "aggregation": "", "postprocessing": "False", "preset_reward_function": "prime_math"}
            assert arguments["HyperParameters"] == hyper, step
            assert arguments["ServerlessJobConfig"].get("EvaluatorArn") == (E.EVALUATOR_ARN if by_arn else None)
            assert arguments["InputDataConfig"] == train
            assert arguments["OutputDataConfig"] == {"S3OutputPath": E.OUTPUT_PATH, "CompressionType": "NONE"}
            assert "TrainingJobName" not in arguments
            assert captured(key).expressions(step) == {}


def test_llm_as_judge_inference_requests():
    output = E.OUTPUT_PATH.rstrip("/")  # the judge evaluator strips the trailing slash
    for key in ("judge", "judge+base"):
        for step, arguments in captured(key).training_requests.items():
            if step.endswith("Metrics"):
                continue
            name = "BaseInference" if "Base" in step else "CustomInference"
            assert arguments["TrainingJobName"] == name  # a constant: SageMaker Pipelines names the job
            assert arguments["HyperParameters"] == {"name": name, "task": "inference_only"}
            assert arguments["OutputDataConfig"] == {"S3OutputPath": output, "CompressionType": "NONE"}
            assert arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == E.DATASET
            assert captured(key).expressions(step) == {}


def test_llm_as_judge_metrics_requests():
    output = E.OUTPUT_PATH.rstrip("/")
    for key in ("judge", "judge+base"):
        capture = captured(key)
        for step, arguments in capture.training_requests.items():
            if not step.endswith("Metrics"):
                continue
            who = "base" if "Base" in step else "custom"
            inference = f"Evaluate{who.title()}InferenceModel"
            job_name = {"Std:Join": {"On": "-", "Values": [f"{who}-llmaj-eval", {"Get": "Execution.PipelineExecutionId"}]}}
            results = {"Std:Join": {"On": "", "Values": [
                {"Get": f"Steps.{inference}.OutputDataConfig.S3OutputPath"}, "/",
                {"Get": f"Steps.{inference}.TrainingJobName"}, "/output/output/",
                f"{who.title()}Inference", "/eval_results/inference_output.jsonl"]}}
            assert capture.expressions(step) == {
                "TrainingJobName": job_name, "HyperParameters.name": job_name,
                "HyperParameters.inference_data_s3_path": results,
            }
            assert arguments["HyperParameters"] == {
                "name": job_name, "judge_model_id": E.JUDGE_MODEL_ID, "inference_data_s3_path": results,
                "output_path": output, "llmaj_metrics": json.dumps(["Correctness", "Helpfulness"]),
                "max_new_tokens": "8192", "temperature": "0", "top_k": "-1", "top_p": "1.0",
            }
            assert arguments["OutputDataConfig"] == {"S3OutputPath": output, "CompressionType": "NONE"}
            assert "InputDataConfig" not in arguments


# ----------------------------------------------------------------------------- the fake account's assumptions
def test_an_existing_evaluation_pipeline_is_updated_with_the_same_jobs():
    capture = E.capture_eval_requests(INTENTS["scorer-arn+base"], existing_pipeline=True)
    assert not capture.unexpected
    assert capture.pipeline_operation == "UpdatePipeline"
    assert "sagemaker:ListTags" in capture.operations()
    assert capture.training_requests == captured("scorer-arn+base").training_requests


def test_a_judge_outside_the_supported_list_is_refused_at_construction():
    from pydantic import ValidationError

    intent = E.EvalIntent("llm_as_judge", dataset=E.DATASET, judge_model_id="openai.gpt-oss-120b-1:0", metrics=METRICS)
    assert intent.judge_model_id not in E.SUPPORTED_JUDGE_MODELS
    with pytest.raises(ValidationError, match="not a supported LLM-as-Judge model"):
        E.capture_eval_requests(intent)


def test_without_the_evaluation_recipe_the_sdk_sends_no_inference_hyperparameters():
    """Why the fake hub serves the model's evaluation recipe: without one, SDK v3 falls back silently."""
    capture = E.capture_eval_requests(INTENTS["benchmark"], eval_recipe=False)
    assert not capture.unexpected
    assert capture.training_requests["EvaluateCustomModel"]["HyperParameters"] == {
        "task": "mmlu", "strategy": "zs_cot", "evaluation_metric": "accuracy"}


def test_without_an_mlflow_arn_the_sdk_creates_an_app():
    capture = E.capture_eval_requests(E.EvalIntent("benchmark", benchmark="mmlu", mlflow_resource_arn=None))
    assert not capture.unexpected
    assert len(capture.mlflow_apps_created) == 1
    assert capture.definition["MlflowConfig"]["MlflowResourceArn"].startswith(
        f"arn:aws:sagemaker:{E.REGION}:{E.ACCOUNT}:mlflow-app/")
    assert capture.training_requests == captured("benchmark").training_requests


def test_placeholders_stand_for_expressions_and_the_pipeline_job_name():
    arguments = captured("judge").training_requests["EvaluateCustomModelMetrics"]
    request = E.with_placeholders(arguments)
    assert request["TrainingJobName"] == request["HyperParameters"]["name"] == "PipelineExpression"
    assert not list(E.pipeline_expressions(request))
    assert E.with_placeholders(captured("benchmark").training_requests["EvaluateCustomModel"])["TrainingJobName"] == (
        "PipelineExpression")
