# Cell 1: Imports
# %pip install "sagemaker>=3.7.1,<4.0" mlflow sagemaker-mlflow  # NOTEBOOK_ONLY
import json
from pathlib import Path

import boto3
from sagemaker.ai_registry.dataset import DataSet
from sagemaker.core.helper.session_helper import Session, get_execution_role
#% if not previous_model_package_arn
from sagemaker.core.resources import TrainingJob
#% endif
#% if technique in ("SFT", "DPO") or training_type != "LORA"
from sagemaker.train.common import CustomizationTechnique, TrainingType
#% else
from sagemaker.train.common import CustomizationTechnique
#% endif
#% if technique == "SFT"
from sagemaker.train.sft_trainer import SFTTrainer
#% elif technique == "DPO"
from sagemaker.train.dpo_trainer import DPOTrainer
#% elif technique == "RLVR"
from sagemaker.train.rlvr_trainer import RLVRTrainer
#% else
from sagemaker.train.rlaif_trainer import RLAIFTrainer
#% endif

# Cell 2: Setup & Credentials
# Continued customization: train the model package an earlier job produced on new data and
# register the result in the same model package group (it is not re-created).
sagemaker_session = Session(sagemaker_client=boto3.Session().client("sagemaker"))
BUCKET = sagemaker_session.default_bucket()
#% if role_arn
ROLE_ARN = {{ role_arn | py }}
#% else
ROLE_ARN = get_execution_role()
#% endif

BASE_MODEL = {{ base_model | py }}  # the original base model, for the record
MODEL_PACKAGE_GROUP_NAME = {{ model_package_group_name | py }}  # the group of the earlier rounds
#% if training_dataset
NEW_TRAINING_DATA_S3 = {{ training_dataset | py }}
#% else
NEW_TRAINING_DATA_S3 = f"s3://{BUCKET}/datasets/{MODEL_PACKAGE_GROUP_NAME}/round-{{ round }}.jsonl"  # upload here
#% endif
S3_OUTPUT_PATH = f"s3://{BUCKET}/finetuning-output/"
#% if mlflow_resource_arn
MLFLOW_RESOURCE_ARN = {{ mlflow_resource_arn | py }}
#% endif
#% if not previous_model_package_arn
# Not sure of the name? aws sagemaker list-training-jobs --status-equals Completed
PREVIOUS_TRAINING_JOB_NAME = {{ previous_training_job | py }}
#% endif

# Cell 3: Previous Model Package
#% if previous_model_package_arn
PREVIOUS_MODEL_PACKAGE_ARN = {{ previous_model_package_arn | py }}
#% else
# "ValidationException: Requested resource not found" means a wrong job name or region.
previous_job = TrainingJob.get(training_job_name=PREVIOUS_TRAINING_JOB_NAME)
PREVIOUS_MODEL_PACKAGE_ARN = previous_job.output_model_package_arn
#% endif
print("Continuing from:", PREVIOUS_MODEL_PACKAGE_ARN)

# Cell 4: Register New Training Dataset
dataset = DataSet.create(
    name={{ dataset_name | py }},
    source=NEW_TRAINING_DATA_S3,
    customization_technique={{ technique_enum }},
    wait=True,
)
print("Dataset:", dataset.arn)

#% if technique == "RLVR"
# Cell 5: Reward Function
# The same kind of reward function as the earlier round: an evaluator ARN or a Lambda ARN.
CUSTOM_REWARD_FUNCTION = {{ reward_function | py }}

#% elif technique == "RLAIF"
# Cell 5: Judge
REWARD_MODEL_ID = {{ reward_model_id | py }}
JUDGE_PROMPT = {{ judge_prompt | py }}

#% endif
# Cell 6: Configure Trainer
# The model is the earlier output package. Continued customization passes no license flag.
#% if technique == "SFT"
trainer = SFTTrainer(
#% elif technique == "DPO"
trainer = DPOTrainer(
#% elif technique == "RLVR"
trainer = RLVRTrainer(
#% else
trainer = RLAIFTrainer(
#% endif
    model=PREVIOUS_MODEL_PACKAGE_ARN,
    #% if technique in ("SFT", "DPO") or training_type != "LORA"
    training_type={{ training_type_enum }},
    #% endif
    model_package_group=MODEL_PACKAGE_GROUP_NAME,
    #% if technique == "RLVR"
    custom_reward_function=CUSTOM_REWARD_FUNCTION,
    #% elif technique == "RLAIF"
    reward_model_id=REWARD_MODEL_ID,
    reward_prompt=JUDGE_PROMPT,
    #% endif
    training_dataset=dataset.arn,
    s3_output_path=S3_OUTPUT_PATH,
    mlflow_experiment_name=MODEL_PACKAGE_GROUP_NAME,
    #% if mlflow_resource_arn
    mlflow_resource_arn=MLFLOW_RESOURCE_ARN,
    #% endif
    sagemaker_session=sagemaker_session,
    role=ROLE_ARN,
)
#% if not is_nova
print("Epochs:", getattr(trainer.hyperparameters, "max_epochs", None))
#% endif

#% include "_tail.py"
