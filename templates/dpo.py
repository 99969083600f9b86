# Cell 1: Imports
# %pip install "sagemaker>=3.7.1,<4.0" mlflow sagemaker-mlflow  # NOTEBOOK_ONLY
import json
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from sagemaker.ai_registry.dataset import DataSet
from sagemaker.core.helper.session_helper import Session, get_execution_role
from sagemaker.core.resources import ModelPackageGroup
from sagemaker.train.common import CustomizationTechnique, TrainingType
from sagemaker.train.dpo_trainer import DPOTrainer

#% include "_setup.py"

#% include "_group_and_dataset.py"

# Cell 5: Configure Trainer
# Direct preference optimization on {"prompt", "chosen", "rejected"} records.
trainer = DPOTrainer(
    model=BASE_MODEL,
    training_type={{ training_type_enum }},
    model_package_group=model_package_group,
    training_dataset=dataset.arn,
#% include "_trainer_args.py"
#% if not is_nova
print("Epochs:", getattr(trainer.hyperparameters, "max_epochs", None))
#% endif

#% include "_tail.py"
