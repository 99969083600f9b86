"""Policy statements for a role the library may not own: added when it can, listed when it cannot.

aws-cdk-lib 2.275 silently drops statements added to an imported role created with
``mutable=False`` or from another account (``aws-iam/lib/private/immutable-role.ts``: it answers
``statementAdded: true`` and attaches nothing), and emits no message. An owned ``iam.Role`` attaches
them to its ``DefaultPolicy`` child, a mutable imported role to its ``Policy`` child. The aws-cdk
design guidelines ask for a "permission notice" instead of silence: :func:`attach` adds the
statements and, when the role took none of them, records a warning annotation listing them.
"""

from __future__ import annotations

import json
from typing import Sequence

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam

from constructs import Construct
from sagemaker_finetuning.support.nag import wildcard_policy

NOTICE_ID = "sagemaker-finetuning:permissionsNotApplied"


def attach(scope: Construct, role: iam.IRole, statements: Sequence[iam.PolicyStatement], purpose: str,
           *, wildcard_reason: str = "") -> list[iam.PolicyStatement]:
    """Add ``statements`` to ``role``; returns (and notices) the ones it did not take.

    Statements on ``Resource: *`` (actions without resource-level permissions) go to a policy of their
    own, ``<scope>/AnyResourcePolicy``, whose suppression says why (``wildcard_reason``)."""
    scoped = [s for s in statements if s.resources != ["*"]]
    anywhere = [s for s in statements if s.resources == ["*"]]
    results = [role.add_to_principal_policy(s) for s in scoped]
    attached = any(isinstance(child, iam.Policy) for child in role.node.find_all())
    dropped = [s for s, result in zip(scoped, results, strict=True) if not (result.statement_added and attached)]
    if dropped:
        dropped += anywhere
        notice(scope, role, dropped, purpose)
    elif anywhere:
        wildcard_policy(scope, "AnyResourcePolicy", role, anywhere, wildcard_reason)
    return dropped


def notice(scope: Construct, role: iam.IRole, statements: Sequence[iam.PolicyStatement], purpose: str) -> None:
    stack = Stack.of(scope)
    rendered = [stack.resolve(s.to_statement_json()) for s in statements]
    Annotations.of(scope).add_warning_v2(
        NOTICE_ID,
        f"role {json.dumps(stack.resolve(role.role_arn))} did not take these permissions (an immutable role or one of "
        f"another account); {purpose} needs them — add them to the role yourself: {json.dumps(rendered, sort_keys=True)}",
    )
