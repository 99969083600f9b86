"""``python -m sagemaker_finetuning.cli`` = ``finetune``."""

from . import main

main()
