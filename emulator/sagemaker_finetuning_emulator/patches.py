"""The one place where the emulator's moto patches are applied.

``apply_all()`` imports every patch module (each declares the moto symbols it needs), runs the
self-check (moto must be the pinned 5.2.5 and every symbol must exist with the parameters the patch
relies on) and then applies the patches, once per process. The patched behaviour is *gated*: it is
used only between :func:`activate` and :func:`deactivate` (``Emulator.start``/``stop``); otherwise
every patched moto method falls through to moto's original, so other tests in the same process
that use moto in decorator mode are unaffected. Not gated: the CloudFormation type registrations
and the operations moto lacks altogether (Hub API, StopTrainingJob), which only replace a skip or
a 500 (likewise the doctor's operations: TestState, GetFoundationModel, MLflow, SimulatePrincipalPolicy).
The modules, in order:

================================  ===============================================================
``patch_lambda``                  Python Lambda handlers run in a subprocess (gap 1)
``patch_cloudformation``          ModelPackageGroup/Hub/Alarm types, synchronous custom resources
                                  (CDK provider framework emulated), stack failures, change-set
                                  Outputs and cleanup, UsePreviousValue, TemplateURL quirk (gap 2)
``patch_stepfunctions``           CFN machines executable, aws-sdk error names, "RoleArn.$",
                                  unnamed executions, execution status events (gap 3)
``patch_sagemaker_requests``      fault injection + botocore-model validation of SageMaker requests (gap 4)
``patch_sagemaker_jobs``          simulated serverless training jobs and their events (gap 4)
``patch_sagemaker_hub``           the Hub API, the public-hub catalogue, tags on hubs/packages (gap 5)
``patch_events``                  EventBridge Lambda/Step Functions targets (gap 6)
``patch_s3_events``               S3 "Object Created" events to EventBridge as AWS sends them;
                                  CFN bucket EventBridgeConfiguration (gap 7)
``patch_stepfunctions_testing``   ValidateStateMachineDefinition and TestState with ``mock`` (doctor)
``patch_bedrock``                 GetFoundationModel over a SIMULATED judge catalogue (doctor)
``patch_sagemaker_mlflow``        MLflow apps and tracking servers: create/describe/delete (doctor)
``patch_iam_simulation``          SimulatePrincipalPolicy, a SIMULATED identity-policy evaluator (doctor)
``control``                       control API routes under ``/moto-api/finetune/``
================================  ===============================================================
"""

from __future__ import annotations

import threading
from typing import Any

from sagemaker_finetuning_emulator import (
    _patching,
    control,
    patch_bedrock,
    patch_cloudformation,
    patch_events,
    patch_iam_simulation,
    patch_lambda,
    patch_s3_events,
    patch_sagemaker_hub,
    patch_sagemaker_jobs,
    patch_sagemaker_mlflow,
    patch_sagemaker_requests,
    patch_stepfunctions,
    patch_stepfunctions_testing,
)
from sagemaker_finetuning_emulator.runtime import RUNTIME

_patching.require("moto.moto_api._internal.models:MotoAPIBackend.reset")
_patching.require("moto.moto_api._internal.urls:url_paths")

MODULES = (
    patch_lambda,
    patch_cloudformation,
    patch_stepfunctions,
    patch_sagemaker_requests,
    patch_sagemaker_jobs,
    patch_sagemaker_hub,
    patch_events,
    patch_s3_events,
    patch_stepfunctions_testing,
    patch_bedrock,
    patch_sagemaker_mlflow,
    patch_iam_simulation,
    control,
)

_lock = threading.Lock()
_applied = False
_orig_reset: Any = None


def _reset(self: Any) -> None:
    """``MotoAPIBackend.reset`` (POST /moto-api/reset) that also resets the emulator.

    moto: re-creates every backend. The emulator additionally forgets simulated jobs, armed
    faults and per-job controls, and re-seeds the public-hub recipe objects in S3.
    """
    _orig_reset(self)
    RUNTIME.on_reset()


def apply_all() -> list[dict[str, str]]:
    """Self-check, then apply every patch (idempotent). Returns the patch list."""
    global _applied, _orig_reset
    with _lock:
        if not _applied:
            _patching.self_check()
            for module in MODULES:
                module.apply()
            _orig_reset = _patching.replace(
                "moto.moto_api._internal.models:MotoAPIBackend.reset", _reset, "reset also resets the emulator state"
            )
            _applied = True
    return _patching.describe_patches()


def activate() -> None:
    """Switch the patched behaviour on (called by ``Emulator.start``)."""
    apply_all()
    patch_stepfunctions.activate()
    _patching.set_active(True)


def deactivate() -> None:
    """Back to stock moto behaviour in this process (called by ``Emulator.stop``)."""
    _patching.set_active(False)
    patch_stepfunctions.deactivate()


def self_check(extra: list[_patching.Requirement] | None = None) -> list[str]:
    """Check the installed moto against every symbol the patch modules declared (no patching)."""
    return _patching.self_check(extra)


def is_applied() -> bool:
    return _applied
