"""The layout of the library's Lambda asset (no ``aws_cdk`` needed: benchmarks and tests use it too).

The asset root holds ``lambda_src/`` (the handlers: ``lambda_src.<function>.handler.<entry>``) and
``sagemaker_finetuning/core/`` (the pure core the handlers import) under a stub
``sagemaker_finetuning/__init__.py``, so the construct classes and ``aws_cdk`` stay out of Lambda.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import sagemaker_finetuning.core as _core_package
import sagemaker_finetuning.lambda_src as _lambda_package

#: Handler strings are relative to the asset root.
HANDLER_PREFIX = "lambda_src"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.egg-info")
STUB_INIT = '"""SageMaker AI serverless fine-tuning: the pure core, as the Lambda functions import it."""\n'


def _package_dir(module: Any) -> Path:
    return Path(module.__file__).resolve().parent


def stage(root: Path) -> Path:
    """Copy the asset's content into ``root`` (an empty or missing directory); returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(_package_dir(_lambda_package), root / HANDLER_PREFIX, ignore=IGNORE)
    shutil.copytree(_package_dir(_core_package), root / "sagemaker_finetuning" / "core", ignore=IGNORE)
    (root / "sagemaker_finetuning" / "__init__.py").write_text(STUB_INIT, encoding="utf-8")
    return root
