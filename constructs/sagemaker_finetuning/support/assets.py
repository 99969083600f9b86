"""Where the constructs find their Lambda code.

One asset serves every function the library defines; its layout is ``asset_layout``'s. The copy is
staged once per process into a temporary directory; CDK hashes the content, so the asset is
identical whether the library runs from a clone or from an installed wheel.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

from sagemaker_finetuning.support.asset_layout import HANDLER_PREFIX, stage

#: The Python runtime of every Lambda function the library defines.
RUNTIME = lambda_.Runtime.PYTHON_3_14


@lru_cache(maxsize=1)
def _staged_root() -> str:
    root = Path(tempfile.mkdtemp(prefix="sagemaker-finetuning-asset-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return str(stage(root))


def library_code() -> lambda_.Code:
    """The library's Lambda code (all handlers and the core, one asset)."""
    return lambda_.Code.from_asset(_staged_root())


def handler(module: str, function: str) -> str:
    """``handler("workflow.handler", "step")`` -> ``lambda_src.workflow.handler.step``."""
    return f"{HANDLER_PREFIX}.{module}.{function}"
