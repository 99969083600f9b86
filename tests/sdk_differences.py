"""The deliberate differences between our CreateTrainingJob request and SDK v3's, with their
reasons: ``tests/core/test_planner_vs_sdk.py`` allows exactly these, the README quotes them."""

from __future__ import annotations

#: The differences between our request and SDK v3's that are there on purpose. Key: the request
#: field; value: why. ``NORMALIZERS`` (one per key) checks each difference is exactly this one.
DELIBERATE_DIFFERENCES: dict[str, str] = {
    "TrainingJobName": (
        "`<model>-<technique>-<10 hex of sha256(execution ARN)>` instead of SDK v3's `<model>-<technique>-<timestamp>`: "
        "a redriven execution or a retried CreateTrainingJob finds the job it already started instead of starting a "
        "second one. The `<model>-<technique>-` prefix is the same, except that past 63 characters we shorten the model "
        "part and keep the suffix whole, while SDK v3 cuts the end: for a long id such as "
        "`huggingface-reasoning-nvidia-nemotron-3-nano-30b-a3b-bf16` its timestamp is lost and two runs collide."
    ),
    "StoppingCondition": (
        "Always sent: `MaxRuntimeInSeconds` is the input's `max_runtime_in_seconds`, else the stack's maximum (24 h "
        "unless configured). SDK v3 sends a StoppingCondition only when `stopping_condition` is given (the service "
        "default is then 24 h). An explicit bound is known at plan time and is enforced against the stack's maximum."
    ),
    "Tags": (
        "Besides SDK v3's JumpStart tags and the user's tags we add the stack's tags, "
        "`sagemaker-finetuning:stack-id=<stack id>` and `sagemaker-finetuning:execution-arn=<execution ARN>`, which tie "
        "the job to its stack and execution: only that execution may adopt or stop it, and the stack's IAM policies "
        "allow job actions only on jobs carrying the stack's tag."
    ),
    "MlflowConfig": (
        "Sent only when an MLflow ARN is given (input `mlflow_resource_arn` or the stack's). Without one SDK v3 looks "
        "for the account's default MLflow app and, if there is none, creates one (CreateMlflowApp, then waits for it) "
        "while starting the job; the workflow never creates account resources implicitly. Without an ARN, "
        "`mlflow_experiment_name` / `mlflow_run_name` are therefore not sent either."
    ),
    "ServerlessJobConfig.EvaluatorArn": (
        "RLVR with a Lambda ARN as `custom_reward_function`: we send the evaluator the stack registered for that "
        "Lambda at deploy time; SDK v3 registers a new evaluator (`rlvr-reward-<model>-<timestamp>` in the account's "
        "AI Registry hub) for every job. Both evaluators refer to the same Lambda."
    ),
    "ServerlessJobConfig.Peft": (
        "Full fine-tuning: we leave `Peft` out, as SDK v3 does for `training_type=TrainingType.FULL`. Given the "
        "string `\"FULL\"` (which its signature also accepts) SDK v3 sends `Peft: \"FULL\"`, a value outside the "
        "service's enum (`LORA` only); `_create_serverless_config` maps only the enum. We do not copy that."
    ),
    "OutputDataConfig.CompressionType": (
        "RLAIF with `disable_output_compression`: we send `CompressionType: NONE` as for the other techniques. "
        "RLAIFTrainer.train never passes `disable_output_compression` to `_create_output_config`, so SDK v3 "
        "silently drops the setting (an SDK bug we do not copy)."
    ),
}


def _pop(field: str):  # type: ignore[no-untyped-def]
    def normalize(request: dict) -> None:  # type: ignore[type-arg]
        request.pop(field, None)
    return normalize


def _judge_name(request: dict) -> None:  # type: ignore[type-arg]
    if request.get("ServerlessJobConfig", {}).get("EvaluationType") == "LLMAJEvaluation":
        request.get("HyperParameters", {}).pop("name", None)


#: The deliberate differences between our evaluation jobs and the Training steps of SDK v3's evaluation
#: pipeline (``tests/core/test_evaluation_vs_sdk.py``; the README quotes them). ``normalize`` removes exactly
#: that difference from a request.
EVALUATION_DIFFERENCES: dict[str, dict] = {  # type: ignore[type-arg]
    "TrainingJobName": {
        "why": "`<model>-eval-ft|eval-base|infer-ft|infer-base-<hash of execution and run>`: the workflow launches the jobs "
               "itself, idempotently (a redrive finds them). In SDK v3's pipeline SageMaker Pipelines names them (no "
               "TrainingJobName, `CustomInference` / `BaseInference`, `custom-llmaj-eval-<pipeline execution id>`); the "
               "judge's `name` hyperparameter and its `inference_data_s3_path` follow the job names the same way in both.",
        "normalize": lambda r: (_pop("TrainingJobName")(r), _judge_name(r)),
    },
    "Tags": {
        "why": "The stack's tags, the user's tags, `sagemaker-finetuning:stack-id` and `sagemaker-finetuning:execution-arn` on "
               "every evaluation job, as on training jobs (ownership, clean-up on abort, IAM conditions). SDK v3 tags the "
               "pipeline (`SagemakerModelEvaluation=true`), not the jobs.",
        "normalize": _pop("Tags"),
    },
    "ModelPackageConfig": {
        "why": "Base-model evaluation jobs carry `ModelPackageGroupArn` (the run's group, no source package): the service "
               "requires a group or an MLflow experiment name (SDK v3 issue #5582), and a stack need not have MLflow. "
               "SDK v3 1.27.0 sends none and relies on the pipeline's MLflow experiment.",
        "normalize": lambda r: r.pop("ModelPackageConfig", None) if "SourceModelPackageArn" not in r.get("ModelPackageConfig", {}) else None,
    },
    "MlflowConfig": {
        "why": "On each job, only with an MLflow ARN (input or stack), like training jobs. SDK v3 puts it on the pipeline, "
               "with the pipeline's name as experiment name, and finds or creates a default MLflow app without one.",
        "normalize": _pop("MlflowConfig"),
    },
}
