"""The hub-evaluator custom resource deployed with CDK to the emulator: it deletes only what it created.

Small stacks are synthesized and deployed next to the app (the harness's emulator); the handler
runs in the emulator's Lambda runtime, CloudFormation sends it Create / Delete, and the rollback of
a failed create sends Delete too, as AWS does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from sagemaker_finetuning.core import evaluators as ev

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REFERENCE = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:someone-elses-reward"


def _synth(outdir: Path, stack_name: str, evaluators: dict[str, dict[str, Any]]) -> None:
    import aws_cdk as cdk

    from sagemaker_finetuning import EvaluatorType, HubEvaluator

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, stack_name)
    for construct_id, extra in evaluators.items():
        HubEvaluator(stack, construct_id, evaluator_type=EvaluatorType.REWARD_FUNCTION, reference=REFERENCE, **extra)
    app.synth()


@pytest.fixture(scope="module")
def env(harness, tmp_path_factory):
    from sagemaker_finetuning_emulator.demo import deploy_assembly

    kw = harness.emu.client_kwargs()
    clients = {n: boto3.client(n, **kw) for n in ("s3", "cloudformation", "ssm", "sagemaker")}
    region = clients["sagemaker"].meta.region_name
    hub = ev.create_hub_request(region, ACCOUNT)
    try:
        clients["sagemaker"].create_hub(**hub)
    except clients["sagemaker"].exceptions.ResourceInUse:
        pass  # the app's evaluators created it

    def deploy(stack_name: str, evaluators: dict[str, dict[str, Any]]) -> str:
        outdir = tmp_path_factory.mktemp(f"{stack_name}.out")
        _synth(outdir, stack_name, evaluators)
        try:
            deploy_assembly(clients, outdir, stack=stack_name)
        except RuntimeError:
            pass  # the caller looks at the status
        return clients["cloudformation"].describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]

    return clients, hub["HubName"], deploy


def _versions(sm: Any, hub: str, name: str) -> list[str]:
    try:
        summaries = sm.list_hub_content_versions(HubName=hub, HubContentType="JsonDoc", HubContentName=name)["HubContentSummaries"]
    except sm.exceptions.ResourceNotFound:
        return []
    return [s["HubContentVersion"] for s in summaries]


def _someone_else_registers(sm: Any, hub: str, name: str, version: str) -> None:
    """What SDK v3 ``Evaluator.create`` sends (no tags)."""
    sm.import_hub_content(**ev.import_request(hub, name, "RewardFunction", REFERENCE, version))


def test_a_name_registered_by_someone_else_rolls_the_stack_back_and_survives(env):
    clients, hub, deploy = env
    sm, cfn = clients["sagemaker"], clients["cloudformation"]
    _someone_else_registers(sm, hub, "e2e-foreign", "1.0.0")
    assert deploy("CrForeignName", {"Evaluator": {"evaluator_name": "e2e-foreign"}}) == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") or "" for e in cfn.describe_stack_events(StackName="CrForeignName")["StackEvents"]
               if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("evaluator name 'e2e-foreign' already exists" in r and "adopt_existing=True" in r for r in reasons), reasons
    assert _versions(sm, hub, "e2e-foreign") == ["1.0.0"]  # the rollback's Delete removed nothing of it
    cfn.delete_stack(StackName="CrForeignName")


def test_stack_delete_removes_only_the_versions_the_stack_imported(env):
    clients, hub, deploy = env
    sm, cfn = clients["sagemaker"], clients["cloudformation"]
    _someone_else_registers(sm, hub, "e2e-shared", "1.0.0")
    status = deploy("CrAdopting", {"Adopted": {"evaluator_name": "e2e-shared", "adopt_existing": True}, "Own": {"evaluator_name": "e2e-own"}})
    assert status == "CREATE_COMPLETE"
    assert _versions(sm, hub, "e2e-shared") == ["1.0.0", "2.0.0"] and _versions(sm, hub, "e2e-own") == ["1.0.0"]
    _someone_else_registers(sm, hub, "e2e-shared", "3.0.0")  # e.g. SDK v3 Evaluator.create with the same name
    _someone_else_registers(sm, hub, "e2e-own", "2.0.0")
    cfn.delete_stack(StackName="CrAdopting")
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):  # deleted (a DELETE_FAILED stack stays)
        cfn.describe_stacks(StackName="CrAdopting")
    assert _versions(sm, hub, "e2e-shared") == ["1.0.0", "3.0.0"]
    assert _versions(sm, hub, "e2e-own") == ["2.0.0"]
