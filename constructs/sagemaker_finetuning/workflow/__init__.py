"""Step Functions: the fine-tuning workflow (the construct, its Lambda runtime, its retry/catch policies)."""

from sagemaker_finetuning.workflow.construct import FineTuningWorkflow
from sagemaker_finetuning.workflow.job import FineTuningJob

__all__ = ["FineTuningJob", "FineTuningWorkflow"]
