"""Gap 4 (front end) - model validation and fault injection for every SageMaker request.

Wraps ``SageMakerResponse.call_action``, which every SageMaker API request reaches after moto
parsed it with botocore's model (``automated_parameter_parsing``) - including the requests Step
Functions' aws-sdk integration sends with ``parameter_validation=False``. Before the action runs:

1. an armed fault for this operation (control API) answers with its error code (e.g.
   ``ThrottlingException``, HTTP 400) instead;
2. the parameters are checked against the operation's input shape (required members, lengths,
   ranges, enums, patterns) and rejected with ``ValidationException`` like the AWS front end does.
"""

from __future__ import annotations

import warnings
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED
from sagemaker_finetuning_emulator.validation import validation_errors, validation_message

_patching.require("moto.core.responses:BaseResponse.call_action")
_patching.require("moto.core.responses:BaseResponse.serialized", "action_result")
_patching.require("moto.core.responses:BaseResponse._get_action")
_patching.require("moto.core.exceptions:ServiceException")

_original_call_action: Any = None



def _service_exception(code: str, message: str) -> Any:
    from moto.core.exceptions import ServiceException

    class InjectedServiceException(ServiceException):
        pass

    InjectedServiceException.code = code
    return InjectedServiceException(message)


def _error_response(self: Any, code: str, message: str, status: int | None = None) -> Any:
    from moto.core.responses import ActionResult

    with warnings.catch_warnings():
        # moto warns when the code is not an error shape of the service model (ThrottlingException
        # is not: AWS returns it from the front end for every service).
        warnings.simplefilter("ignore", UserWarning)
        result_status, headers, body = self.serialized(ActionResult(_service_exception(code, message)))
    if status is not None:
        result_status = status
    headers["status"] = str(result_status)
    return result_status, headers, body


def call_action(self: Any) -> Any:
    """``SageMakerResponse.call_action`` with fault injection and service-model validation.

    moto: runs the action on whatever it parsed; missing or malformed members surface as 500s
    (TypeError/KeyError inside moto) or are silently accepted.
    Why that is wrong for us: the Step Functions aws-sdk tasks skip client-side validation, so a
    bad ASL parameter would pass locally and fail in AWS; and retry/catch paths need throttling.
    AWS: rejects invalid input with ``ValidationException`` (HTTP 400) before doing anything.
    """
    action = self._get_action()
    params = getattr(self, "params", None) or {}
    if action:
        fault = RUNTIME.take_fault("sagemaker", action, params)
        if fault is not None:
            LOG.info("%s fault injected: %s -> %s%s", SIMULATED, action, fault.error_code, " (after applying it)" if fault.after else "")
            if fault.after:
                _original_call_action(self)
            return _error_response(self, fault.error_code, fault.default_message(), fault.http_status)
        errors = validation_errors("sagemaker", action, params)
        if errors:
            RUNTIME.bump("validation_errors")
            message = validation_message(errors)
            LOG.info("rejected %s: %s", action, message)
            return _error_response(self, "ValidationException", message)
    return _original_call_action(self)


def apply() -> None:
    global _original_call_action
    from moto.core.responses import BaseResponse

    _original_call_action = BaseResponse.call_action
    _patching.replace(
        "moto.sagemaker.responses:SageMakerResponse.call_action",
        call_action,
        "SageMaker requests: injected faults, then botocore-model validation",
        add=True,
    )
