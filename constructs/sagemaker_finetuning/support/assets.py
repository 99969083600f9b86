"""Where the constructs find their Lambda code.

One asset serves every function the library defines. Its root holds

* ``lambda_src/`` — the handlers (``sagemaker_finetuning.lambda_src`` in the wheel), so handler
  strings read ``lambda_src.<function>.handler.<entry>``;
* ``sagemaker_finetuning/core/`` — the pure domain core the handlers import as
  ``sagemaker_finetuning.core``, under a stub ``sagemaker_finetuning/__init__.py`` (the construct
  classes and ``aws_cdk`` stay out of Lambda).

The copy is staged once per process into a temporary directory; CDK hashes the content, so the
asset is identical whether the library runs from a clone or from an installed wheel.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

import sagemaker_finetuning.core as _core
import sagemaker_finetuning.lambda_src as _lambda_src

#: The Python runtime of every Lambda function the library defines.
RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Handler strings are relative to the asset root.
HANDLER_PREFIX = "lambda_src"

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.egg-info")
_STUB_INIT = '"""SageMaker AI serverless fine-tuning: the pure core, as the Lambda functions import it."""\n'


def _package_dir(module: object) -> Path:
    return Path(module.__file__).resolve().parent


@lru_cache(maxsize=1)
def _staged_root() -> str:
    root = Path(tempfile.mkdtemp(prefix="sagemaker-finetuning-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(_package_dir(_lambda_src), root / HANDLER_PREFIX, ignore=_IGNORE)
    shutil.copytree(_package_dir(_core), root / "sagemaker_finetuning" / "core", ignore=_IGNORE)
    (root / "sagemaker_finetuning" / "__init__.py").write_text(_STUB_INIT, encoding="utf-8")
    return str(root)


def library_code() -> lambda_.Code:
    """The library's Lambda code (all handlers and the core, one asset)."""
    return lambda_.Code.from_asset(_staged_root())


def handler(module: str, function: str) -> str:
    """``handler("workflow.handler", "step")`` -> ``lambda_src.workflow.handler.step``."""
    return f"{HANDLER_PREFIX}.{module}.{function}"
