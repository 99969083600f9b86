"""Gap 6 - EventBridge delivers to Lambda and Step Functions targets.

moto's ``Rule.send_to_targets`` handles CloudWatch Logs, archives, SQS, event buses and API
destinations and raises ``NotImplementedError`` for anything else, so a rule with a Lambda target
makes ``PutEvents`` a 500 and no target (not even the SQS ones) receives the event. It also ignores
the target's ``Input``/``InputPath`` and the rule's ``State``.

The wrapper delivers ``lambda`` and ``states`` targets itself - asynchronously on a small thread
pool, so PutEvents (and the simulated SageMaker clock that emits events) never blocks on a
handler - honouring ``Input``, ``InputPath`` and ``InputTransformer``; the remaining targets go
to moto's implementation. Disabled rules deliver nothing.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.runtime import LOG, RUNTIME, SIMULATED

_patching.require("moto.events.models:Rule.send_to_targets", "original_event", "transform_input")
_patching.require("moto.stepfunctions.responses:get_backend", "account", "region")
_patching.require("moto.awslambda.utils:get_backend", "account_id", "region")

_orig_send_to_targets: Any = None
_EXECUTOR: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _EXECUTOR
    with RUNTIME.lock:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="finetune-events")
        return _EXECUTOR


def shutdown() -> None:
    global _EXECUTOR
    with RUNTIME.lock:
        executor, _EXECUTOR = _EXECUTOR, None
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)


# -- payload ----------------------------------------------------------------------------------------


def _json_path(document: Any, path: str) -> tuple[bool, Any]:
    """Evaluate the simple JSONPath EventBridge accepts (``$``, ``$.a.b``, ``$.a[0]``, ``$['a-b']``)."""
    if path in ("$", "$."):
        return True, document
    if not path.startswith("$"):
        return False, None
    tokens = re.findall(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']+)'\]|\[\"([^\"]+)\"\]", path[1:])
    value = document
    for name, index, quoted, dquoted in tokens:
        key = name or quoted or dquoted
        if key:
            if not isinstance(value, dict) or key not in value:
                return False, None
            value = value[key]
        else:
            i = int(index)
            if not isinstance(value, list) or i >= len(value):
                return False, None
            value = value[i]
    return True, value


def _render_template(template: str, values: dict[str, Any]) -> str:
    """Substitute ``<name>`` placeholders like EventBridge input transformers do.

    Inside a JSON string a value is inserted as text (strings without quotes); elsewhere it is
    inserted as JSON. Unknown placeholders are left alone; missing values become ``null``/empty.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "\\" and in_string:
            out.append(template[i : i + 2])
            i += 2
            continue
        if ch == '"':
            in_string = not in_string
            out.append(ch)
            i += 1
            continue
        if ch == "<":
            end = template.find(">", i + 1)
            name = template[i + 1 : end] if end > i else ""
            if end > i and (name in values or name in ("aws.events.event", "aws.events.event.json")):
                value = values.get(name)
                if in_string:
                    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
                    out.append(json.dumps(text)[1:-1])
                else:
                    out.append(json.dumps(value))
                i = end + 1
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def target_payload(target: dict[str, Any], event: dict[str, Any]) -> str:
    """The text EventBridge sends to ``target`` for ``event`` (AWS semantics)."""
    if "Input" in target and target["Input"] is not None:
        return target["Input"]
    if target.get("InputPath"):
        found, value = _json_path(event, target["InputPath"])
        return json.dumps(value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {}
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            found, value = _json_path(event, path)
            values[name] = value if found else None
        values["aws.events.event"] = event
        values["aws.events.event.json"] = event
        values["aws.events.rule-arn"] = target.get("_rule_arn")
        values["aws.events.event.ingestion-time"] = event.get("time")
        return _render_template(transformer.get("InputTemplate", ""), values)
    return json.dumps(event)


def _normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(dict(event))
    event.pop("ingestion-time", None)
    when = event.get("time")
    if isinstance(when, (int, float)):
        event["time"] = _dt.datetime.fromtimestamp(when, tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


# -- delivery ------------------------------------------------------------------------------------------


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = target["Arn"]
    parts = arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    try:
        payload = target_payload(dict(target, _rule_arn=getattr(rule, "arn", None)), event)
        if service == "lambda":
            from moto.awslambda.utils import get_backend

            name = parts[6]
            qualifier = parts[7] if len(parts) > 7 else None
            fn = get_backend(account, region).get_function(name, qualifier)
            headers: dict[str, str] = {}
            fn.invoke(payload, {"x-amz-invocation-type": "RequestResponse"}, headers)
            if headers.get("x-amz-function-error"):
                LOG.warning("rule %s: target %s failed (EventBridge would retry)", rule.name, arn)
            RUNTIME.bump("event_lambda_deliveries")
        elif service == "states":
            from moto.stepfunctions.responses import get_backend as sfn_backend

            sfn_backend(account, region).start_execution(arn, str(uuid.uuid4()), payload)
            RUNTIME.bump("event_sfn_deliveries")
    except Exception:  # noqa: BLE001 - EventBridge drops after retries; we log
        LOG.exception("rule %s: delivery to %s failed", getattr(rule, "name", "?"), arn)


def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """``Rule.send_to_targets`` that also delivers Lambda and Step Functions targets.

    moto: ``NotImplementedError`` for these target types (PutEvents 500, event lost for every target).
    AWS: invokes the function asynchronously / starts an execution with the (transformed) event.
    """
    if getattr(self, "state", "ENABLED") != "ENABLED":
        return
    if getattr(self, "scheduled_expression", None):
        # moto: a rule without an event pattern matches every event. AWS: a schedule rule
        # receives no events; its targets run on the schedule only (see ``fire_schedule``).
        return
    if not self.event_pattern.matches_event(original_event):
        return
    ours = [t for t in self.targets if t["Arn"].split(":")[2:3] in (["lambda"], ["states"])]
    others = [t for t in self.targets if t not in ours]
    if ours:
        event = _normalise_event(original_event)
        for target in ours:
            _executor().submit(_deliver, self, copy.deepcopy(target), event)
    if others:
        clone = copy.copy(self)
        clone.targets = others
        _orig_send_to_targets(clone, original_event, transform_input)


def fire_schedule(account: str, region: str, rule_name: str) -> dict[str, Any]:
    """Deliver one ``Scheduled Event`` of the schedule rule ``rule_name`` to its Lambda and Step
    Functions targets, synchronously (the emulator has no clock for schedules; tests fire them)."""
    from moto.events.models import events_backends

    rule = events_backends[account][region].describe_rule(rule_name, None)
    if not getattr(rule, "scheduled_expression", None):
        raise ValueError(f"rule {rule_name} has no schedule expression")
    event = {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": account, "time": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region, "resources": [rule.arn], "detail": {},
    }
    targets = [t for t in rule.targets if t["Arn"].split(":")[2:3] in (["lambda"], ["states"])]
    if getattr(rule, "state", "ENABLED") == "ENABLED":
        for target in targets:
            _deliver(rule, copy.deepcopy(target), event)
    return {"rule": rule_name, "delivered": len(targets) if rule.state == "ENABLED" else 0, "event": event}


def apply() -> None:
    global _orig_send_to_targets
    _orig_send_to_targets = _patching.replace(
        "moto.events.models:Rule.send_to_targets",
        send_to_targets,
        f"EventBridge delivers lambda/states targets ({SIMULATED}: asynchronously, no retries)",
    )
