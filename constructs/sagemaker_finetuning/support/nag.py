"""cdk-nag suppressions with written reasons, recorded as resource metadata.

cdk-nag reads the ``cdk_nag`` metadata key, so the library needs no runtime dependency on it.
Every suppression here names the rule, the exact finding it covers (``applies_to``) and why.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam

from constructs import Construct, IConstruct


class Suppression:
    """A cdk-nag suppression: ``rule``, a written ``reason`` and the exact findings it covers.

    ``applies_to=None`` covers the whole rule (only for rules without findings, e.g. AwsSolutions-S1);
    an empty list covers nothing, so a computed list that came out empty never widens into the whole rule."""

    def __init__(self, rule: str, reason: str, applies_to: Sequence[str] | None = None):
        if len(reason) < 10:
            raise ValueError("a cdk-nag suppression needs a written reason of at least 10 characters")
        self.rule, self.reason = rule, reason
        self.whole_rule = applies_to is None
        self.applies_to = list(applies_to or [])

    def to_metadata(self) -> dict:
        entry: dict = {"id": self.rule, "reason": self.reason}
        if self.applies_to:
            entry["applies_to"] = [({"regex": a[6:]} if a.startswith("regex:") else a) for a in self.applies_to]
        return entry


def suppress(scope: IConstruct, suppressions: Iterable[Suppression], *, children: bool = True) -> None:
    """Attach suppressions to the CloudFormation resources at or under ``scope``."""
    items = [s.to_metadata() for s in suppressions if s.whole_rule or s.applies_to]
    nodes = scope.node.find_all() if children else [scope]
    for node in nodes:
        if isinstance(node, CfnResource):
            existing = node.get_metadata("cdk_nag") or {}
            rules = list(existing.get("rules_to_suppress", []))
            rules.extend(i for i in items if i not in rules)
            node.add_metadata("cdk_nag", {"rules_to_suppress": rules})


#: The finding every Lambda function of the library has, and why it is acceptable. (Tracing needs
#: ``Resource: *``; :func:`wildcard_policy` keeps that in a policy of its own.)
LAMBDA_BASICS = [
    Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
]


def flatten(value: Any) -> str:
    """cdk-nag's ``flattenCfnReference``: the text a finding shows for a resolved CloudFormation value
    (``{"Fn::GetAtt": ["Bucket", "Arn"]}`` -> ``<Bucket.Arn>``, ``{"Ref": "AWS::Region"}`` -> ``<AWS::Region>``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten(item) for item in items)
        if "Fn::Sub" in value:
            return flatten(value["Fn::Sub"])
        if "Fn::GetAtt" in value:
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten(resource)}.{flatten(attribute)}>"
        if "Fn::ImportValue" in value:
            return flatten(value["Fn::ImportValue"])
        if "Ref" in value:
            return f"<{flatten(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


def resource_findings(scope: IConstruct, resources: Iterable[str]) -> list[str]:
    """The exact IAM5 findings (``Resource::...``) of those ``resources`` that hold a wildcard: an
    ``applies_to`` that names exactly them, so no other grant can hide behind the suppression."""
    stack = Stack.of(scope)
    texts = {flatten(stack.resolve(resource)) for resource in resources}
    return sorted(f"Resource::{text}" for text in texts if "*" in text)


def statement_findings(scope: IConstruct, statements: Iterable[iam.PolicyStatement]) -> list[str]:
    """The exact IAM5 findings of ``statements``: their wildcard actions and wildcard resources."""
    statements = list(statements)
    actions = sorted({f"Action::{a}" for st in statements for a in st.actions if "*" in a})
    return actions + resource_findings(scope, [r for st in statements for r in st.resources])


def wildcard_policy(scope: Construct, id: str, role: iam.IRole, statements: Sequence[iam.PolicyStatement], reason: str) -> iam.Policy:
    """Statements whose actions have no resource-level permissions (``Resource: *``), in a policy of
    their own attached to ``role``: the ``Resource::*`` suppression sits on that policy only."""
    for statement in statements:
        if statement.resources != ["*"]:
            raise ValueError(f"wildcard_policy takes only Resource '*' statements, not {statement.resources}")
    policy = iam.Policy(scope, id, statements=list(statements))
    policy.attach_to_role(role)
    suppress(policy, [Suppression("AwsSolutions-IAM5", reason, ["Resource::*"])])
    return policy
