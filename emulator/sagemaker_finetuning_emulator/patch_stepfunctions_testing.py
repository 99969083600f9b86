"""Step Functions ``ValidateStateMachineDefinition`` and ``TestState`` (with ``mock``).

moto 5.2.5 ships LocalStack's provider for both operations (``parser/provider.py``) but cannot
import it (it needs ``localstack``), and ``StepFunctionResponse`` has no such methods: the server
answers ``NotImplementedError`` (HTTP 500). ``finetune doctor`` needs both to check a deployed
definition without starting a job. The operations are added to ``StepFunctionResponse``:

``ValidateStateMachineDefinition``
    The definition is parsed by moto's ASL parser (the one that runs executions), plus one check
    of our own: every ``Next`` / ``Default`` / ``Catch[].Next`` names a state of its ``States``.
    Diagnostics use AWS's codes (``SCHEMA_VALIDATION_FAILED``, ``MISSING_TRANSITION_TARGET``);
    their messages are SIMULATED. No WARNING diagnostics are produced.

``TestState``
    The state runs as a one-state machine in moto's interpreter (every ``Next``/``Catch``
    target becomes a ``Succeed`` placeholder, so its output and the next state are observed),
    synchronously, without history or EventBridge events. ``mock.result`` /
    ``mock.errorOutput`` replace the service call (moto's own mocked-response machinery); the
    mocked result is checked against the integration's botocore output shape as AWS documents
    ``fieldValidationMode`` (STRICT: required members present and present members of the right
    type, enum, length and range; PRESENT: present members only; NONE: nothing), with AWS's
    "Mock result schema validation error: ..." messages. The parameters an ``aws-sdk`` Task
    sends are checked against the operation's botocore input shape: a member the SDK does not
    know fails the state with ``States.Runtime`` (SIMULATED cause), as it would at run time.
    Without a mock the service is called for real (the emulator's). Supported states: Task,
    Pass, Choice, Succeed, Fail; ``context``, ``variables`` and ``stateConfiguration`` (except
    ``retrierRetryCount`` for an ``errorOutput`` mock) are ignored.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import uuid
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import LOG, SIMULATED
from sagemaker_finetuning_emulator.validation import service_model, validation_errors, validation_message

_PARSER = "moto.stepfunctions.parser"
_patching.require("moto.stepfunctions.responses:StepFunctionResponse")
_patching.require("moto.stepfunctions.responses:StepFunctionResponse._get_param", "param_name")
_patching.require("moto.stepfunctions.exceptions:ValidationException")
_patching.require(f"{_PARSER}.asl.parse.asl_parser:AmazonStateLanguageParser.parse")
_patching.require(f"{_PARSER}.asl.static_analyser.express_static_analyser:ExpressStaticAnalyser")
_patching.require(f"{_PARSER}.backend.execution:SyncExecution")
_patching.require(f"{_PARSER}.backend.execution:SyncExecutionWorkerCommunication._reflect_execution_status")
_patching.require(f"{_PARSER}.backend.execution_worker:SyncExecutionWorker", "mock_test_case")
_patching.require(f"{_PARSER}.backend.state_machine:TestStateMachine", "name", "arn", "role_arn", "definition")
_patching.require(f"{_PARSER}.asl.eval.evaluation_details:EvaluationDetails")
_patching.require(f"{_PARSER}.mocking.mock_config:MockTestCase", "state_machine_name", "test_case_name", "state_mocked_responses_list")
_patching.require(f"{_PARSER}.mocking.mock_config:StateMockedResponses")
_patching.require(f"{_PARSER}.mocking.mock_config:MockedResponseReturn", "range_start", "range_end", "payload")
_patching.require(f"{_PARSER}.mocking.mock_config:MockedResponseThrow", "range_start", "range_end", "error", "cause")

#: Step Functions service names (aws-sdk:<name>, optimised integrations) -> botocore service names.
_SERVICES = {"sfn": "stepfunctions", "states": "stepfunctions", "eventbridge": "events", "apigateway": "apigateway"}
_SUPPORTED_STATES = ("Task", "Pass", "Choice", "Succeed", "Fail")
_ERRORS_THAT_ALL_DOES_NOT_CATCH = ("States.Runtime", "States.DataLimitExceeded")


def _validation_exception(message: str) -> Exception:
    from moto.stepfunctions.exceptions import ValidationException

    return ValidationException(message)


def _invalid_definition(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class InvalidDefinitionError(AWSError):
        TYPE = "InvalidDefinition"

    return InvalidDefinitionError(message)


def _check_request(operation: str, params: dict[str, Any]) -> None:
    errors = validation_errors("stepfunctions", operation, params)
    if errors:
        raise _validation_exception(validation_message(errors))


def _params(self: Any, *names: str) -> dict[str, Any]:
    return {n: self._get_param(n) for n in names if self._get_param(n) is not None}


# -- ValidateStateMachineDefinition ---------------------------------------------------------------


def _transition_targets(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(location suffix, target) of every transition a state declares."""
    found = []
    if isinstance(state.get("Next"), str):
        found.append(("Next", state["Next"]))
    if isinstance(state.get("Default"), str):
        found.append(("Default", state["Default"]))
    for key in ("Catch", "Choices"):
        for index, entry in enumerate(state.get(key) or []):
            if isinstance(entry, dict) and isinstance(entry.get("Next"), str):
                found.append((f"{key}[{index}]/Next", entry["Next"]))
    return found


def missing_targets(document: dict[str, Any], path: str = "") -> list[dict[str, str]]:
    """MISSING_TRANSITION_TARGET diagnostics of a definition (nested Parallel/Map graphs too)."""
    states = document.get("States") if isinstance(document, dict) else None
    if not isinstance(states, dict):
        return []
    diagnostics = []
    start = document.get("StartAt")
    if isinstance(start, str) and start not in states:
        diagnostics.append(_diagnostic("MISSING_TRANSITION_TARGET", f"Missing 'StartAt' target: {start}", f"{path}/StartAt"))
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        for where, target in _transition_targets(state):
            if target not in states:
                diagnostics.append(_diagnostic("MISSING_TRANSITION_TARGET", f"Missing '{where.rsplit('/', 1)[-1]}' target: {target}",
                                               f"{path}/States/{name}/{where}"))
        for index, branch in enumerate(state.get("Branches") or []):
            diagnostics += missing_targets(branch, f"{path}/States/{name}/Branches[{index}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                diagnostics += missing_targets(state[key], f"{path}/States/{name}/{key}")
    return diagnostics


def _diagnostic(code: str, message: str, location: str | None = None) -> dict[str, str]:
    out = {"severity": "ERROR", "code": code, "message": f"{SIMULATED}: {message}"}
    if location:
        out["location"] = location
    return out


def definition_diagnostics(definition: str, machine_type: str = "STANDARD") -> list[dict[str, str]]:
    """What the emulator's validator finds wrong with ``definition`` (empty: valid)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
    from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import ExpressStaticAnalyser

    try:
        document = json.loads(definition)
    except ValueError as exc:
        return [_diagnostic("INVALID_JSON_DESCRIPTION", f"the definition is not valid JSON ({exc})")]
    try:
        if machine_type == "EXPRESS":
            ExpressStaticAnalyser().analyse(definition)
        else:
            AmazonStateLanguageParser.parse(definition)
    except ASLParserException as exc:
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", f"moto's ASL parser: {exc!r}")]
    except Exception as exc:  # noqa: BLE001 - any parser failure is a schema failure
        return [_diagnostic("SCHEMA_VALIDATION_FAILED", f"moto's ASL parser: {type(exc).__name__}: {exc}")]
    return missing_targets(document)


def validate_state_machine_definition_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _params(self, "definition", "type", "severity", "maxResults")
    _check_request("ValidateStateMachineDefinition", params)
    diagnostics = definition_diagnostics(params["definition"], params.get("type") or "STANDARD")
    limit = params.get("maxResults") or 100
    return ActionResult({
        "result": "FAIL" if any(d["severity"] == "ERROR" for d in diagnostics) else "OK",
        "diagnostics": diagnostics[:limit],
        "truncated": len(diagnostics) > limit,
    })


# -- TestState: the mocked result and the SDK request against botocore's model -------------------


def integration_operation(resource: str) -> tuple[str, str] | None:
    """(botocore service, operation) of a Task's ``Resource``, or None (Lambda ARN, activity ...)."""
    if not resource.startswith("arn:") or ":states:::" not in resource:
        return None
    path = resource.split(":states:::", 1)[1].split(".", 1)[0]  # drop .sync / .waitForTaskToken
    parts = path.split(":")
    if parts[0] == "aws-sdk" and len(parts) >= 3:
        service, action = parts[1], parts[2]
    elif len(parts) >= 2:
        service, action = parts[0], parts[1]
    else:
        return None
    service = _SERVICES.get(service.lower(), service.lower())
    try:
        model = service_model(service)
    except Exception:  # noqa: BLE001 - an integration botocore does not know
        return None
    operation = action[:1].upper() + action[1:]
    return (service, operation) if operation in model.operation_names else None


def _members(shape: Any) -> dict[str, Any]:
    """Members by the names Step Functions uses (the first letter upper-cased)."""
    return {name[:1].upper() + name[1:]: member for name, member in shape.members.items()}


_KIND_MESSAGE = {"structure": "an object", "map": "an object", "list": "an array", "boolean": "a boolean"}


def _kind_ok(kind: str, value: Any) -> bool:
    if kind in ("structure", "map"):
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind in ("integer", "long", "float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)  # string, timestamp, blob: JSON strings


def mock_result_error(shape: Any, value: Any, mode: str, name: str = "result") -> str | None:
    """The first reason ``value`` does not conform to ``shape`` under ``mode`` (AWS's wording), or None."""
    if mode == "NONE":
        return None
    kind = shape.type_name
    if not _kind_ok(kind, value):
        what = _KIND_MESSAGE.get(kind, "a number" if kind in ("integer", "long", "float", "double") else "a string")
        return f"Field '{name}' must be {what}"
    meta = shape.metadata
    if kind == "structure":
        members = _members(shape)
        if mode == "STRICT":
            for required in shape.required_members:
                key = required[:1].upper() + required[1:]
                if key not in value:
                    return f"Required field '{key}' is missing"
        for key, item in value.items():
            if key in members and item is not None:
                found = mock_result_error(members[key], item, mode, key)
                if found:
                    return found
        return None
    if kind in ("list", "map"):
        items = value if kind == "list" else list(value.values())
        member = shape.member if kind == "list" else shape.value
        return next((e for e in (mock_result_error(member, i, mode, name) for i in items) if e), None)
    if kind == "string":
        if shape.enum and value not in shape.enum:
            return f"Field '{name}' is not an expected value"
        if "min" in meta and len(value) < meta["min"]:
            return f"Field '{name}' is smaller than the minimum length"
        if "max" in meta and len(value) > meta["max"]:
            return f"Field '{name}' is larger than the maximum length"
    if kind in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            return f"Field '{name}' is less than the minimum value"
        if "max" in meta and value > meta["max"]:
            return f"Field '{name}' exceeds the maximum value"
    return None


def sdk_request_errors(shape: Any, value: Any, path: str = "") -> list[str]:
    """Members the SDK cannot map: unknown field names and objects/arrays in the wrong place."""
    kind = shape.type_name
    if kind in ("structure", "map", "list") and not _kind_ok(kind, value):
        return [f"The field '{path or '(parameters)'}' must be {_KIND_MESSAGE[kind]}"]
    errors: list[str] = []
    if kind == "structure":
        members = _members(shape)
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key not in members:
                errors.append(f"The field '{where}' is not supported by Step Functions")
            elif item is not None:
                errors += sdk_request_errors(members[key], item, where)
    elif kind == "list":
        for index, item in enumerate(value):
            errors += sdk_request_errors(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        for key, item in value.items():
            errors += sdk_request_errors(shape.value, item, f"{path}.{key}")
    return errors


# -- TestState: running one state ------------------------------------------------------------------


def _state_under_test(document: Any, state_name: str | None) -> tuple[dict[str, Any], str]:
    """The state to test and its name: the definition is one state, or a machine plus ``stateName``."""
    if not isinstance(document, dict):
        raise _invalid_definition(f"{SIMULATED}: the definition must be a JSON object (one state, or a state machine)")
    if isinstance(document.get("States"), dict):
        if not state_name or state_name not in document["States"]:
            raise _validation_exception(f"{SIMULATED}: stateName must name a state of the definition (received {state_name!r})")
        state = copy.deepcopy(document["States"][state_name])
        if "QueryLanguage" in document and isinstance(state, dict):
            state.setdefault("QueryLanguage", document["QueryLanguage"])
        return state, state_name
    return copy.deepcopy(document), state_name or "TestState"


def _mini_machine(state: dict[str, Any], name: str) -> tuple[str, str]:
    """A machine that runs ``state`` once: every transition target is a ``Succeed`` placeholder."""
    targets = {target for _, target in _transition_targets(state)}
    tested = name if name not in targets else f"{name} (tested)"[:80]
    body = {k: v for k, v in state.items() if k != "Retry"}  # one attempt; retriers are judged afterwards
    states: dict[str, Any] = {tested: body, **{t: {"Type": "Succeed"} for t in targets}}
    return json.dumps({"StartAt": tested, "States": states}), tested


def _mocked_response(mock: dict[str, Any] | None, integration: tuple[str, str] | None) -> Any:
    """moto's mocked response for ``mock``, after AWS's checks (ValidationException)."""
    from moto.stepfunctions.parser.mocking.mock_config import MockedResponseReturn, MockedResponseThrow

    if not mock:
        return None
    if "result" in mock and "errorOutput" in mock:
        raise _validation_exception(f"{SIMULATED}: a mock has either a result or an errorOutput, not both")
    if "errorOutput" in mock:
        err = mock["errorOutput"] or {}
        return MockedResponseThrow(0, 0, error=err.get("error") or "", cause=err.get("cause") or "")
    try:
        payload = json.loads(mock.get("result") or "")
    except ValueError:
        raise _validation_exception(f"{SIMULATED}: the mocked result is not a valid JSON string") from None
    if integration is not None:
        shape = service_model(integration[0]).operation_model(integration[1]).output_shape
        problem = mock_result_error(shape, payload, mock.get("fieldValidationMode") or "STRICT") if shape is not None else None
        if problem:
            raise _validation_exception(f"Mock result schema validation error: {problem}")
    return MockedResponseReturn(0, 0, payload=payload)


def _execute(definition: str, tested: str, input_text: str, mocked: Any, account: str, region: str, role_arn: str | None) -> Any:
    """Run the machine synchronously in moto's interpreter (no history kept, no events)."""
    from moto.stepfunctions.parser.api import StateMachineType
    from moto.stepfunctions.parser.asl.eval.evaluation_details import EvaluationDetails
    from moto.stepfunctions.parser.backend.execution import SyncExecution, SyncExecutionWorkerCommunication
    from moto.stepfunctions.parser.backend.execution_worker import SyncExecutionWorker
    from moto.stepfunctions.parser.backend.state_machine import TestStateMachine
    from moto.stepfunctions.parser.mocking.mock_config import MockTestCase, StateMockedResponses

    mock_case = None
    if mocked is not None:
        mock_case = MockTestCase("TestState", "TestState", [StateMockedResponses(tested, "mock", [mocked])])

    class Communication(SyncExecutionWorkerCommunication):
        def terminated(self) -> None:  # no "Execution Status Change" event for a test
            self._reflect_execution_status()

    class Run(SyncExecution):
        def _get_start_execution_worker(self) -> Any:
            details = EvaluationDetails(aws_execution_details=self._get_start_aws_execution_details(),
                                        execution_details=self.get_start_execution_details(),
                                        state_machine_details=self.get_start_state_machine_details())
            return SyncExecutionWorker(evaluation_details=details, exec_comm=Communication(self), cloud_watch_logging_session=None,
                                       activity_store={}, mock_test_case=mock_case)

    name = f"TestState-{uuid.uuid4().hex[:12]}"
    role = role_arn or f"arn:aws:iam::{account}:role/{SIMULATED}-TestState"
    machine = TestStateMachine(name=name, arn=f"arn:aws:states:{region}:{account}:stateMachine:{name}", role_arn=role, definition=definition)
    run = Run(name=name, sm_type=StateMachineType.EXPRESS, role_arn=role, exec_arn=f"arn:aws:states:{region}:{account}:express:{name}:{name}",
              account_id=account, region_name=region, state_machine=machine, start_date=_dt.datetime.now(_dt.timezone.utc),
              cloud_watch_logging_session=None, activity_store={}, input_data=input_text)
    run.exec_worker = run._get_start_execution_worker()
    run.exec_worker.start()
    return run


def _matches(error: str, equals: list[str]) -> bool:
    if error in equals:
        return True
    if "States.ALL" in equals and error not in _ERRORS_THAT_ALL_DOES_NOT_CATCH:
        return True
    return "States.TaskFailed" in equals and error not in (*_ERRORS_THAT_ALL_DOES_NOT_CATCH, "States.Timeout")


def _retriable(state: dict[str, Any], error: str, retry_count: int) -> bool:
    for retrier in state.get("Retry") or []:
        if isinstance(retrier, dict) and _matches(error, list(retrier.get("ErrorEquals") or [])):
            return retry_count < int(retrier.get("MaxAttempts", 3))
    return False


def _events(run: Any) -> list[dict[str, Any]]:
    env = getattr(run.exec_worker, "env", None)
    return list(env.event_manager.get_event_history()) if env is not None else []


def _detail(events: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    return next((e[key] for e in events if key in e), None)


def _outcome(run: Any, state: dict[str, Any], tested: str, retry_count: int) -> dict[str, Any]:
    """TestStateOutput from the run's history: status, output, error/cause, nextState."""
    events = _events(run)
    failed = _detail(events, "taskFailedEventDetails")
    if failed and _retriable(state, failed.get("error") or "", retry_count):
        return {"status": "RETRIABLE", "error": failed.get("error"), "cause": failed.get("cause")}
    exited = [e for e in events if "stateExitedEventDetails" in e]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    status = str(getattr(run.exec_status, "value", run.exec_status))
    if status != "SUCCEEDED" or not exited:
        return {"status": "FAILED", "error": run.error, "cause": run.cause}
    out: dict[str, Any] = {"status": "SUCCEEDED", "output": exited[0]["stateExitedEventDetails"].get("output")}
    following = [n for n in entered if n != tested]
    if following:
        out["nextState"] = following[0]
    if failed:
        out.update(status="CAUGHT_ERROR", error=failed.get("error"), cause=failed.get("cause"))
    return out


def _inspection(events: list[dict[str, Any]], input_text: str) -> dict[str, Any]:
    data: dict[str, Any] = {"input": input_text}
    scheduled = _detail(events, "taskScheduledEventDetails")
    if scheduled and scheduled.get("parameters") is not None:
        data["afterParameters"] = scheduled["parameters"]
    succeeded = _detail(events, "taskSucceededEventDetails")
    if succeeded and succeeded.get("output") is not None:
        data["result"] = succeeded["output"]
    return data


def _request_failure(state: dict[str, Any], events: list[dict[str, Any]], integration: tuple[str, str] | None) -> dict[str, Any] | None:
    """States.Runtime when the aws-sdk parameters hold members the SDK does not know."""
    scheduled = _detail(events, "taskScheduledEventDetails")
    resource = str(state.get("Resource", ""))
    if integration is None or ":aws-sdk:" not in resource or not scheduled:
        return None
    try:
        sent = json.loads(scheduled.get("parameters") or "{}")
    except ValueError:
        return None
    shape = service_model(integration[0]).operation_model(integration[1]).input_shape
    problems = sdk_request_errors(shape, sent) if shape is not None else []
    if not problems:
        return None
    return {"status": "FAILED", "error": "States.Runtime",
            "cause": f"{SIMULATED}: An error occurred while executing the state: " + "; ".join(problems[:10])}


def test_state_response(self: Any) -> Any:
    from moto.core.responses import ActionResult

    params = _params(self, "definition", "roleArn", "input", "inspectionLevel", "revealSecrets", "variables", "stateName", "mock",
                     "context", "stateConfiguration")
    _check_request("TestState", params)
    try:
        document = json.loads(params["definition"])
    except ValueError as exc:
        raise _invalid_definition(f"{SIMULATED}: the definition is not valid JSON ({exc})") from None
    state, name = _state_under_test(document, params.get("stateName"))
    kind = state.get("Type") if isinstance(state, dict) else None
    if kind not in _SUPPORTED_STATES:
        raise _validation_exception(f"{SIMULATED}: the emulator's TestState runs {', '.join(_SUPPORTED_STATES)} states, not {kind!r}")
    mock = params.get("mock")
    if mock and kind != "Task":
        raise _validation_exception(f"{SIMULATED}: a mock is accepted for Task states only, not {kind}")
    if kind == "Task" and not mock and not params.get("roleArn"):
        raise _validation_exception(f"{SIMULATED}: roleArn is required to test a Task state without a mock")
    definition, tested = _mini_machine(state, name)
    problems = [d for d in definition_diagnostics(definition) if d["severity"] == "ERROR"]
    if problems:
        raise _invalid_definition("; ".join(d["message"] for d in problems))
    integration = integration_operation(str(state.get("Resource", ""))) if kind == "Task" else None
    mocked = _mocked_response(mock, integration)
    input_text = params.get("input") or "{}"
    run = _execute(definition, tested, input_text, mocked, self.current_account, self.region, params.get("roleArn"))
    events = _events(run)
    retry_count = int((params.get("stateConfiguration") or {}).get("retrierRetryCount") or 0)
    out = _request_failure(state, events, integration) or _outcome(run, state, tested, retry_count)
    if params.get("inspectionLevel") in ("DEBUG", "TRACE"):
        out["inspectionData"] = _inspection(events, input_text)
    LOG.info("TestState %s (%s): %s", name, kind, out["status"])
    return ActionResult({k: v for k, v in out.items() if v is not None})


_METHODS = {
    "validate_state_machine_definition": validate_state_machine_definition_response,
    "test_state": test_state_response,
}


def apply() -> None:
    """Add ValidateStateMachineDefinition and TestState to ``StepFunctionResponse``.

    moto: neither method exists (the LocalStack provider that has them cannot be imported), so
    the server answers ``NotImplementedError`` (HTTP 500).
    AWS: validates a definition without creating it; runs one state, optionally with a mocked
    service result checked against the API's model.
    """
    for name, func in _METHODS.items():
        func.__name__ = name
        _patching.replace(f"moto.stepfunctions.responses:StepFunctionResponse.{name}", func, f"Step Functions: {name}", add=True)
