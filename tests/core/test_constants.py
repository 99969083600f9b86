"""``lambda_src/common/constants.py`` mirrors facts SDK v3 encodes; each is compared with the installed SDK."""

from __future__ import annotations

import re

import botocore.session
import pytest
import sdk_oracle  # noqa: F401  (sets a region before the SDK's import-time boto3 clients are made)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sagemaker.train import common as sdk_common
from sagemaker.train import constants as sdk_constants
from sagemaker.train.common_utils import finetune_utils
from sagemaker.train.common_utils.model_aliases import MODEL_NAME_ALIASES
from sagemaker.train.utils import _get_jumpstart_tags

from sagemaker_finetuning.core import constants as C
from sagemaker_finetuning.core import naming as N  # noqa: E402


def test_judge_model_regions_equal_sdk_allowed_reward_models():
    assert C.JUDGE_MODEL_REGIONS == {k: tuple(v) for k, v in sdk_constants._ALLOWED_REWARD_MODEL_IDS.items()}


def test_model_regions_equal_sdk():
    assert C.OPEN_WEIGHTS_REGIONS == tuple(finetune_utils.OPEN_WEIGHTS_REGIONS)
    assert C.NOVA_REGIONS == tuple(finetune_utils.NOVA_REGIONS)


def test_job_type_techniques_and_training_types():
    assert C.JOB_TYPE == sdk_common.JOB_TYPE == finetune_utils.JOB_TYPE
    assert set(C.TECHNIQUES) == {t.value for t in sdk_common.CustomizationTechnique} - {"CPT"}
    assert C.TRAINING_TYPES == tuple(t.value for t in sdk_common.TrainingType)


def test_public_hub_name_is_the_sdk_default(monkeypatch):
    monkeypatch.delenv("SAGEMAKER_HUB_NAME", raising=False)
    assert C.PUBLIC_HUB_NAME == sdk_constants.get_sagemaker_hub_name()


def test_model_name_aliases_equal_sdk():
    assert C.MODEL_NAME_ALIASES == MODEL_NAME_ALIASES


@given(st.text(max_size=40) | st.sampled_from(["nova-textgeneration-lite-v2", "amazon.NOVA-pro", "huggingface-reasoning-qwen3-06b", "NoVa"]))
@settings(max_examples=200, deadline=None)
def test_is_nova_model_agrees_with_sdk(model_id):
    assert C.is_nova_model(model_id) == finetune_utils._is_nova_model(model_id)


def test_jumpstart_tag_keys_equal_sdk():
    tags = _get_jumpstart_tags("some-model", "SomeHub")
    assert [t["key"] for t in tags] == [C.JUMPSTART_MODEL_TAG, C.JUMPSTART_HUB_TAG]
    assert [t["value"] for t in tags] == ["some-model", "SomeHub"]


def _sdk_accepts(value: str) -> bool:
    try:
        finetune_utils._validate_hyperparameter_values({"name": value})
    except ValueError:
        return False
    return True


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30) | st.text(alphabet="aZ09/_.:,-'\"[] \t\n$;{}()|&*?!<>=+@#%^~`\\", max_size=12))
@settings(max_examples=400, deadline=None)
@example("abc\n")
@example("1e-05")
@example("[0.1, 0.2]")
@example("a$b")
@example("")
def test_hyperparameter_value_pattern_matches_sdk(value):
    assert bool(re.match(C.HYPERPARAMETER_VALUE_PATTERN, value)) == _sdk_accepts(value)


def test_name_pattern_is_the_training_job_name_pattern():
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob").input_shape
    assert N.NAME_PATTERN == shape.members["TrainingJobName"].metadata["pattern"]
    assert N.MAX_NAME == shape.members["TrainingJobName"].metadata["max"]


def _stripped_by(trainer_cls, keys):
    """Run the trainer's own _process_hyperparameters on options holding ``keys``; return what it removed."""
    options = sdk_common.FineTuningOptions({k: {"default": "x", "type": "string"} for k in keys})
    trainer = object.__new__(trainer_cls)
    trainer.hyperparameters = options
    trainer.reward_model_id = None
    trainer.reward_prompt = None
    trainer_cls._process_hyperparameters(trainer)
    return set(keys) - set(options._specs)


CANDIDATES = (
    "data_path", "output_path", "data_s3_path", "output_s3_path", "training_data_name", "validation_data_name",
    "validation_data_path", "reward_lambda_arn", "learning_rate", "judge_model_id", "judge_prompt_template",
)


@pytest.mark.parametrize("technique", C.TECHNIQUES)
def test_stripped_hyperparameters_equal_what_each_trainer_strips(technique):
    from sagemaker.train.dpo_trainer import DPOTrainer
    from sagemaker.train.rlaif_trainer import RLAIFTrainer
    from sagemaker.train.rlvr_trainer import RLVRTrainer
    from sagemaker.train.sft_trainer import SFTTrainer

    trainer_cls = {"SFT": SFTTrainer, "DPO": DPOTrainer, "RLVR": RLVRTrainer, "RLAIF": RLAIFTrainer}[technique]
    assert _stripped_by(trainer_cls, CANDIDATES) == set(C.STRIPPED_HYPERPARAMETERS[technique])


def test_the_schema_uses_the_one_sagemaker_name_pattern():
    from sagemaker_finetuning.core.schema_check import load_schema

    fields = load_schema()["properties"]
    assert fields["training_job_name"]["pattern"] == f"^{N.NAME_PATTERN}$"
    assert fields["model_package_group"]["pattern"].count(N.NAME_PATTERN) == 2
