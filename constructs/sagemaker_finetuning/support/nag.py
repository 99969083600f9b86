"""cdk-nag suppressions with written reasons, recorded as resource metadata.

cdk-nag reads the ``cdk_nag`` metadata key, so the library needs no runtime dependency on it.
Every suppression here names the rule, the exact finding it covers (``applies_to``) and why.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from aws_cdk import CfnResource

from constructs import IConstruct


class Suppression:
    def __init__(self, rule: str, reason: str, applies_to: Sequence[str] | None = None):
        if len(reason) < 10:
            raise ValueError("a cdk-nag suppression needs a written reason of at least 10 characters")
        self.rule, self.reason, self.applies_to = rule, reason, list(applies_to or [])

    def to_metadata(self) -> dict:
        entry: dict = {"id": self.rule, "reason": self.reason}
        if self.applies_to:
            entry["applies_to"] = [({"regex": a[6:]} if a.startswith("regex:") else a) for a in self.applies_to]
        return entry


def suppress(scope: IConstruct, suppressions: Iterable[Suppression], *, children: bool = True) -> None:
    """Attach suppressions to the CloudFormation resources at or under ``scope``."""
    items = [s.to_metadata() for s in suppressions]
    nodes = scope.node.find_all() if children else [scope]
    for node in nodes:
        if isinstance(node, CfnResource):
            existing = node.get_metadata("cdk_nag") or {}
            rules = list(existing.get("rules_to_suppress", []))
            rules.extend(i for i in items if i not in rules)
            node.add_metadata("cdk_nag", {"rules_to_suppress": rules})


#: The findings every Lambda function of the library has, and why they are acceptable.
LAMBDA_BASICS = [
    Suppression("AwsSolutions-IAM4", "AWSLambdaBasicExecutionRole only lets the function write its own logs.",
                ["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
    Suppression("AwsSolutions-IAM5", "X-Ray tracing needs PutTraceSegments/PutTelemetryRecords on '*' (no resource-level permissions).",
                ["Resource::*"]),
]
