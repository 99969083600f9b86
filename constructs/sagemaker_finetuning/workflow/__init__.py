"""Step Functions: the fine-tuning workflow (the construct, its Lambda runtime, its retry/catch policies)."""

from sagemaker_finetuning.workflow.construct import FineTuningWorkflow

__all__ = ["FineTuningWorkflow"]
