"""Every SageMakerPublicHub model id named anywhere in the repository is a real one.

The real ids are those of ``core/model_licenses.json`` (the 35 models of AWS's recipes repository with
serverless customization, see its source). A test that needs a fictitious model says so in its name
(``fake-...``), which this pattern does not match."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = set(json.loads((ROOT / "constructs/sagemaker_finetuning/core/model_licenses.json").read_text())["models"])
#: The hub's id families (JumpStart model ids), not Hugging Face paths (meta-llama/...) or Bedrock ids (openai.gpt-...).
MODEL_ID = re.compile(r"(?<![\w/.-])(?:huggingface|meta|openai|deepseek|nova)-(?:llm|reasoning|vlm|textgeneration)(?:-[a-z0-9]+)+")
SCANNED = ("constructs", "lambda_src", "cdk_app", "templates", "examples", "emulator", "tests", "bench", "README.md", "cdk.json")
SUFFIXES = {".py", ".json", ".md", ".jinja", ".jsonl", ".txt", ".yaml", ".ipynb"}


def _files():
    for entry in SCANNED:
        path = ROOT / entry
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                        and "__pycache__" not in p.parts and ".snapshot" not in str(p))


def test_every_model_id_named_is_real():
    invented = {}
    for path in _files():
        for found in set(MODEL_ID.findall(path.read_text(encoding="utf-8", errors="replace"))):
            if re.sub(r"-(?:sft|dpo|rlvr|rlaif)$", "", found) not in REAL:  # job names: <model>-<technique>-...
                invented.setdefault(found, []).append(str(path.relative_to(ROOT)))
    assert not invented, f"model ids that do not exist in SageMakerPublicHub: {invented}"


def test_the_pattern_finds_ids():
    assert MODEL_ID.findall("base_model='huggingface-reasoning-qwen3-06b' and meta-textgeneration-llama-3-2-1b-instruct") == [
        "huggingface-reasoning-qwen3-06b", "meta-textgeneration-llama-3-2-1b-instruct"]
    assert not MODEL_ID.findall("meta-llama/Llama-3.2-1B openai.gpt-oss-120b-1:0 fake-huggingface-llm-x")
