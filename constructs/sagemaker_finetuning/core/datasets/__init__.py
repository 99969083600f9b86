"""Dataset record formats and the streaming validation engine (pure, stdlib only).

Shared by the operator tools (``sagemaker_finetuning.tools.datasets``: local files and S3 sources)
and the workflow (which checks the first records of a dataset before launching a job).
"""
