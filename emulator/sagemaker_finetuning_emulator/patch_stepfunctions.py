"""Gap 3 - Step Functions: executable CFN machines, aws-sdk error names, status-change events.

* CloudFormation creates state machines in ``moto.stepfunctions.models.stepfunctions_backends``
  while execution (``execute_state_machine``) uses ``stepfunctions_parser_backends``; the module
  global is rebound to the parser backends so CFN-created machines run.
* aws-sdk task errors are named ``<Service>.<ErrorCode>[Exception]`` as in AWS.
* ``StartExecution`` without a name gets a UUID (moto names it ``None``).
* "Step Functions Execution Status Change" events go to the default bus on start and end.
* ``"RoleArn.$"`` (an ASL keyword followed by ``.$``) in Parameters is a path binding.
* A definite path through an array index (``$[0].name``, ``$.items[1].id``: names and indexes only)
  selects one node, as in AWS (a Parallel's ``ResultSelector`` reading its branch output). moto
  5.2.5 returns ``[value]`` whenever the match's parent is an index, a side effect of its fix for
  filter expressions (getmoto/moto#7825, "different from LS"); LocalStack, whose parser moto
  copied and which is snapshot-tested against AWS, returns the value. Filters, wildcards, slices
  and ``..`` keep moto's behaviour.

* ``ListExecutions`` with ``mapRunArn`` lists the Map Run's child executions: none, because moto runs a
  Distributed Map's children inside the parent execution (moto answered HTTP 500); an unknown Map Run
  is ``ResourceNotFound``.

``.waitForTaskToken`` on aws-sdk tasks (``TimeoutSecondsPath``, SendTaskSuccess/Failure from
another process, ``States.Timeout``) works in moto's parser as is; the tests pin that down.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME

_PARSER = "moto.stepfunctions.parser"
#: A definite JSONPath: ``$`` then ``.name`` / ``['name']`` / ``[n]`` segments only.
_DEFINITE_PATH = re.compile(r"^\$(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\]|\['[^']*'\])*$")
_JSON_PATH_USERS = (f"{_PARSER}.asl.component.common.string.string_expression", f"{_PARSER}.asl.eval.states")
for _module in _JSON_PATH_USERS:
    _patching.require(f"{_module}:extract_json")
_patching.require("moto.stepfunctions.models:stepfunctions_backends")
_patching.require(f"{_PARSER}.models:stepfunctions_parser_backends")
_patching.require(f"{_PARSER}.models:StepFunctionsParserBackend.start_execution", "state_machine_arn", "name", "execution_input")
_patching.require("moto.stepfunctions.responses:get_backend", "account", "region")
_patching.require(
    f"{_PARSER}.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:StateTaskServiceAwsSdk._from_error",
    "env",
    "ex",
)
_patching.require(
    f"{_PARSER}.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:StateTaskServiceAwsSdk._get_task_failure_event",
    "env",
    "error",
    "cause",
)
_patching.require(f"{_PARSER}.backend.execution:Execution.start")
_patching.require(f"{_PARSER}.backend.execution:Execution.to_describe_output")
_patching.require(f"{_PARSER}.backend.execution:BaseExecutionWorkerCommunication.terminated")
_patching.require(f"{_PARSER}.asl.parse.preprocessor:Preprocessor.visitPayload_binding_value", "ctx")
_patching.require(
    f"{_PARSER}.asl.component.common.payload.payloadvalue.payloadbinding.payload_binding:PayloadBindingStringExpressionSimple",
    "field",
    "string_expression_simple",
)
_patching.require(f"{_PARSER}.asl.component.common.payload.payloadvalue.payloadvaluelit.payload_value_str:PayloadValueStr")
_patching.require(f"{_PARSER}.asl.component.common.string.string_expression:StringJsonPath", "json_path")
_patching.require(f"{_PARSER}.asl.component.common.string.string_expression:StringContextPath", "context_object_path")
_patching.require(
    f"{_PARSER}.asl.component.common.string.string_expression:StringIntrinsicFunction",
    "intrinsic_function_derivation",
    "function",
)
_patching.require(f"{_PARSER}.asl.parse.intrinsic.intrinsic_parser:IntrinsicParser.parse")
_patching.require("moto.core.config:default_user_config")
_patching.require("moto.stepfunctions.responses:StepFunctionResponse.list_executions")
_patching.require(f"{_PARSER}.models:StepFunctionsParserBackend.describe_map_run", "map_run_arn")
_patching.require("moto.events.models:events_backends")

#: Service names as Step Functions spells them in aws-sdk error names. moto's own table has
#: dynamodb -> DynamoDb and sfn -> Sfn; everything else falls back to the resource's service name.
SERVICE_ERROR_NAMES = {"sagemaker": "SageMaker", "dynamodb": "DynamoDb", "sfn": "Sfn"}

EXECUTION_DETAIL_TYPE = "Step Functions Execution Status Change"


def service_error_name(service_name: str) -> str:
    return SERVICE_ERROR_NAMES.get(service_name.lower(), service_name)


def error_name(service_name: str, error_code: str) -> str:
    code = error_code if error_code.endswith("Exception") else f"{error_code}Exception"
    return f"{service_error_name(service_name)}.{code}"


def _from_error(self: Any, env: Any, ex: Exception) -> Any:
    """``StateTaskServiceAwsSdk._from_error`` with AWS error names.

    moto: takes the service part from a two-entry table (dynamodb -> DynamoDb, sfn -> Sfn) and
    the error part from the botocore exception *class*; for SageMaker that gives
    ``sagemaker.ResourceInUseException`` and, for codes botocore has no shape for (throttling),
    ``sagemaker.sagemakerException``.
    Why that is wrong for us: the state machine's Retry/Catch match ``SageMaker.ThrottlingException``
    and friends, so locally they never match.
    AWS: ``<Service>.<ErrorCode>``, with ``Exception`` appended when the code lacks it, e.g.
    ``SageMaker.ResourceInUseException``, ``SageMaker.ValidationException``.
    """
    from botocore.exceptions import ClientError

    if not isinstance(ex, ClientError):
        return _orig_from_error(self, env, ex)
    # ``arn:aws:states:::aws-sdk:sagemaker:createTrainingJob``: api_name is "sagemaker".
    service = service_error_name(self.resource.api_name)
    code = ex.response.get("Error", {}).get("Code") or type(ex).__name__
    error = error_name(self.resource.api_name, code)
    meta = ex.response.get("ResponseMetadata", {})
    details = [f"Service: {service}", f"Status Code: {meta.get('HTTPStatusCode')}", f"Request ID: {meta.get('RequestId')}"]
    if "HostId" in meta:
        details.append(f"Extended Request ID: {meta['HostId']}")
    cause = f"{ex.response.get('Error', {}).get('Message', '')} ({', '.join(details)})"
    return self._get_task_failure_event(env=env, error=error, cause=cause)


_orig_from_error: Any = None
_orig_visit_binding_value: Any = None
_orig_start_execution: Any = None
_orig_execution_start: Any = None
_orig_terminated: Any = None


def start_execution(self: Any, state_machine_arn: str, name: Any = None, execution_input: Any = None, trace_header: Any = None) -> Any:
    """``StepFunctionsParserBackend.start_execution`` that names unnamed executions.

    moto: uses the name as given, so an unnamed execution's ARN ends in ``:None`` and a second
    unnamed start fails with ExecutionAlreadyExists. AWS: generates a UUID name.
    """
    return _orig_start_execution(
        self, state_machine_arn, name=name or str(uuid.uuid4()), execution_input=execution_input, trace_header=trace_header
    )


def _string_expression(text: str) -> Any:
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
        StringContextPath,
        StringIntrinsicFunction,
        StringJsonPath,
    )
    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

    if text.startswith("$$"):
        return StringContextPath(context_object_path=text)
    if text == "$" or text.startswith("$.") or text.startswith("$["):
        return StringJsonPath(json_path=text)
    if text.startswith("States."):
        function, _ = IntrinsicParser.parse(text)
        return StringIntrinsicFunction(intrinsic_function_derivation=text, function=function)
    return None


def visit_payload_binding_value(self: Any, ctx: Any) -> Any:
    """``Preprocessor.visitPayload_binding_value`` that honours ``.$`` on ASL keyword field names.

    moto: the ASL lexer turns ``"RoleArn.$"`` (and other ASL keywords with ``.$``, e.g.
    ``"Comment.$"``, ``"Resource.$"``) into keyword tokens, so inside ``Parameters`` the field is
    kept literally as ``RoleArn.$`` with the path as its value; the aws-sdk call then fails with
    ``States.Runtime 'RoleArn.$'``.
    AWS: any field name ending in ``.$`` inside Parameters/ResultSelector is a path binding.
    """
    from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadbinding.payload_binding import (
        PayloadBindingStringExpressionSimple,
    )
    from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadvaluelit.payload_value_str import (
        PayloadValueStr,
    )

    binding = _orig_visit_binding_value(self, ctx)
    field = getattr(binding, "field", "")
    value = getattr(binding, "payload_value", None)
    if isinstance(field, str) and field.endswith(".$") and isinstance(value, PayloadValueStr) and isinstance(value.val, str):
        expression = _string_expression(value.val)
        if expression is not None:
            return PayloadBindingStringExpressionSimple(field=field[:-2], string_expression_simple=expression)
    return binding


def _millis(value: Any) -> int | None:
    if isinstance(value, _dt.datetime):
        return int(value.timestamp() * 1000)
    return None


def publish_execution_event(execution: Any, running: bool = False) -> None:
    """Put a "Step Functions Execution Status Change" event for ``execution`` on the default bus.

    ``running=True`` describes the execution as just started (it is published before the worker
    thread starts, so it always precedes the terminal event).
    """
    try:
        if str(getattr(execution, "sm_type", "STANDARD")).upper().endswith("EXPRESS"):
            return  # AWS sends these events for standard workflows only
        d = execution.to_describe_output()
        if running:
            d.update(status="RUNNING", stopDate=None)
            d.pop("output", None)
        status = d.get("status")
        status = getattr(status, "value", status)
        detail = {
            "executionArn": d.get("executionArn"),
            "stateMachineArn": d.get("stateMachineArn"),
            "name": d.get("name"),
            "status": status,
            "startDate": _millis(d.get("startDate")),
            "stopDate": _millis(d.get("stopDate")),
            "input": d.get("input"),
            "output": d.get("output"),
            "inputDetails": {"included": True},
            "outputDetails": {"included": True} if d.get("output") is not None else None,
            "error": d.get("error"),
            "cause": d.get("cause"),
        }
        from moto.events.models import events_backends

        events_backends[execution.account_id][execution.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": EXECUTION_DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "Resources": [detail["executionArn"]],
                }
            ]
        )
        RUNTIME.bump("execution_events")
    except Exception:  # noqa: BLE001 - events must never break an execution
        LOG.exception("could not publish the status change of execution %s", getattr(execution, "exec_arn", "?"))


def execution_start(self: Any) -> None:
    """``Execution.start`` followed by a RUNNING "Step Functions Execution Status Change" event.

    moto: emits no EventBridge events for executions. Why that is wrong for us: the app's
    execution-ended rule (and the CLI's notifications) react to these events.
    AWS: sends the event to the default bus for every status change of a standard workflow.
    """
    publish_execution_event(self, running=True)
    _orig_execution_start(self)


def terminated(self: Any) -> None:
    """``BaseExecutionWorkerCommunication.terminated`` followed by the terminal status event.

    moto: records SUCCEEDED/FAILED/TIMED_OUT/ABORTED (StopExecution included) without an event.
    AWS: a "Step Functions Execution Status Change" event with that status, output, error, cause.
    """
    _orig_terminated(self)
    publish_execution_event(self.execution)


def list_executions(self: Any) -> Any:
    """``ListExecutions``, also of a Map Run (``mapRunArn``).

    moto: reads only ``stateMachineArn``, so a Map Run's listing fails (HTTP 500).
    AWS: lists the child executions the Map Run started. The emulator's Distributed Map starts none (its
    children run inside the parent execution, with the parent's ``$$.Execution.Id``): the list is empty.
    """
    map_run_arn = self._get_param("mapRunArn")
    if map_run_arn is None:
        return _orig_list_executions(self)
    from moto.core.responses import ActionResult
    from moto.stepfunctions.exceptions import ResourceNotFound

    try:
        self.stepfunction_backend.describe_map_run(map_run_arn)
    except TypeError:  # moto raises its ResourceNotFound without the message it requires
        raise ResourceNotFound(map_run_arn) from None
    return ActionResult({"executions": []})


_saved: dict[str, Any] = {}


def activate() -> None:
    """Turn on execution and point CloudFormation at the executing backend (emulator start).

    moto: with ``execute_state_machine`` on, the API uses ``stepfunctions_parser_backends`` but
    ``StateMachine.create_from_cloudformation_json`` (and update/delete) write to the module
    global ``stepfunctions_backends``, so CFN-created machines are ``StateMachineDoesNotExist``.
    AWS: a machine created by CloudFormation is an ordinary, executable state machine.
    Both changes are undone by :func:`deactivate` (emulator stop).
    """
    import moto.stepfunctions.models as sfn_models
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    if _saved:
        return
    config = default_user_config.setdefault("stepfunctions", {})
    _saved["execute"] = config.get("execute_state_machine", False)
    _saved["backends"] = sfn_models.stepfunctions_backends
    config["execute_state_machine"] = True
    sfn_models.stepfunctions_backends = stepfunctions_parser_backends


def deactivate() -> None:
    import moto.stepfunctions.models as sfn_models
    from moto.core.config import default_user_config

    if not _saved:
        return
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = _saved.pop("execute")
    sfn_models.stepfunctions_backends = _saved.pop("backends")


def extract_definite(path: str, data: Any) -> Any:
    """moto's ``extract_json``, except that a definite path (names and indexes only) selects its one node."""
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    if _DEFINITE_PATH.match(path):
        from jsonpath_ng.ext import parse

        matches = parse(path).find(data)
        if len(matches) == 1:
            return matches[0].value
    return extract_json(path, data)


def apply() -> None:
    global _orig_from_error, _orig_start_execution, _orig_execution_start, _orig_terminated, _orig_visit_binding_value, _orig_list_executions
    _orig_list_executions = _patching.replace(
        "moto.stepfunctions.responses:StepFunctionResponse.list_executions", list_executions,
        "ListExecutions of a Map Run: its child executions (none: moto runs them inside the parent)",
    )
    for module in _JSON_PATH_USERS:
        _patching.replace(f"{module}:extract_json", extract_definite, "a definite JSONPath through an index selects one node")
    _patching.record(
        "moto.stepfunctions.models:stepfunctions_backends",
        "while the emulator runs: execute_state_machine on, CloudFormation machines in the executing backend",
    )
    _orig_from_error = _patching.replace(
        f"{_PARSER}.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:StateTaskServiceAwsSdk._from_error",
        _from_error,
        "aws-sdk task errors are <Service>.<ErrorCode>Exception",
    )
    _orig_visit_binding_value = _patching.replace(
        f"{_PARSER}.asl.parse.preprocessor:Preprocessor.visitPayload_binding_value",
        visit_payload_binding_value,
        '"RoleArn.$" and other ASL keywords with .$ are path bindings in Parameters',
    )
    _orig_start_execution = _patching.replace(
        f"{_PARSER}.models:StepFunctionsParserBackend.start_execution", start_execution, "unnamed executions get a UUID"
    )
    _orig_execution_start = _patching.replace(
        f"{_PARSER}.backend.execution:Execution.start", execution_start, "Execution Status Change event (RUNNING)"
    )
    _orig_terminated = _patching.replace(
        f"{_PARSER}.backend.execution:BaseExecutionWorkerCommunication.terminated",
        terminated,
        "Execution Status Change event (terminal status)",
    )
