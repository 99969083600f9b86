"""Inputs the least-privilege training role could not serve are refused before launch, by name."""

from __future__ import annotations

import dataclasses

import hub_fixtures as catalog
import pytest

from sagemaker_finetuning.core import planner as P
from sagemaker_finetuning.core.errors import DatasetAccessDenied, InvalidInput
from sagemaker_finetuning.core.settings import StackSettings

S = StackSettings(region="us-east-1", account="123456789012", partition="aws", role_arn="arn:aws:iam::123456789012:role/r",
                  bucket="ft-bucket", model_package_group_name="team-models", base_model=catalog.DEFAULT_MODEL_ID)


def run(**fields):
    return P.validate_input({"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/a.jsonl", **fields}, S)


@pytest.mark.parametrize("field, uri", [
    ("training_dataset", "s3://ft-bucket/outputs/stolen.jsonl"),
    ("training_dataset", "s3://ft-bucket/datasets"),
    ("validation_dataset", "s3://ft-bucket/prompts/x.jsonl"),
])
def test_stack_bucket_datasets_must_be_under_datasets_prefix(field, uri):
    with pytest.raises(DatasetAccessDenied) as err:
        run(**{field: uri})
    assert err.value.field == field and err.value.received == uri and "s3://ft-bucket/datasets/" in err.value.expected


def test_output_must_be_under_outputs_prefix():
    with pytest.raises(DatasetAccessDenied, match=r's3_output_path: received "s3://ft-bucket/datasets/out/"; expected a location under s3://ft-bucket/outputs/'):
        run(s3_output_path="s3://ft-bucket/datasets/out/")
    assert run(s3_output_path="s3://ft-bucket/outputs/exp-1/")["s3_output_path"] == "s3://ft-bucket/outputs/exp-1/"


def test_group_must_be_one_the_role_may_register_into():
    with pytest.raises(InvalidInput, match=r'model_package_group: received "someone-else"; expected a group the training role may register into: team-models'):
        run(model_package_group="someone-else")
    assert run(model_package_group="arn:aws:sagemaker:us-east-1:123456789012:model-package-group/team-models")["model_package_group"] == "team-models"
    more = dataclasses.replace(S, model_package_groups=("shared-models",))
    assert P.validate_input({"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/a.jsonl", "model_package_group": "shared-models"}, more)
