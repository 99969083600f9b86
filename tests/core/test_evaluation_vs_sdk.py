"""The evaluation planner's CreateTrainingJob requests are, field for field, the Training steps SDK v3's
evaluators put in their SageMaker Pipeline (``tests/sdk_eval_oracle.py``), for benchmark, custom scorer
(hub evaluator and built-in) and LLM-as-judge, each with and without the base model, with and without
the model's evaluation recipe.

The pipeline's expressions (``{"Get": "Steps.X.TrainingJobName"}``, ``Std:Join``) are resolved with our
job names, so a job name is the only thing they may differ by. The deliberate differences, each in
``EVALUATION_DIFFERENCES`` (the README quotes it), are removed from both sides before comparing; every
request of ours is also validated against botocore's CreateTrainingJob input shape.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import sdk_eval_oracle as E
import sdk_oracle as O

from sagemaker_finetuning.core.evaluation_plan import Target, plan_evaluation
from sagemaker_finetuning.core.settings import StackSettings

pytestmark = [
    pytest.mark.filterwarnings("ignore:sagemaker.train.configs has been moved:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:register_new_resolver:UserWarning"),
]

from sdk_differences import EVALUATION_DIFFERENCES  # noqa: E402

EXECUTION = f"arn:aws:states:{E.REGION}:{E.ACCOUNT}:execution:FineTuningWorkflow:run-0001"
SETTINGS = StackSettings(region=E.REGION, account=E.ACCOUNT, partition="aws", role_arn=E.ROLE_ARN, bucket="ft-stack-bucket",
                         evaluation_judge_model_ids=(E.JUDGE_MODEL_ID,))
#: SDK step name -> (our side, index of the job in the side)
STEPS = {
    "EvaluateCustomModel": ("fine_tuned", 0), "EvaluateBaseModel": ("base", 0),
    "EvaluateCustomInferenceModel": ("fine_tuned", 0), "EvaluateCustomModelMetrics": ("fine_tuned", 1),
    "EvaluateBaseInferenceModel": ("base", 0), "EvaluateBaseModelMetrics": ("base", 1),
}
DATASET = "s3://ft-shared-datasets/eval/gen_qa.jsonl"
BASE_MODEL_ARN = f"arn:aws:sagemaker:{E.REGION}:aws:hub-content/SageMakerPublicHub/Model/{E.BASE_MODEL_ID}/1.0.0"
HUB_EVALUATOR = f"arn:aws:sagemaker:{E.REGION}:{E.ACCOUNT}:hub-content/FtRegistry/JsonDoc/ft-reward/1.0.0"
INTENTS = {
    "benchmark": dict(kind="benchmark", benchmark="mmlu"),
    "custom_scorer (hub evaluator)": dict(kind="custom_scorer", dataset=DATASET, evaluator=HUB_EVALUATOR),
    "custom_scorer (prime_math)": dict(kind="custom_scorer", dataset=DATASET, evaluator="prime_math"),
    "llm_as_judge": dict(kind="llm_as_judge", dataset=DATASET, judge_model_id=E.JUDGE_MODEL_ID, metrics=("Builtin.Correctness", "Helpfulness")),
}


def our_input(intent: E.EvalIntent) -> dict[str, Any]:
    evaluation: dict[str, Any] = {"type": intent.kind, "compare_to_base": intent.compare_to_base}
    for key in ("benchmark", "dataset", "evaluator", "judge_model_id"):
        if getattr(intent, key):
            evaluation[key] = getattr(intent, key)
    if intent.metrics:
        evaluation["metrics"] = [m.removeprefix("Builtin.") for m in intent.metrics]
    return {"evaluation": evaluation, "s3_output_path": intent.s3_output_path, "mlflow_resource_arn": intent.mlflow_resource_arn}


def resolve(value: Any, context: dict[str, str]) -> Any:
    """A pipeline expression's value at run time, with our job names as the steps' TrainingJobName."""
    if isinstance(value, dict) and set(value) == {"Get"}:
        return context[value["Get"]]
    if isinstance(value, dict) and set(value) == {"Std:Join"}:
        join = value["Std:Join"]
        return join["On"].join(str(resolve(v, context)) for v in join["Values"])
    if isinstance(value, dict):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    return value


def normalized(request: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(request)
    for difference in EVALUATION_DIFFERENCES.values():
        difference["normalize"](out)
    return out


CASES = [(name, base, recipe) for name in INTENTS for base in (False, True)
         for recipe in ((True,) if INTENTS[name]["kind"] == "llm_as_judge" else (True, False))]  # LLM-as-judge reads no recipe


@pytest.mark.parametrize("name, compare_to_base, recipe", CASES,
                         ids=[f"{n}-{'with base' if b else 'model only'}-{'recipe' if r else 'no recipe'}" for n, b, r in CASES])
def test_each_evaluation_job_equals_sdk_v3s_training_step(name, compare_to_base, recipe):
    intent = E.EvalIntent(**INTENTS[name], compare_to_base=compare_to_base)
    captured = E.capture_eval_requests(intent, eval_recipe=recipe)
    assert not captured.unexpected
    target = Target(model_id=intent.base_model_id, base_model_arn=BASE_MODEL_ARN, model_package_arn=intent.model_package_arn,
                    model_package_group_arn=f"arn:aws:sagemaker:{E.REGION}:{E.ACCOUNT}:model-package-group/ft-models")
    plan = plan_evaluation(our_input(intent), target, SETTINGS, EXECUTION, eval_overrides=E.EVAL_OVERRIDE_PARAMS if recipe else None)
    ours = {(side["side"], i): job for side in plan["sides"] for i, job in enumerate(side["jobs"])}
    assert set(ours) == {STEPS[step] for step in captured.training_requests}, (sorted(ours), list(captured.training_requests))
    context = {"Execution.PipelineExecutionId": "exec-id"}
    for step, (side, index) in STEPS.items():
        if (side, index) in ours and step in captured.training_requests:
            context[f"Steps.{step}.TrainingJobName"] = ours[(side, index)]["TrainingJobName"]
            context[f"Steps.{step}.OutputDataConfig.S3OutputPath"] = ours[(side, index)]["OutputDataConfig"]["S3OutputPath"]
    for step, sdk_request in captured.training_requests.items():
        mine = ours[STEPS[step]]
        O.assert_valid_request(mine)
        assert normalized(mine) == normalized(resolve(sdk_request, context)), step
