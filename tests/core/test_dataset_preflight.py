"""Before any spend: the first records of a dataset are in the format its technique expects."""

from __future__ import annotations

import json

from sagemaker_finetuning.core.datasets.preflight import HEAD_RECORDS, first_records_problem, head_lines
from sagemaker_finetuning.core.errors import DatasetFormatMismatch

SFT = json.dumps({"prompt": "2+2?", "completion": "4"})
RLVR = json.dumps({"prompt": [{"role": "user", "content": "2+2?"}], "reward_model": {"ground_truth": "4"}})
NOVA_SFT = json.dumps({"schemaVersion": "bedrock-conversation-2024",
                       "messages": [{"role": "user", "content": [{"text": "hi"}]}, {"role": "assistant", "content": [{"text": "hello"}]}]})
URI = "s3://b/datasets/train.jsonl"


def test_matching_records_pass():
    assert first_records_problem("training_dataset", URI, [SFT] * 3, "SFT", "huggingface-reasoning-qwen3-06b") is None
    assert first_records_problem("training_dataset", URI, [RLVR], "RLVR", "huggingface-reasoning-qwen3-06b") is None
    assert first_records_problem("training_dataset", URI, [NOVA_SFT], "SFT", "nova-textgeneration-lite-v2") is None


def test_rlvr_on_an_sft_dataset_is_named_with_a_hint():
    problem = first_records_problem("training_dataset", URI, [SFT, SFT], "RLVR", "huggingface-reasoning-qwen3-06b")
    assert isinstance(problem, DatasetFormatMismatch) and problem.field == "training_dataset"
    text = str(problem)
    assert text.startswith(f'training_dataset: received "{URI}"; expected records in the rlvr format RLVR expects')
    assert "record 1:" in text and "The records look like the sft format" in text


def test_open_weights_records_for_a_nova_model():
    problem = first_records_problem("validation_dataset", URI, [SFT], "SFT", "nova-textgeneration-lite-v2")
    assert isinstance(problem, DatasetFormatMismatch) and "nova-sft" in problem.expected


def test_broken_json_is_named_without_a_guess():
    problem = first_records_problem("training_dataset", URI, ['{"prompt": "x", '], "SFT", "huggingface-reasoning-qwen3-06b")
    assert problem is not None and "look like" not in str(problem) and "record 1" in str(problem)


def test_head_lines_drop_a_cut_last_line_and_cap_the_records():
    body = ("\n".join([SFT] * 50) + "\n" + SFT[:10]).encode()
    lines = head_lines(body, complete=False)
    assert len(lines) == HEAD_RECORDS and all(line == SFT for line in lines)
    assert head_lines(b"\n\n" + SFT.encode(), complete=True) == [SFT]
    assert head_lines(SFT[:10].encode(), complete=False) == []  # nothing complete: nothing judged
    assert first_records_problem("training_dataset", URI, [], "SFT", "m") is None
