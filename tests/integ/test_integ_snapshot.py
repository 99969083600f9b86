"""The CDK integration test (``integ_serverless_finetuning.py``), checked offline.

* ``integ-runner`` (pinned in package.json) compares the synthesized test stack with the committed
  snapshot, as it does before any deployment, without deploying and without credentials (the
  conftest's fake ones). It runs on a copy of the test and of what git holds of its snapshot,
  so it writes nothing into the work tree and sees what a fresh clone sees.
* The execution input the assertions send is one the workflow's own validation (``ValidateInput``)
  accepts for the test stack, and the assertions point at the object they upload and the job
  that input names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INTEG_RUNNER = ROOT / "node_modules" / ".bin" / "integ-runner"
TEST_APP = "integ_serverless_finetuning.py"
SNAPSHOT = f"{TEST_APP}.snapshot"
UPDATE_HINT = f"""\
The integration test's snapshot (tests/integ/{SNAPSHOT}) no longer matches the synthesized test
stack (integ-runner's diff is above). If the change is intended, regenerate it (offline, no
credentials, under a minute):

    make integ-snapshot

and commit tests/integ/{SNAPSHOT}/. When you can, also run the test against a real account:
npx integ-runner ... --force (tests/integ/README.md)."""


def _integ_env() -> dict[str, str]:
    """The environment without AWS settings (the TLS bundle aside), plus fake credentials: nothing can reach an account."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    env.update({
        "AWS_ACCESS_KEY_ID": "offline", "AWS_SECRET_ACCESS_KEY": "offline", "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_VERSION_CHECK": "1", "CDK_DISABLE_CLI_TELEMETRY": "true",
        # aws-cdk-lib's built-in template validation (half of each synth) reports, it changes no template.
        "CDK_VALIDATION": "false",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    })
    return env


@pytest.mark.slow
def test_snapshot_matches_the_integ_app(tmp_path: Path) -> None:
    assert INTEG_RUNNER.exists(), "integ-runner is not installed: run `make setup` (npm ci from package-lock.json)"
    assert (HERE / SNAPSHOT / "manifest.json").exists(), f"no snapshot committed: run `make integ-snapshot`\n\n{UPDATE_HINT}"
    work = tmp_path / "integ"
    work.mkdir()
    for name in (TEST_APP, "schema_compat.py"):
        shutil.copy2(HERE / name, work / name)
    # What a fresh clone has: the snapshot without its (git-ignored) asset files.
    shutil.copytree(HERE / SNAPSHOT, work / SNAPSHOT, ignore=shutil.ignore_patterns("asset.*"))
    run = subprocess.run(
        [str(INTEG_RUNNER), "--directory", str(work), "--language", "python", "--app", f"{sys.executable} {{filePath}}"],
        cwd=ROOT, env=_integ_env(), capture_output=True, text=True, timeout=600,
    )
    output = (run.stdout + run.stderr).strip()
    assert run.returncode == 0 and "UNCHANGED" in output, f"{output[-6000:]}\n\n{UPDATE_HINT}"


# ---------------------------------------------------------------------------- the assertions' wiring
FAKE = {"AWS::AccountId": "123456789012", "AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


class _Resolver:
    """CloudFormation intrinsics -> plausible strings: a Ref is a lowercase name, an import is its export's value."""

    def __init__(self, exports: dict[str, Any], stack_id: str) -> None:
        self.exports, self.stack_id = exports, stack_id

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self.stack_id if arg == "AWS::StackId" else FAKE.get(arg) or f"integ-{arg.lower()}"
        if fn == "Fn::GetAtt":
            return f"arn:aws:fake:us-east-1:123456789012:{arg[0].lower()}/{arg[1]}"
        if fn == "Fn::ImportValue":
            return self(self.exports[arg])
        if fn == "Fn::Join":
            return self(arg[0]).join(self(arg[1]))
        if fn == "Fn::Split":
            return self(arg[1]).split(self(arg[0]))
        if fn == "Fn::Select":
            return self(arg[1])[int(arg[0])]
        raise AssertionError(f"unexpected intrinsic {fn}")


@pytest.fixture(scope="module")
def synthesized() -> dict[str, dict[str, Any]]:
    """The integ app's templates, by stack name (in-process synth)."""
    sys.path.insert(0, str(HERE))
    try:
        import integ_serverless_finetuning as integ_app
    finally:
        sys.path.remove(str(HERE))
    assembly = integ_app.build().synth()
    return {stack.stack_name: stack.template for stack in assembly.stacks}


def _api_calls(template: dict[str, Any], api: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == f"Custom::DeployAssert@SdkCall{api}"]


def _decode(resolve: _Resolver, value: Any) -> Any:
    """What the assertion handler passes to the SDK: each parameter is JSON text (``JSON.parse``)."""
    return json.loads(resolve(value))


def test_the_execution_input_is_accepted_and_wired(synthesized: dict[str, dict[str, Any]]) -> None:
    from sagemaker_finetuning import DEFAULT_BASE_MODEL
    from sagemaker_finetuning.core.datasets.engine import validate_lines
    from sagemaker_finetuning.core.datasets.formats import format_for
    from sagemaker_finetuning.core.settings import StackSettings
    from sagemaker_finetuning.core.validation import validate_input

    test_stack = synthesized["SageMakerFineTuningInteg"]
    (assert_name,) = [name for name in synthesized if name.startswith("ServerlessFineTuningIntegDefaultTestDeployAssert")]
    asserts = synthesized[assert_name]
    exports = {o["Export"]["Name"]: o["Value"] for o in test_stack["Outputs"].values() if "Export" in o}
    resolve = _Resolver(exports, f"arn:aws:cloudformation:us-east-1:123456789012:stack/{assert_name}/0a1b2c3d-4e5f-6789-abcd-ef0123456789")
    test_resolve = _Resolver({}, "arn:aws:cloudformation:us-east-1:123456789012:stack/SageMakerFineTuningInteg/1")

    (settings_json,) = {test_resolve(variables["FINETUNE_SETTINGS"]) for r in test_stack["Resources"].values()
                        if "FINETUNE_SETTINGS" in (variables := r.get("Properties", {}).get("Environment", {}).get("Variables", {}))}
    settings = StackSettings.from_env({"FINETUNE_SETTINGS": settings_json, "AWS_REGION": "us-east-1"})
    assert settings.base_model == DEFAULT_BASE_MODEL

    (start,) = _api_calls(asserts, "StepFunctionsstartExecution")
    execution_input = json.loads(_decode(resolve, start["parameters"]["input"]))  # the input is itself JSON text
    accepted = validate_input(execution_input, settings)  # raises the workflow's own InputRejected errors
    assert accepted["technique"] == "SFT" and accepted["model"] == DEFAULT_BASE_MODEL
    assert _decode(resolve, start["parameters"]["stateMachineArn"]) == test_resolve({"Ref": _logical_id(test_stack, "AWS::StepFunctions::StateMachine")})

    (upload,) = _api_calls(asserts, "S3putObject")
    bucket, key = _decode(resolve, upload["parameters"]["Bucket"]), _decode(resolve, upload["parameters"]["Key"])
    assert execution_input["training_dataset"] == f"s3://{bucket}/{key}" and bucket == settings.bucket
    lines = _decode(resolve, upload["parameters"]["Body"]).splitlines()
    report = validate_lines(lines, format_for("SFT", DEFAULT_BASE_MODEL))  # what CheckDatasets and `finetune validate-dataset` run
    assert report.ok and report.records == len(lines) >= 8, report.summary()

    job_name = execution_input["training_job_name"]
    assert re.fullmatch(r"integ-sft-[0-9a-f-]{36}", job_name), job_name
    describes = _api_calls(asserts, "SageMakerdescribeTrainingJob")
    assert describes and all(_decode(resolve, d["parameters"]["TrainingJobName"]) == job_name for d in describes)
    assert _api_calls(asserts, "StepFunctionsstopExecution"), "the execution is stopped at the end"


def _logical_id(template: dict[str, Any], resource_type: str) -> str:
    (logical_id,) = [k for k, r in template["Resources"].items() if r["Type"] == resource_type]
    return str(logical_id)
