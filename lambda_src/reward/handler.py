"""RLVR reward-function Lambda handler (entry point ``lambda_src.reward.handler.handler``).

Accepts every event form the service sends and answers in the matching contract:

  * open-weights models: ``{"batch": [...]}``, ``{"body": "<json with batch>"}`` (also base64
    with ``isBase64Encoded``), ``{"input": [...]}`` (and a bare list when the contract is pinned
    to open-weights); reply ``{"statusCode": 200, "headers": {"Content-Type":
    "application/json"}, "body": "<compact JSON list of results>"}``, or ``statusCode`` 400 with
    ``body`` ``{"error": "<what is wrong>"}``;
  * Nova 2.0 Lite: a bare list in, a bare list of results out; a malformed event gets
    ``{"error": "<what is wrong>"}`` (Nova has no error envelope; a non-list fails the call).

Environment (read once, at cold start; a mistake fails the cold start with a clear message):

  * ``REWARD_CONTRACT``: ``auto`` (default: a bare-list event gets a bare-list reply, as Nova
    2.0 Lite expects; any object event gets the open-weights envelope), ``open-weights`` (always
    the envelope) or ``nova`` (always a bare list);
  * ``REWARD_COMPONENTS``: JSON list of reward components (see components.py); default
    numeric_match 0.7 + format 0.1 + anti_gaming 0.2;
  * ``REWARD_ID_KEY``: the sample key holding the id (default ``id``; fallback ``sample-NNN``).

Per-sample result: ``{"id", "aggregate_reward_score" (in [-1, 1]), "metrics_list": [{"name",
"value", "type": "Reward" | "Metric"}]}``. A bad sample never fails the batch (score 0 and an
``error:<code>`` metric, see scoring.py). Deterministic: no network, no clock, no randomness.
"""

from __future__ import annotations

import json
import os

from sagemaker_finetuning.core.reward_contract import CONTRACT_ALIASES, NOVA, OPEN_WEIGHTS

from .components import RewardConfigError, components_from_env
from .scoring import Scorer

# typing is only read by the type checker: importing it at run time would add ~2 ms to the cold
# start of the reward Lambda (bench/reward_bench.py), and the annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from sagemaker_finetuning.core.reward_contract import ErrorReply, OpenWeightsReply, Reply

    from .components import Component

ENV_CONTRACT = "REWARD_CONTRACT"
ENV_ID_KEY = "REWARD_ID_KEY"

AUTO = "auto"
_CONTRACT_ALIASES = {"auto": AUTO, "": AUTO, **CONTRACT_ALIASES}
_HEADERS = {"Content-Type": "application/json"}


class EventError(ValueError):
    """The event is not one of the accepted forms."""


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def unwrap_event(event: object) -> tuple[list[Any], str]:
    """Return ``(batch, form)`` with form one of "batch", "body", "input", "list"; raise EventError."""
    if type(event) is list:
        batch, form = event, "list"
    elif isinstance(event, dict):
        if "batch" in event:
            batch, form = event["batch"], "batch"
        elif "body" in event:
            batch, form = _from_body(event), "body"
        elif "input" in event:
            batch, form = event["input"], "input"
        else:
            keys = ", ".join(sorted(map(str, event))[:10]) or "none"
            raise EventError("event has none of the keys batch, body, input (received keys: %s)" % keys)
    else:
        raise EventError("event must be an object with batch/body/input or a list of samples; received %s" % _kind(event))
    if not isinstance(batch, list):
        raise EventError("%s must be a list of samples; received %s" % (form, _kind(batch)))
    if not batch:
        raise EventError("empty batch: %s holds no samples" % form)
    return batch, form


def _from_body(event: dict[Any, Any]) -> Any:
    body = event["body"]
    if isinstance(body, (bytes, bytearray)) or (isinstance(body, str) and event.get("isBase64Encoded") is True):
        if isinstance(body, str):
            import base64
            import binascii

            try:
                body = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise EventError("body is marked isBase64Encoded but is not base64 (%s)" % exc) from None
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventError("body is not UTF-8 (%s)" % exc) from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise EventError("body is not valid JSON (%s)" % exc) from None
    if isinstance(body, dict):
        if "batch" in body:
            return body["batch"]
        if "input" in body:
            return body["input"]
        keys = ", ".join(sorted(map(str, body))[:10]) or "none"
        raise EventError("body has no batch (received keys: %s)" % keys)
    if isinstance(body, list):
        return body
    raise EventError("body must be JSON with a batch; received %s" % _kind(body))


def normalize_contract(value: object, source: str = ENV_CONTRACT) -> str:
    contract = _CONTRACT_ALIASES.get(str(value).strip().lower()) if value is not None else AUTO
    if contract is None:
        raise RewardConfigError(
            '%s received %r; expected "auto" (default), "open-weights" or "nova".' % (source, value)
        )
    return contract


class RewardHandler:
    """A configured reward handler; call it like a Lambda handler: ``h(event, context)``."""

    def __init__(self, components: Sequence[Component], contract: str = AUTO, id_key: str = "id") -> None:
        self.contract = normalize_contract(contract, "contract")
        if not isinstance(id_key, str) or not id_key:
            raise RewardConfigError("%s received %r; expected a non-empty key name such as \"id\"." % (ENV_ID_KEY, id_key))
        self.scorer = Scorer(components, id_key=id_key)

    def reply_contract(self, form: str) -> str:
        if self.contract == AUTO:
            return NOVA if form == "list" else OPEN_WEIGHTS
        return self.contract

    def __call__(self, event: object, context: object = None) -> Reply:
        form = "list" if type(event) is list else "object"
        try:
            batch, form = unwrap_event(event)
        except EventError as exc:
            return self.error_reply(str(exc), form)
        except Exception as exc:  # noqa: BLE001 - an odd event must still get a reply
            return self.error_reply("unreadable event (%s: %s)" % (type(exc).__name__, exc), form)
        if self.reply_contract(form) == NOVA:
            return self.scorer.score_batch(batch)
        return {"statusCode": 200, "headers": dict(_HEADERS), "body": self.scorer.render_batch(batch)}

    def error_reply(self, message: str, form: str = "object") -> OpenWeightsReply | ErrorReply:
        if self.reply_contract(form) == NOVA:
            return {"error": message}
        return {"statusCode": 400, "headers": dict(_HEADERS), "body": json.dumps({"error": message})}


def handler_from_env(environ: Mapping[str, str] | None = None) -> RewardHandler:
    """Build a RewardHandler from environment variables (see the module docstring)."""
    environ = os.environ if environ is None else environ
    contract = normalize_contract(environ.get(ENV_CONTRACT, AUTO))
    id_key = environ.get(ENV_ID_KEY, "id").strip() or "id"
    return RewardHandler(components_from_env(environ), contract=contract, id_key=id_key)


_HANDLER = handler_from_env()


def handler(event: object, context: object = None) -> Reply:
    """Lambda entry point."""
    return _HANDLER(event, context)


lambda_handler = handler  # the name used by the SageMaker AI templates
