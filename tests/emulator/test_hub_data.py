"""The emulator's hub data: built from the real-catalogue research files, and the facts the invented
catalogue hid (issue 10). When the research files are on this machine the build is re-run and must
equal the committed data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from sagemaker_finetuning_emulator import hub_data as H

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "reference" / "real-catalog"


def _offered(model_id: str, region: str = "us-east-1") -> set[tuple[str, str, str]]:
    doc = H.hub_document(region, model_id)
    return {(r["CustomizationTechnique"], "LORA" if r.get("Peft") else "FULL", r["SequenceLength"]) for r in doc["RecipeCollection"]}


@pytest.mark.skipif(not SOURCE.is_dir(), reason=f"the research files are not on this machine ({SOURCE})")
def test_committed_data_is_what_the_build_makes_from_the_research_files():
    spec = importlib.util.spec_from_file_location("build_hub_data", ROOT / "emulator" / "build_hub_data.py")
    assert spec and spec.loader
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    files = build.build(SOURCE)
    committed = {str(p.relative_to(H.HERE)): p.read_text(encoding="utf-8")
                 for p in [H.HERE / "models.json", *sorted((H.HERE / "override_params").glob("*.json"))]}
    assert committed == files


def test_qwen3_06b_is_the_small_default_with_every_technique_and_1k_rlvr():
    assert H.DEFAULT_MODEL_ID == "huggingface-reasoning-qwen3-06b"
    offered = _offered(H.DEFAULT_MODEL_ID)
    assert {t for t, _, _ in offered} == {"SFT", "DPO", "RLVR", "RLAIF"}
    assert {(t, s) for t, _, s in offered} == {("SFT", "4K"), ("DPO", "4K"), ("RLAIF", "4K"), ("RLVR", "1K")}  # no 8K
    assert not H.model(H.DEFAULT_MODEL_ID)["gated"]


def test_llama_3_2_1b_is_gated_4k_with_full_fine_tuning_for_every_technique():
    offered = _offered(H.GATED_MODEL_ID)
    assert {(t, ty) for t, ty, _ in offered} == {(t, ty) for t in ("SFT", "DPO", "RLVR", "RLAIF") for ty in ("LORA", "FULL")}
    assert {s for t, _, s in offered if t != "RLVR"} == {"4K"} and H.hub_document("us-east-1", H.GATED_MODEL_ID)["GatedBucket"]


def test_gpt_oss_20b_is_not_lora_only_and_120b_is():
    assert {ty for _, ty, _ in _offered(H.FULL_AND_LORA_MODEL_ID)} == {"LORA", "FULL"}
    assert {t for t, _, _ in _offered(H.FULL_AND_LORA_MODEL_ID)} == {"SFT", "DPO", "RLVR", "RLAIF"}
    assert {ty for _, ty, _ in _offered(H.LORA_ONLY_MODEL_ID)} == {"LORA"}


def test_nova_lite_v2_has_no_dpo_and_nemotron_nano_no_dpo():
    assert {t for t, _, _ in _offered(H.NOVA_MODEL_ID)} == {"SFT", "RLVR"}
    assert {(t, s) for t, _, s in _offered(H.NOVA_MODEL_ID)} == {("SFT", "32K"), ("RLVR", "8K")}
    assert {t for t, _, _ in _offered(H.NO_DPO_MODEL_ID)} == {"SFT", "RLVR", "RLAIF"}


def test_hub_content_answers_as_aws_tooling_writes_it():
    described = H.describe_hub_content("us-west-2", H.DEFAULT_MODEL_ID)
    assert described["HubContentSearchKeywords"][0] == "@capability:customization"
    assert "@recipe:finetuning_sft_lora" in described["HubContentSearchKeywords"]
    assert described["DocumentSchemaVersion"] == "2.4.0"
    recipes = json.loads(described["HubContentDocument"])["RecipeCollection"]
    metering = {r["CustomizationTechnique"]: r["ServerlessMeteringType"] for r in recipes}
    assert metering == {"SFT": "Token-based", "DPO": "Token-based", "RLVR": "Hourly", "RLAIF": "Hourly"}
    assert all(r["SmtjImageUri"].startswith("920498770698.dkr.ecr.us-west-2.amazonaws.com/hyperpod-recipes:") for r in recipes)
    assert H.hub_content_arn("us-west-2", H.NOVA_MODEL_ID).endswith("/Model/nova-textgeneration-lite-v2/3.50.0")


def test_real_override_params():
    rlvr = H.override_params(H.DEFAULT_MODEL_ID, "RLVR", True, "1K")
    assert rlvr["preset_reward_function"]["default"] == "" and rlvr["preset_reward_function"]["enum"][0] == ""
    assert "max_response_length" not in rlvr and rlvr["kl_loss_coef"]["category"] == "hyperparameter"
    rlaif = H.override_params(H.DEFAULT_MODEL_ID, "RLAIF", True, "4K")
    assert {t.rsplit("/", 1)[-1] for t in rlaif["judge_prompt_template"]["enum"]} == {
        "cot.jinja", "evaluate.jinja", "faithfulness.jinja", "summarize.jinja", "grader.jinja"}
    sft = H.override_params(H.DEFAULT_MODEL_ID, "SFT", True, "4K")
    assert (sft["learning_rate"]["min"], sft["learning_rate"]["max"], sft["max_epochs"]["max"]) == (5e-07, 0.0001, 100)
    assert sft["lora_rank"]["enum"] == [8, 16, 32, 64, 128]


def test_models_are_offered_only_in_their_serverless_regions():
    assert H.model_ids("eu-central-1") == [H.NOVA_MODEL_ID]  # open-weights serverless: 4 regions
    assert set(H.model_ids("us-east-1")) == set(H.model_ids())
