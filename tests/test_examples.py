"""The README's console examples are valid inputs that plan to botocore-valid requests."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.session
import hub_fixtures as catalog
import jsonschema
import pytest
from botocore.validate import ParamValidator

from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core import sweep_plan as SW
from sagemaker_finetuning.core.recipes import select_recipe
from sagemaker_finetuning.core.schema_check import load_schema
from sagemaker_finetuning.core.settings import StackSettings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SETTINGS = StackSettings(
    region="us-east-1", account="123456789012", partition="aws", role_arn="arn:aws:iam::123456789012:role/ft",
    bucket="ft-bucket", model_package_group_name="serverless-fine-tuning-models", base_model=catalog.DEFAULT_MODEL_ID,
    reward_evaluator_arn="arn:aws:sagemaker:us-east-1:123456789012:hub-content/H/JsonDoc/rf-1/1.0.0",
    judge_model_id="openai.gpt-oss-120b-1:0", judge_model_ids=("openai.gpt-oss-120b-1:0",),
)
SHAPE = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape


def load(path: Path) -> dict:
    return json.loads(path.read_text().replace("BUCKET", SETTINGS.bucket))


def test_examples_exist_per_technique():
    techniques = {json.loads(p.read_text())["technique"] for p in EXAMPLES}
    assert techniques == {"SFT", "DPO", "RLVR", "RLAIF"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_plans_a_valid_request(path):
    raw = load(path)
    jsonschema.Draft202012Validator(load_schema()).validate(raw)
    inp = P.validate_input(raw, SETTINGS)
    extra = {}
    model_id = inp["model"]
    if P.is_continued(inp):
        model_id = catalog.DEFAULT_MODEL_ID
        extra = {"source_model_package_arn": inp["model"], "source_model_package_group": SETTINGS.model_package_group_name}
    desc = catalog.describe_hub_content("us-east-1", model_id)
    resolved = P.ResolvedModel.from_hub(desc, json.loads(desc["HubContentDocument"]), **extra)
    recipe = select_recipe(resolved.recipes, model_id, inp["technique"], inp["training_type"], inp.get("sequence_length"))
    params = catalog.override_params(model_id, inp["technique"], bool(recipe.get("Peft")), recipe["SequenceLength"])
    runs = [inp] if "sweep" not in inp else [SW.trial_input(inp, c, i) for i, c in enumerate(SW.configurations(inp["sweep"]))]  # a sweep: every configuration
    for run in runs:
        request = P.plan_training_job(run, resolved, params, SETTINGS, f"arn:aws:states:us-east-1:123456789012:execution:sm:{path.stem}")
        report = ParamValidator().validate(request, SHAPE)
        assert not report.has_errors(), report.generate_report()


def test_readme_documents_every_input_field_and_error():
    from sagemaker_finetuning.core.errors import ERROR_NAMES

    readme = (ROOT / "README.md").read_text()
    for name in load_schema()["properties"]:
        assert f"| `{name}` |" in readme, name
    for error in ERROR_NAMES:
        assert f"`{error}`" in readme, error
    for path in EXAMPLES:
        assert f"examples/{path.name}" in readme, path.name
    from sagemaker_finetuning.core.tracking import OUTPUT_KEYS

    output = readme[readme.index("## Execution output"):readme.index("## Architecture")]
    for key in OUTPUT_KEYS:
        assert f"| `{key}` |" in output, key


def test_readme_lists_every_deliberate_difference_from_sdk():
    from sdk_differences import DELIBERATE_DIFFERENCES

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Differences from SageMaker Python SDK v3"):readme.index("## Operations")]
    for field in DELIBERATE_DIFFERENCES:
        assert f"| `{field}` |" in section, field
    from sdk_differences import EVALUATION_DIFFERENCES

    evaluation = section[section.index("| evaluation field |"):]
    for field in EVALUATION_DIFFERENCES:
        assert f"| `{field}` |" in evaluation, field


def test_the_readme_construct_example_synthesizes():
    """The README's "Use the constructs in your own stack" snippet runs as written."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Use the constructs in your own stack", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    # synth() again returns the assembly the snippet produced (CDK_OUTDIR is read once per jsii process).
    template = namespace["app"].synth().get_stack_by_name("TeamFineTuning").template
    assert set(template["Outputs"]) == {"StateMachineArn", "BucketName", "ModelPackageGroupName", "ExecutionRoleArn", "RewardEvaluatorArn"}
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"], "the existing bucket is used as it is"
