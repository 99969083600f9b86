"""cdk-nag AwsSolutions with zero unsuppressed findings, every suppression reasoned; cfn-lint clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from app import build_app
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks


@pytest.fixture(scope="module")
def nagged_app(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir), context={"judgeModelId": "openai.gpt-oss-120b-1:0", "destroyOnDelete": "true", "enableNotifications": "true"})
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    build_app(app)
    assembly = app.synth()
    return app, assembly, outdir


def test_cdk_nag_zero_unsuppressed(nagged_app):
    app, _, _ = nagged_app
    stack = app.node.find_child("SageMakerFineTuning")
    ann = Annotations.from_stack(stack)
    errors = ann.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = ann.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert not errors, "\n".join(f"{e.id}: {str(e.entry.data)[:160]}" for e in errors)
    assert not warnings, "\n".join(f"{w.id}: {str(w.entry.data)[:160]}" for w in warnings)


def test_every_suppression_has_a_reason(nagged_app):
    _, assembly, _ = nagged_app
    template = assembly.get_stack_by_name("SageMakerFineTuning").template
    count = 0
    for res in template["Resources"].values():
        for rule in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            count += 1
            assert rule["id"].startswith("AwsSolutions-") and len(rule["reason"]) >= 40, rule
            assert rule["id"] != "AwsSolutions-IAM5" or rule.get("applies_to"), "IAM5 suppressions must name the findings"
    assert count > 0


def test_cfn_lint_clean(nagged_app):
    _, assembly, outdir = nagged_app
    template = outdir / "SageMakerFineTuning.template.json"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--ignore-checks", "W3005", "--format", "json", "--", str(template)],
        capture_output=True, text=True, check=False,
    )
    findings = json.loads(result.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:3000]
