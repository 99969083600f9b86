# Cell 1: Imports
# %pip install "sagemaker>=3.7.1,<4.0" mlflow sagemaker-mlflow  # NOTEBOOK_ONLY
import json
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from sagemaker.ai_registry.dataset import DataSet
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import ModelPackageGroup
#% if training_type == "LORA"
from sagemaker.train.common import CustomizationTechnique
#% else
from sagemaker.train.common import CustomizationTechnique, TrainingType
#% endif
from sagemaker.train.rlaif_trainer import RLAIFTrainer

#% include "_setup.py"

#% include "_group_and_dataset.py"

# Cell 5: Judge
# An Amazon Bedrock model scores the responses with a built-in judge prompt
# (Builtin.Summarize, Builtin.Faithfulness, Builtin.ChainOfThought, Builtin.Evaluation).
REWARD_MODEL_ID = {{ reward_model_id | py }}
JUDGE_PROMPT = {{ judge_prompt | py }}
print("Judge:", REWARD_MODEL_ID, "with", JUDGE_PROMPT)

# Cell 6: Configure Trainer
# Reinforcement learning from AI feedback on prompt-only records.
trainer = RLAIFTrainer(
    model=BASE_MODEL,
    #% if training_type != "LORA"
    training_type={{ training_type_enum }},
    #% endif
    model_package_group=model_package_group,
    reward_model_id=REWARD_MODEL_ID,
    reward_prompt=JUDGE_PROMPT,
    training_dataset=dataset.arn,
#% include "_trainer_args.py"
#% if not is_nova
print("Epochs:", getattr(trainer.hyperparameters, "max_epochs", None))
#% endif

#% include "_tail.py"
