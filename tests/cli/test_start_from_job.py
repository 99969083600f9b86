"""`finetune start --continue-from-job NAME|ARN`: the execution continues from the job's output model package."""

from __future__ import annotations

import json

from test_cli import ACCOUNT, REGION, _env, aws, describe, one_error_line, run, stack  # noqa: F401  (fixtures)


def test_a_job_name_becomes_the_arn_in_the_state_machines_account_and_region(aws):  # noqa: F811
    stack(with_outputs=True)
    result = run("start", "-t", "DPO", "-d", "s3://my-bucket/prefs.jsonl", "--continue-from-job", "my-sft-job", "--name", "dpo-1")
    assert result.exit_code == 0, result.output
    doc = json.loads(describe(result.stdout.strip())["input"])
    assert doc["model"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/my-sft-job"


def test_an_arn_is_used_as_is_and_a_model_as_well_is_refused():
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/my-sft-job"
    result = run("start", "-t", "DPO", "-d", "s3://my-bucket/prefs.jsonl", "--continue-from-job", arn, "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == arn
    one_error_line(run("start", "-t", "DPO", "-d", "s3://b/x.jsonl", "-m", "huggingface-reasoning-qwen3-06b",
                       "--continue-from-job", "j", "--dry-run"), "--continue-from-job j and a model", code=1)
