"""S3: the fine-tuning bucket (``datasets/``, ``outputs/``, ``prompts/``)."""
