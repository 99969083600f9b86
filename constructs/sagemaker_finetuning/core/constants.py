"""Facts SageMaker Python SDK v3 (sagemaker-train 1.27.0) encodes, mirrored for stdlib code.

``tests/test_constants.py`` compares each value with the installed SDK so a drift shows.
"""

from __future__ import annotations

PUBLIC_HUB_NAME = "SageMakerPublicHub"

#: Step Functions execution statuses that end an execution (DescribeExecution ``status``).
TERMINAL_EXECUTION_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
#: SageMaker ``TrainingJobStatus`` values that end a training job.
TERMINAL_JOB_STATUSES = ("Completed", "Failed", "Stopped")
JOB_TYPE = "FineTuning"
TECHNIQUES = ("SFT", "DPO", "RLVR", "RLAIF")
TRAINING_TYPES = ("LORA", "FULL")

#: sagemaker.train.common_utils.finetune_utils.OPEN_WEIGHTS_REGIONS / NOVA_REGIONS
OPEN_WEIGHTS_REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1", "eu-west-1")
NOVA_REGIONS = ("us-east-1", "us-west-2")

#: sagemaker.train.constants._ALLOWED_REWARD_MODEL_IDS: RLAIF judge model -> regions offering it.
JUDGE_MODEL_REGIONS: dict[str, tuple[str, ...]] = {
    "openai.gpt-oss-120b-1:0": ("us-west-2", "us-east-1", "ap-northeast-1", "eu-west-1"),
    "openai.gpt-oss-20b-1:0": ("us-west-2", "us-east-1", "ap-northeast-1", "eu-west-1"),
    "qwen.qwen3-32b-v1:0": ("us-west-2", "us-east-1", "ap-northeast-1", "eu-west-1"),
    "qwen.qwen3-coder-30b-a3b-v1:0": ("us-west-2", "us-east-1", "ap-northeast-1", "eu-west-1"),
    "qwen.qwen3-coder-480b-a35b-v1:0": ("us-west-2", "ap-northeast-1"),
    "qwen.qwen3-235b-a22b-2507-v1:0": ("us-west-2", "ap-northeast-1"),
}

#: sagemaker.train.common_utils.model_aliases.MODEL_NAME_ALIASES: Bedrock-style id -> hub content name.
MODEL_NAME_ALIASES: dict[str, str] = {
    "amazon.nova-2-lite-v1": "nova-textgeneration-lite-v2",
    "amazon.nova-lite-v1": "nova-textgeneration-lite",
    "amazon.nova-pro-v1": "nova-textgeneration-pro",
    "amazon.nova-micro-v1": "nova-textgeneration-micro",
}

#: Built-in RLAIF judge prompts, reward_prompt="Builtin.<Name>": the basenames of the real recipes'
#: judge_prompt_template enum (/opt/ml/code/verl/{summarize,faithfulness,cot,evaluate}.jinja; Nemotron's
#: bedrock/RLAIF/PandaLM/prompts/grader.jinja), which RLAIFTrainer matches case-insensitively by basename
#: (sagemaker-train 1.27.0 rlaif_trainer.py _normalize_template_name). Which ones a run may use is the
#: recipe's enum: the planner checks it.
BUILTIN_JUDGE_PROMPTS = ("Summarize", "Faithfulness", "Cot", "Evaluate", "Grader")
#: Names the SageMaker AI agent plugin documents (Builtin.ChainOfThought, Builtin.Evaluation) that no
#: recipe file has: SDK v3 refuses them ("not an available preset"); we name the one meant.
BUILTIN_JUDGE_PROMPT_ALIASES = {"chainofthought": "Cot", "evaluation": "Evaluate"}

#: Hyperparameters the SDK removes from the recipe's defaults because the request carries them.
STRIPPED_HYPERPARAMETERS = {
    "SFT": ("data_path", "output_path", "data_s3_path", "output_s3_path", "training_data_name",
            "validation_data_name", "validation_data_path"),
    "DPO": ("data_path", "output_path", "data_s3_path", "output_s3_path", "training_data_name",
            "validation_data_name", "validation_data_path"),
    "RLVR": ("data_s3_path", "reward_lambda_arn", "data_path", "validation_data_path", "output_path"),
    "RLAIF": ("output_path", "data_path", "validation_data_path"),
}

#: sagemaker.train.utils._get_jumpstart_tags keys.
JUMPSTART_MODEL_TAG = "sagemaker-sdk:jumpstart-model-id"
JUMPSTART_HUB_TAG = "sagemaker-sdk:jumpstart-hub-name"

#: Our own tags (a deliberate addition; see the README "Differences from SDK v3").
EXECUTION_TAG = "sagemaker-finetuning:execution-arn"
#: The CloudFormation stack id of the workflow that created a job (the IAM conditions match on it).
STACK_TAG = "sagemaker-finetuning:stack-id"

#: finetune_utils._validate_hyperparameter_values: characters allowed in string values.
HYPERPARAMETER_VALUE_PATTERN = r"^[a-zA-Z0-9/_.:,\-\s'\"\[\]]*$"



def is_nova_model(model_id: str) -> bool:
    """finetune_utils._is_nova_model: 'nova' anywhere in the id, case-insensitively."""
    return "nova" in model_id.lower()
