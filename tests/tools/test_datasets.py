"""Dataset validation: formats, line numbers, streaming (chunks, S3), memory, fast-path agreement."""

from __future__ import annotations

import io
import json
import tracemalloc
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from sagemaker_finetuning.tools import datasets as D
from sagemaker_finetuning.tools.datasets import DatasetError, diagnose_record, format_for, validate, validate_lines

FIX = Path(__file__).parents[1] / "fixtures" / "datasets"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    """Fake credentials and a region for moto; never a real call."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.parametrize("name, fmt, records", [
    ("sft_valid", "sft", 5),
    ("dpo_valid", "dpo", 2),
    ("rlvr_valid", "rlvr", 3),
    ("rlaif_valid", "rlaif", 2),
    ("nova_sft_valid", "nova-sft", 2),
    ("nova_dpo_valid", "nova-dpo", 1),
    ("nova_rft_valid", "nova-rft", 2),
    ("nova_cpt_valid", "nova-cpt", 1),
])
def test_valid_fixtures(name, fmt, records):
    path = FIX / f"{name}.jsonl"
    report = validate(path, fmt)
    assert report.ok, [str(i) for i in report.issues]
    assert report.records == report.valid_records == records
    assert report.bytes == path.stat().st_size
    assert report.sources == [str(path)]


def _where(report):
    return [(i.line, i.kind) for i in report.issues]


def test_sft_invalid_fixture_reports_every_line():
    report = validate(FIX / "sft_invalid.jsonl", "sft")
    assert _where(report) == [
        (2, "missing_field"), (3, "empty_value"), (4, "wrong_type"), (5, "invalid_json"),
        (6, "not_an_object"), (7, "invalid_json"), (8, "missing_field"), (8, "missing_field"),
        (9, "empty_value"), (9, "empty_value"),
    ]
    assert report.records == 10 and report.invalid_records == 8 and report.valid_records == 2
    assert dict(report.errors_by_kind) == {
        "missing_field": 3, "empty_value": 3, "wrong_type": 1, "invalid_json": 2, "not_an_object": 1}
    msgs = [str(i) for i in report.issues]
    assert msgs[0] == 'line 2: missing_field: "completion" is missing'
    assert msgs[2] == "line 4: wrong_type: prompt: expected a string, got number 42"
    assert "split over several lines" in msgs[3]
    assert not report.ok
    summary = report.summary()
    assert "10 records (2 valid, 8 invalid)" in summary and "missing_field=3" in summary


@pytest.mark.parametrize("name, fmt, expected", [
    ("dpo_invalid", "dpo", [(1, "invalid_value"), (2, "missing_field"), (3, "wrong_type")]),
    ("rlvr_invalid", "rlvr", [(1, "wrong_type"), (2, "missing_field"), (3, "invalid_value"), (3, "invalid_value"),
                              (4, "invalid_value"), (4, "missing_field"), (5, "empty_value"), (5, "wrong_type"),
                              (5, "wrong_type")]),
    ("nova_sft_invalid", "nova-sft", [(1, "missing_field"), (2, "wrong_type"), (3, "invalid_value"),
                                      (4, "missing_field"), (4, "missing_field")]),
    ("nova_dpo_invalid", "nova-dpo", [(1, "invalid_value"), (2, "missing_field"), (3, "invalid_value")]),
])
def test_invalid_fixtures(name, fmt, expected):
    assert _where(validate(FIX / f"{name}.jsonl", fmt)) == expected


def test_wrong_format_is_hinted():
    report = validate(FIX / "sft_valid.jsonl", "nova-sft")
    assert "valid in the sft format" in report.issues[0].message
    report = validate(FIX / "nova_dpo_invalid.jsonl", "nova-dpo")
    assert "valid in the nova-sft format" in report.issues[1].message


def test_max_errors_caps_the_list_not_the_counts():
    lines = ['{"prompt": "p"}'] * 50
    report = validate_lines(lines, "sft", max_errors=3)
    assert len(report.issues) == 3
    assert report.error_count == 50 and report.invalid_records == 50
    assert [i.line for i in report.issues] == [1, 2, 3]


def test_blank_lines_bom_crlf_and_unicode():
    data = '\ufeff{"prompt": "a", "completion": "b"}\r\n\n   \n{"prompt": "ü", "completion": "😀"}\n'.encode()
    report = D.validate_stream(io.BytesIO(data), "sft")
    assert report.ok and report.records == 2 and report.blank_lines == 2 and report.lines == 4
    assert report.bytes == len(data)


def test_invalid_utf8_names_the_line_and_goes_on():
    data = b'{"prompt": "a", "completion": "b"}\n{"prompt": "\xff\xfe", "completion": "b"}\n{"prompt": "c"}\n'
    report = D.validate_stream(io.BytesIO(data), "sft")
    assert _where(report) == [(2, "invalid_utf8"), (3, "missing_field")]
    assert report.records == 3


def test_pathological_nesting_is_an_error_not_a_crash():
    deep = "[" * 100_000 + "]" * 100_000
    report = validate_lines(['{"prompt": "a", "completion": "b"}', deep], "sft")
    assert _where(report) == [(2, "invalid_json")] and "nested too deeply" in report.issues[0].message


def test_json_array_file_is_explained(tmp_path):
    path = tmp_path / "data.json"
    path.write_text('[{"prompt": "a", "completion": "b"},\n{"prompt": "c", "completion": "d"}]\n')
    report = validate(path, "sft")
    assert "looks like a JSON array" in report.issues[0].message


def test_empty_and_missing_sources(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    report = validate(empty, "sft")
    assert not report.ok and _where(report) == [(0, "no_records")]
    with pytest.raises(DatasetError, match="no such file"):
        validate(tmp_path / "nope.jsonl", "sft")
    with pytest.raises(DatasetError, match="unknown dataset format 'csv'"):
        validate(empty, "csv")
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(DatasetError, match="without .jsonl files"):
        validate(tmp_path / "empty-dir", "sft")


def test_directory_of_files_names_each_file(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    (tmp_path / "b.jsonl").write_text('{"prompt": "a"}\n')
    (tmp_path / "notes.txt").write_text("ignored")
    report = validate(tmp_path, "sft")
    assert report.records == 2 and len(report.sources) == 2
    assert str(report.issues[0]) == f'{tmp_path / "b.jsonl"}:1: missing_field: "completion" is missing'


def test_rft_sizing_warning():
    lines = [json.dumps({"messages": [{"role": "user", "content": "q"}], "reference_answer": "a"})] * 3
    report = validate_lines(lines, "nova-rft")
    assert report.ok and report.warnings == ["only 3 records; nova-rft training needs at least 100"]


def test_format_for():
    assert format_for("sft") == "sft" and format_for("RLAIF", "huggingface-reasoning-qwen3-06b") == "rlaif"
    assert format_for("SFT", "nova-textgeneration-lite-v2") == "nova-sft"
    assert format_for("rlvr", "amazon.nova-2-lite-v1:0:256k") == "nova-rft"
    with pytest.raises(DatasetError, match="no dataset format for Nova models"):
        format_for("RLAIF", "nova-textgeneration-lite-v2")


def test_report_to_dict_is_json():
    report = validate(FIX / "dpo_invalid.jsonl", "dpo")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False and data["errors"] == 3 and data["issues"][0]["line"] == 1


# --------------------------------------------------------------------------------------------
# Streaming


def _sft_lines(n: int) -> list[str]:
    out = []
    for i in range(n):
        rec = {"prompt": f"question {i} " + "é" * (i % 7), "completion": "answer " * (i % 13 + 1)}
        if i % 17 == 5:
            rec.pop("completion")
        out.append(json.dumps(rec, ensure_ascii=i % 2 == 0))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.integers(min_value=1, max_value=300), n=st.integers(min_value=0, max_value=60),
       trailing_newline=st.booleans())
def test_chunk_boundaries_do_not_matter(chunk, n, trailing_newline):
    lines = _sft_lines(n)
    data = ("\n".join(lines) + ("\n" if trailing_newline and lines else "")).encode()
    small = D.validate_stream(io.BytesIO(data), "sft", chunk_size=chunk, max_errors=1000)
    whole = validate_lines(lines, "sft", max_errors=1000)
    assert _where(small) == _where(whole)
    assert small.records == whole.records == n
    assert small.bytes == len(data)


def test_constant_memory(tmp_path):
    path = tmp_path / "big.jsonl"
    line = json.dumps({"prompt": "x" * 300, "completion": "y" * 700}) + "\n"
    with open(path, "w") as f:
        for _ in range(8000):  # ~8 MB
            f.write(line)
    tracemalloc.start()
    try:
        report = validate(path, "sft", chunk_size=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.records == 8000
    assert peak < 1_000_000, f"peak {peak} bytes for an {path.stat().st_size} byte file"


@mock_aws
def test_s3_object_and_prefix():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    body = (FIX / "sft_invalid.jsonl").read_bytes()
    s3.put_object(Bucket="data", Key="train/part-1.jsonl", Body=(FIX / "sft_valid.jsonl").read_bytes())
    s3.put_object(Bucket="data", Key="train/part-2.jsonl", Body=body)
    s3.put_object(Bucket="data", Key="single.jsonl", Body=body)

    one = validate("s3://data/single.jsonl", "sft", s3_client=s3)
    assert _where(one) == _where(validate(FIX / "sft_invalid.jsonl", "sft"))
    assert one.bytes == len(body) and one.sources == ["s3://data/single.jsonl"]

    for uri in ("s3://data/train/", "s3://data/train"):
        many = validate(uri, "sft", s3_client=s3)
        assert many.sources == ["s3://data/train/part-1.jsonl", "s3://data/train/part-2.jsonl"]
        assert many.records == 15 and many.invalid_records == 8
        assert str(many.issues[0]).startswith("s3://data/train/part-2.jsonl:2: missing_field")

    # The default client is boto3's (moto intercepts it too).
    assert validate("s3://data/single.jsonl", "sft").records == 10
    with pytest.raises(DatasetError, match="no object at s3://data/nothing"):
        validate("s3://data/nothing.jsonl", "sft", s3_client=s3)
    with pytest.raises(DatasetError, match="cannot read s3://missing-bucket/x.jsonl: NoSuchBucket"):
        validate("s3://missing-bucket/x.jsonl", "sft", s3_client=s3)


# --------------------------------------------------------------------------------------------
# The fast path agrees with the diagnosing checker


_text = st.one_of(st.just(""), st.just("  "), st.text(max_size=8))
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), _text)
_role = st.sampled_from(["user", "assistant", "system", "robot", "", None, 3])
_message = st.fixed_dictionaries({}, optional={"role": _role, "content": st.one_of(_text, st.integers(), st.none())})
_messages = st.one_of(st.lists(_message, max_size=4), _scalar)
_open_record = st.fixed_dictionaries({}, optional={
    "prompt": st.one_of(_text, _messages, _scalar),
    "completion": st.one_of(_text, _scalar),
    "chosen": st.one_of(_text, _scalar),
    "rejected": st.one_of(_text, st.just("same"), _scalar),
    "reward_model": st.one_of(
        st.fixed_dictionaries({}, optional={"ground_truth": _scalar, "style": _scalar}), _scalar),
    "data_source": _scalar,
    "ability": _scalar,
    "messages": _messages,
    "reference_answer": st.one_of(_scalar, st.dictionaries(st.text(max_size=3), _scalar, max_size=2),
                                  st.lists(_scalar, max_size=2)),
    "id": _scalar,
    "text": _scalar,
})


@settings(max_examples=400, deadline=None)
@given(record=st.one_of(_open_record, _scalar, st.lists(_scalar, max_size=2)))
def test_fast_path_agrees_with_diagnose(record):
    for spec in D.FORMATS.values():
        if spec.fast is not None:
            assert spec.fast(record) == (diagnose_record(record, spec.name) == []), (spec.name, record)
