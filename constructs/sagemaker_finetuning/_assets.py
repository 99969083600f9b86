"""Where the constructs find their Lambda code: ``sagemaker_finetuning.lambda_src``.

The handlers import each other relatively (``from ..common import planner``), so the asset must
contain ``lambda_src/`` as a package at its root. We stage a copy of the package (without caches
and tests) into a temporary directory once per process; CDK hashes the content, so the asset is
identical whether the library runs from a clone or from an installed wheel.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

import sagemaker_finetuning.lambda_src as _lambda_src

#: The Python runtime of every Lambda function the library defines.
RUNTIME = lambda_.Runtime.PYTHON_3_14
#: Handler strings are relative to the asset root.
HANDLER_PREFIX = "lambda_src"

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "*.egg-info")


def lambda_src_dir() -> Path:
    return Path(_lambda_src.__file__).resolve().parent


@lru_cache(maxsize=1)
def _staged_root() -> str:
    root = Path(tempfile.mkdtemp(prefix="sagemaker-finetuning-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(lambda_src_dir(), root / HANDLER_PREFIX, ignore=_IGNORE)
    return str(root)


def library_code() -> lambda_.Code:
    """The library's Lambda code (all handlers, one asset)."""
    return lambda_.Code.from_asset(_staged_root())


def handler(module: str, function: str) -> str:
    """``handler("workflow.handler", "step")`` -> ``lambda_src.workflow.handler.step``."""
    return f"{HANDLER_PREFIX}.{module}.{function}"
