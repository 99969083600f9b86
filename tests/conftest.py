"""Shared fixtures. Synthesizing costs a jsii start-up (~3 s) per process: build once per session."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# Offline: fake credentials and a region, so nothing can reach (or bill) a real account.
for _key, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)
sys.path.insert(0, str(ROOT / "cdk_app"))


def resolve_definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine's ASL with CloudFormation tokens replaced by readable placeholders."""
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == 1
    body = machines[0]["Properties"]["DefinitionString"]
    if isinstance(body, dict):
        parts = body["Fn::Join"][1]
        body = "".join(p if isinstance(p, str) else _token(p) for p in parts)
    return json.loads(body)


def _token(value: Any) -> str:
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return "<token>"


@pytest.fixture(scope="session")
def app_template() -> dict[str, Any]:
    """The template of the ready app (cdk_app), synthesized in-process."""
    import aws_cdk as cdk
    from app import build_app

    app = build_app(cdk.App())
    stack = app.node.find_child("SageMakerFineTuning")
    return cdk.assertions.Template.from_stack(stack).to_json()


@pytest.fixture(scope="session")
def definition(app_template: dict[str, Any]) -> dict[str, Any]:
    return resolve_definition(app_template)
