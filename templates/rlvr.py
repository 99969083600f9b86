# Cell 1: Imports
# %pip install "sagemaker>=3.7.1,<4.0" mlflow sagemaker-mlflow  # NOTEBOOK_ONLY
import json
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from sagemaker.ai_registry.dataset import DataSet
#% if not reward_function
from sagemaker.ai_registry.air_constants import REWARD_FUNCTION
from sagemaker.ai_registry.evaluator import Evaluator
#% endif
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import ModelPackageGroup
#% if training_type == "LORA"
from sagemaker.train.common import CustomizationTechnique
#% else
from sagemaker.train.common import CustomizationTechnique, TrainingType
#% endif
from sagemaker.train.rlvr_trainer import RLVRTrainer

#% include "_setup.py"

#% include "_group_and_dataset.py"

#% if reward_function
# Cell 5: Reward Function
# A registered reward function: a hub-content JsonDoc evaluator ARN, or a Lambda ARN
# (the SDK registers the Lambda as an evaluator).
CUSTOM_REWARD_FUNCTION = {{ reward_function | py }}
#% else
# Cell 5: Register Reward Function
# reward_function.py defines lambda_handler(event, context): it receives a batch of samples and
# returns [{"id", "aggregate_reward_score", "metrics_list"}] in a statusCode/body envelope.
# Evaluator.create deploys it as a Lambda and registers it in the AI Registry.
REWARD_FUNCTION_SOURCE = "reward_function.py"
evaluator = Evaluator.create(
    name={{ evaluator_name | py }},
    type=REWARD_FUNCTION,
    source=REWARD_FUNCTION_SOURCE,
    sagemaker_session=sagemaker_session,
    wait=True,
)
CUSTOM_REWARD_FUNCTION = evaluator.arn
#% endif
print("Reward function:", CUSTOM_REWARD_FUNCTION)

# Cell 6: Configure Trainer
# Reinforcement learning with verifiable rewards: the reward function scores each rollout.
trainer = RLVRTrainer(
    model=BASE_MODEL,
    #% if training_type != "LORA"
    training_type={{ training_type_enum }},
    #% endif
    model_package_group=model_package_group,
    custom_reward_function=CUSTOM_REWARD_FUNCTION,
    training_dataset=dataset.arn,
#% include "_trainer_args.py"
#% if not is_nova
print("Epochs:", getattr(trainer.hyperparameters, "max_epochs", None))
#% endif

#% include "_tail.py"
