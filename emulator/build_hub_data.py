"""Build the emulator's SageMakerPublicHub data from the real-catalogue research files.

    python emulator/build_hub_data.py [path/to/real-catalog]   (default: ../shared/reference/real-catalog)

Reads ``real_catalog.json`` and ``real_override_params.json`` (facts extracted from AWS's recipes
repository ``aws/sagemaker-hyperpod-recipes`` and SageMaker Python SDK v3 1.27.0; their README says
how confident each fact is) and writes, for the models in ``MODELS``:

* ``sagemaker_finetuning_emulator/hub_data/models.json``: per model its DescribeHubContent fields and
  its hub document, each RecipeCollection entry as AWS's hub tooling writes it, with its source;
* ``sagemaker_finetuning_emulator/hub_data/override_params/<recipe Name>.json``: the override-params
  document the recipe's ``SmtjOverrideParamsS3Uri`` points at, with its source.

The output is committed; ``tests/emulator/test_hub_data.py`` re-runs this build when the research
files are present and fails if the committed data differ. Only what the public sources do not hold
is filled in, and marked ``SIMULATED`` in ``hub_data/SOURCES.md`` (hub content versions other than
Nova Lite v2's, the S3 bucket of the recipe files).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "sagemaker_finetuning_emulator" / "hub_data"
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "reference" / "real-catalog"

#: The models the emulator serves: together they exercise every path of the workflow.
MODELS = {
    "huggingface-reasoning-qwen3-06b": "the default: small, open weights, not gated, all four techniques, LoRA and full",
    "meta-textgeneration-llama-3-2-1b-instruct": "gated (accept_eula), all four techniques at 4K (RLVR 1K), LoRA and full",
    "openai-reasoning-gpt-oss-20b": "LoRA and full for every technique (it is not LoRA-only)",
    "openai-reasoning-gpt-oss-120b": "LoRA only: no full fine-tuning",
    "huggingface-reasoning-nvidia-nemotron-3-nano-30b-a3b-bf16": "no DPO; 8K SFT and RLVR",
    "nova-textgeneration-lite-v2": "Amazon Nova: SFT 32K, RLVR 8K (inferred serverless), no DPO, no RLAIF",
}
#: Fields of a RecipeCollection entry as AWS's hub tooling writes them (update_private_hub.py:300-336).
RECIPE_FIELDS = ("Name", "DisplayName", "CustomizationTechnique", "Peft", "SequenceLength", "ServerlessMeteringType",
                 "Type", "Versions", "InstanceCount", "Hardware", "SupportedInstanceTypes", "RecipeFilePath")
SIMULATED_VERSION = "1.0.0"


def _recipe_entry(recipe: dict[str, Any]) -> dict[str, Any]:
    entry = {k: recipe[k] for k in RECIPE_FIELDS if recipe.get(k) is not None}
    entry["SmtjImageUri"] = dict(sorted(recipe.get("SmtjImageUri_prod", {}).items()))
    entry["ServerlessRegions"] = sorted(recipe.get("serverless_sku_prod_regions", []))
    entry["Source"] = recipe["source"]
    return entry


def _model(m: dict[str, Any]) -> dict[str, Any]:
    version = (m.get("version_seen") or {}).get("value")
    recipes = [_recipe_entry(r) for r in m["recipes"]]
    keywords = ["@capability:customization"] + sorted({
        f"@recipe:finetuning_{r['CustomizationTechnique'].lower()}_lora" for r in recipes if r.get("Peft") == "LORA"})
    return {
        "why": MODELS[m["id"]],
        "version": version or SIMULATED_VERSION,
        "version_source": (m.get("version_seen") or {}).get("source") or "SIMULATED: not in the public sources",
        "gated": bool(m["gated"]),
        "gated_basis": m.get("gated_basis"),
        "license_url": m.get("license_url"),
        "model_name_or_path": (m.get("model_name_or_path_default") or [None])[0],
        "serverless_regions": sorted(m.get("serverless_regions", [])),
        "keywords": keywords,
        "confidence": m.get("confidence"),
        "source": m.get("source"),
        "recipes": recipes,
    }


def build(source: Path) -> dict[str, str]:
    """``{relative path: file text}`` of the hub data."""
    catalog = json.loads((source / "real_catalog.json").read_text(encoding="utf-8"))
    params = json.loads((source / "real_override_params.json").read_text(encoding="utf-8"))
    models = {m["id"]: _model(m) for m in catalog["models"] if m["id"] in MODELS}
    missing = set(MODELS) - set(models)
    if missing:
        raise SystemExit(f"not in {source}: {sorted(missing)}")
    files = {"models.json": json.dumps({k: models[k] for k in MODELS}, indent=1, sort_keys=False) + "\n"}
    for model in models.values():
        for recipe in model["recipes"]:
            spec = params[recipe["Name"]]
            doc = {"source": spec["source"], "recipe_version": spec.get("recipe_version"), "params": spec["params"]}
            files[f"override_params/{recipe['Name']}.json"] = json.dumps(doc, indent=1) + "\n"
    return files


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    files = build(source)
    for old in (OUT / "override_params").glob("*.json"):
        old.unlink()
    for rel, text in files.items():
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
