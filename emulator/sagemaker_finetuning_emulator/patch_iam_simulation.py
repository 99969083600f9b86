"""IAM ``SimulatePrincipalPolicy``: a SIMULATED evaluation of a role's or user's identity policies.

moto 5.2.5 stores IAM policies but has no policy simulator (``NotImplementedError``, HTTP 500),
and IAM is not enforced anywhere in the emulator. ``finetune doctor`` asks the simulator whether
the workflow's Lambda role may read the base model's recipe files.

What is evaluated: the principal's inline policies, its attached managed policies (default
version), a user's groups' policies, and ``PolicyInputList``. For each action and resource (``*``
when none is given): ``explicitDeny`` when a Deny statement matches, else ``allowed`` when an
Allow statement matches, else ``implicitDeny``. ``Action``/``NotAction`` match case-insensitively
with ``*``/``?`` wildcards, ``Resource``/``NotResource`` case-sensitively. A statement with a
``Condition`` does not match unless ``ContextEntries`` give every key it uses (the values are not
compared: SIMULATED); its missing keys are listed in ``MissingContextValues``, as AWS does.
Not evaluated: resource policies, permissions boundaries, SCPs, session policies, policy
variables. Requests are validated against botocore's model (``ValidationError``).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterable

from sagemaker_finetuning_emulator import _patching
from sagemaker_finetuning_emulator.validation import validation_errors, validation_message

_patching.require("moto.iam.responses:IamResponse")
_patching.require("moto.iam.responses:IamResponse.backend")
_patching.require("moto.iam.models:IAMBackend.get_role_by_arn", "arn")
_patching.require("moto.iam.models:IAMBackend.get_user", "name")
_patching.require("moto.iam.exceptions:ValidationError")
_patching.require("moto.iam.exceptions:NotFoundException")

_PARAMS = ("PolicySourceArn", "PolicyInputList", "ActionNames", "ResourceArns", "ContextEntries", "MaxItems", "Marker",
           "ResourcePolicy", "ResourceOwner", "CallerArn", "ResourceHandlingOption", "PermissionsBoundaryPolicyInputList",
           "PolicyExclusionList")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, case_sensitive: bool) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _matches(statement: dict[str, Any], key: str, value: str, case_sensitive: bool) -> bool:
    """The statement's Action/NotAction (or Resource/NotResource) covers ``value``."""
    if key in statement:
        return any(_glob(p, value, case_sensitive) for p in _as_list(statement[key]))
    negated = f"Not{key}"
    if negated in statement:
        return not any(_glob(p, value, case_sensitive) for p in _as_list(statement[negated]))
    return key == "Resource"  # identity policies without Resource do not occur; be permissive


def _condition_keys(statement: dict[str, Any]) -> list[str]:
    keys = []
    for operators in (statement.get("Condition") or {}).values():
        if isinstance(operators, dict):
            keys += list(operators)
    return keys


def policy_statements(document: Any) -> list[dict[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    return [s for s in _as_list((doc or {}).get("Statement")) if isinstance(s, dict)]


def evaluate(policies: Iterable[tuple[str, str, Any]], action: str, resource: str, context_keys: set[str]) -> dict[str, Any]:
    """One EvaluationResult for ``policies`` = [(policy id, source type, document)]."""
    allowed: list[dict[str, str]] = []
    denied: list[dict[str, str]] = []
    missing: set[str] = set()
    for policy_id, source_type, document in policies:
        for statement in policy_statements(document):
            if not (_matches(statement, "Action", action, False) and _matches(statement, "Resource", resource, True)):
                continue
            keys = _condition_keys(statement)
            absent = [k for k in keys if k.lower() not in context_keys]
            if absent:
                missing.update(absent)
                continue
            hit = {"SourcePolicyId": policy_id, "SourcePolicyType": source_type}
            (denied if statement.get("Effect") == "Deny" else allowed).append(hit)
    decision = "explicitDeny" if denied else ("allowed" if allowed else "implicitDeny")
    return {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": decision,
        "MatchedStatements": denied or allowed,
        "MissingContextValues": sorted(missing),
        "EvalDecisionDetails": {"IAM Policy": decision},
    }


def principal_policies(backend: Any, arn: str) -> list[tuple[str, str, Any]]:
    """(policy id, source type, document) of the identity policies of a role or user ARN."""
    from moto.iam.exceptions import NotFoundException

    resource = arn.split(":", 5)[-1]
    if resource.startswith("role/"):
        principal, kind = backend.get_role_by_arn(arn), "role"
        groups: list[Any] = []
    elif resource.startswith("user/"):
        principal, kind = backend.get_user(resource.rsplit("/", 1)[-1]), "user"
        groups = [g for g in backend.groups.values() if principal in getattr(g, "users", [])]
    else:
        raise NotFoundException(f"The principal {arn} cannot be simulated (a role or user ARN is expected).")
    found = [(name, kind, doc) for name, doc in principal.policies.items()]
    for holder in (principal, *groups):
        for policy in holder.managed_policies.values():
            version = next((v for v in policy.versions if v.version_id == policy.default_version_id), None)
            if version is not None:
                found.append((policy.name, "aws-managed" if ":aws:policy/" in policy.arn else "user-managed", version.document))
    for group in groups:
        found += [(name, "group", doc) for name, doc in group.policies.items()]
    return found


def simulate_principal_policy_response(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import ValidationError

    params = {k: self._get_param(k) for k in _PARAMS if self._get_param(k) is not None}
    errors = validation_errors("iam", "SimulatePrincipalPolicy", params)
    if errors:
        raise ValidationError(validation_message(errors))
    policies = principal_policies(self.backend, params["PolicySourceArn"])
    policies += [(f"PolicyInputList.{i + 1}", "none", doc) for i, doc in enumerate(_as_list(params.get("PolicyInputList")))]
    context = {str(e.get("ContextKeyName", "")).lower() for e in _as_list(params.get("ContextEntries")) if isinstance(e, dict)}
    results = [evaluate(policies, action, resource, context)
               for action in _as_list(params["ActionNames"]) for resource in (_as_list(params.get("ResourceArns")) or ["*"])]
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


def apply() -> None:
    """Add ``simulate_principal_policy`` to ``IamResponse``.

    moto: no policy simulator (``NotImplementedError``, HTTP 500).
    AWS: evaluates the principal's policies for each action and resource without calling them.
    """
    simulate_principal_policy_response.__name__ = "simulate_principal_policy"
    _patching.replace("moto.iam.responses:IamResponse.simulate_principal_policy", simulate_principal_policy_response,
                      "IAM: SimulatePrincipalPolicy over identity policies (SIMULATED evaluator)", add=True)
