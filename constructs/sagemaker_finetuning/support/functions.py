"""Lambda functions of the library: X-Ray tracing whose ``Resource: *`` grant lives in a policy of its own.

``tracing=Tracing.ACTIVE`` would add the X-Ray statement to the role's default policy, next to the
function's real grants, and the ``Resource::*`` suppression it needs would then cover any wildcard
grant added there later. :func:`trace` turns tracing on through the CloudFormation property and
grants X-Ray in a separate ``TracingPolicy``.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from sagemaker_finetuning.support.nag import LAMBDA_BASICS, suppress, wildcard_policy

#: What an actively traced function sends (no resource-level permissions exist for these).
XRAY_WRITE = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def trace(fn: lambda_.Function) -> lambda_.Function:
    """Active X-Ray tracing for ``fn``, with its grant in ``<fn id>TracingPolicy`` beside ``fn`` (not under it,
    so suppressions given to ``fn`` never reach it); also the basic suppressions."""
    cfn = fn.node.default_child
    assert isinstance(cfn, lambda_.CfnFunction) and fn.role is not None
    cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
    assert fn.node.scope is not None
    policy = wildcard_policy(fn.node.scope, f"{fn.node.id}TracingPolicy", fn.role, [iam.PolicyStatement(actions=list(XRAY_WRITE), resources=["*"])],
                             "X-Ray tracing: PutTraceSegments/PutTelemetryRecords have no resource-level permissions.")
    cfn.add_resource_dependency(policy.node.default_child)  # type: ignore[arg-type]  # traces from the first invocation
    suppress(fn, LAMBDA_BASICS)
    return fn
