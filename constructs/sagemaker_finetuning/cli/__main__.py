"""``python -m sagemaker_finetuning.cli`` = ``finetune``."""

from sagemaker_finetuning.cli import main

main()
