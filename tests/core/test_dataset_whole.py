"""Whole-dataset validation split into byte-range parts (core.datasets.whole): line ownership at every
byte offset, absolute line numbers, merge, sample mode, and splitting never changing the result."""

from __future__ import annotations

import io
import json
import random
from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_finetuning.core.datasets.engine import validate_stream
from sagemaker_finetuning.core.datasets.whole import (
    DEFAULT_PART_BYTES,
    Part,
    PartResult,
    Verdict,
    merge,
    plan_parts,
    require_objects,
    validate_part,
)
from sagemaker_finetuning.core.errors import ERROR_NAMES, DatasetInvalid, DatasetNotFound

GOOD = b'{"prompt": "p", "completion": "c"}'
UNICODE = '{"prompt": "東京 café ✓", "completion": "naïve"}'.encode()
PIECES = [
    GOOD, b"", b"\r", b"   ", UNICODE, UNICODE + b"\r", b'{"prompt": "p"', b"[1, 2]", b'{"prompt": "p"}',
    b'{"prompt": "\xff\xfe"}', b'{"prompt": "p", "completion": "c"} x', "\ufeff".encode() + GOOD, b"{}",
]


def chunked(data: bytes, start: int, size: int) -> Iterator[bytes]:
    for i in range(start, len(data), size):
        yield data[i:i + size]


def parts_at(key: str, size: int, cuts: list[int]) -> list[Part]:
    bounds = [0, *sorted(set(c for c in cuts if 0 < c < size)), size]
    return [Part(key, a, b, size) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def check(data: bytes, parts: list[Part], chunk: int = 1 << 20, fmt: str = "sft", max_errors: int = 20) -> Verdict:
    return merge([validate_part(p, chunked(data, p.read_from, chunk), fmt, max_errors=max_errors) for p in parts], fmt,
                 max_errors=max_errors)


def summary_of_whole(data: bytes, fmt: str = "sft", max_errors: int = 20) -> tuple[Any, ...]:
    r = validate_stream(io.BytesIO(data), fmt, max_errors=max_errors)
    return ([(i.line, i.kind, i.message) for i in r.issues], r.records, r.invalid_records, r.blank_lines, r.lines,
            dict(r.errors_by_kind))


def summary_of(v: Verdict) -> tuple[Any, ...]:
    return ([(i["line"], i["kind"], i["message"]) for i in v.issues], v.records, v.invalid_records, v.blank_lines, v.lines,
            v.errors_by_kind)


SMALL_OBJECTS = {
    "lf": GOOD + b"\n" + UNICODE + b"\n" + b'{"prompt": "p"}\n',
    "crlf": GOOD + b"\r\n" + b"\r\n" + UNICODE + b"\r\n" + b"[1]\r\n",
    "no final newline": GOOD + b"\n" + b"{bad",
    "empty lines": b"\n\n" + GOOD + b"\n\n\n" + UNICODE + b"\n\n",
    "bom and bad utf-8": "\ufeff".encode() + GOOD + b"\n" + b'{"prompt": "\xc3"}\n' + UNICODE,
    "only newlines": b"\n\n\n",
    "one line": UNICODE,
}


@pytest.mark.parametrize("name", sorted(SMALL_OBJECTS))
def test_every_single_boundary_and_part_size_gives_the_whole_objects_result(name):
    data = SMALL_OBJECTS[name]
    expected = summary_of_whole(data)
    for cut in range(len(data) + 1):  # two parts, split at every byte offset
        for chunk in (1, 2, 5, 1 << 20):
            v = check(data, parts_at("k", len(data), [cut]), chunk)
            assert summary_of(v) == expected, (cut, chunk)
            assert v.bytes == len(data)
    for part_bytes in range(1, len(data) + 2):  # the planner's equal parts, down to one byte each
        v = check(data, plan_parts([("k", len(data))], part_bytes), 3)
        assert summary_of(v) == expected, part_bytes
        assert v.bytes == len(data) and v.parts == -(-len(data) // part_bytes)


def test_a_line_starting_exactly_at_a_boundary_belongs_to_the_next_part():
    data = b"AAA\nBBB\nCCC\n"
    owned = {}
    for start, end in ((0, 4), (4, 8), (8, 12), (0, 3), (3, 4), (4, 5), (5, 12), (3, 5)):
        r = validate_part(Part("k", start, end, len(data)), chunked(data, max(start - 1, 0), 2), "sft")
        owned[(start, end)] = (r.lines, r.bytes)
    # [0,4) holds line 1 (it starts at 0); line 2 starts at 4: the next part's, even though byte 3 is its newline.
    assert owned[(0, 4)] == (1, 4) and owned[(4, 8)] == (1, 4) and owned[(8, 12)] == (1, 4)
    assert owned[(0, 3)] == (1, 4)  # reads past its end to finish line 1
    assert owned[(3, 4)] == (0, 0)  # byte 3 is line 1's newline: no line starts in [3, 4)
    assert owned[(4, 5)] == (1, 4) and owned[(5, 12)] == (1, 4)  # line 2 starts at 4; line 3 at 8
    assert owned[(3, 5)] == (1, 4)  # line 2 starts at 4, inside [3, 5)


def test_a_multibyte_character_split_by_a_boundary_stays_whole():
    line = '{"prompt": "東京東京", "completion": "✓✓"}'.encode()
    data = line + b"\n" + line + b"\n"
    inside = data.index("京".encode()) + 1  # the middle of a 3-byte character
    for cut in range(inside - 2, inside + 3):
        v = check(data, parts_at("k", len(data), [cut, cut + len(line) + 1]), chunk=1)
        assert v.ok and v.records == 2 and v.text_chars == 2 * (4 + 2)


def test_one_malformed_line_among_10000_is_named_whatever_the_part_size():
    rnd = random.Random(3)
    lines = [json.dumps({"prompt": "q" * rnd.randint(1, 80), "completion": "a" * rnd.randint(1, 200)}).encode() for _ in range(10_000)]
    lines[7344] = b'{"prompt": "broken", "completion": '
    data = b"\n".join(lines) + b"\n"
    sizes = [97, 1000, 4096, 65_536, 1 << 20, len(data), DEFAULT_PART_BYTES, *(rnd.randint(500, 200_000) for _ in range(5))]
    for part_bytes in sizes:
        parts = plan_parts([("data/train.jsonl", len(data))], part_bytes)
        v = merge([validate_part(p, chunked(data, p.read_from, 65_536), "sft").to_dict() for p in parts], "sft")
        assert (v.records, v.invalid_records, v.lines) == (10_000, 1, 10_000), part_bytes
        assert [(i["key"], i["line"], i["kind"]) for i in v.issues] == [("data/train.jsonl", 7345, "invalid_json")], part_bytes
        error = v.problem("training_dataset", "s3://b/data/", "SFT", "huggingface-reasoning-qwen3-06b")
        assert isinstance(error, DatasetInvalid) and error.field == "training_dataset"
        assert "data/train.jsonl line 7345: invalid_json" in str(error) and "1 of 10000 records" in str(error)


def test_merge_numbers_lines_per_object_in_key_order_whatever_the_result_order():
    a = b"\n".join([GOOD, b"bad-a", GOOD, GOOD]) + b"\n"
    b_ = b"\n".join([GOOD, GOOD, GOOD, b"bad-b"])
    results = [validate_part(p, chunked(data, p.read_from, 4), "sft").to_dict()
               for key, data in (("b.jsonl", b_), ("a.jsonl", a))
               for p in plan_parts([(key, len(data))], 7)]
    random.Random(1).shuffle(results)
    v = merge(json.loads(json.dumps(results)), "sft")  # results travel as JSON between states
    assert [(i["key"], i["line"]) for i in v.issues] == [("a.jsonl", 2), ("b.jsonl", 4)]
    assert (v.objects, v.records, v.invalid_records, v.bytes) == (2, 8, 2, len(a) + len(b_))
    assert v.to_dict()["valid_records"] == 6 and not v.ok


def test_merge_keeps_the_first_errors_of_the_dataset_and_counts_all():
    data = b"\n".join(b"x" for _ in range(50))
    v = check(data, plan_parts([("k", len(data))], 10), max_errors=3)
    assert [i["line"] for i in v.issues] == [1, 2, 3] and v.errors_by_kind == {"invalid_json": 50}


def test_merge_refuses_parts_that_do_not_tile_an_object():
    data = GOOD + b"\n" + GOOD
    r = [validate_part(p, chunked(data, p.read_from, 8), "sft") for p in plan_parts([("k", len(data))], 20)]
    with pytest.raises(ValueError, match="do not tile"):
        merge(r[1:], "sft")  # the first part is missing
    with pytest.raises(ValueError, match="do not tile"):
        merge(r[:-1], "sft")  # the last part is missing
    with pytest.raises(ValueError, match="do not tile"):
        merge([r[0], r[2]], "sft")  # a gap


def test_no_records_and_few_records():
    v = check(b"\n \n", plan_parts([("k", 3)], 1))
    assert not v.ok and v.issues == [{"key": None, "line": 0, "kind": "no_records", "message": "the dataset has no records"}]
    assert "the dataset has none" in str(v.problem("training_dataset", "s3://b/k"))
    assert merge([], "sft").errors_by_kind == {"no_records": 1}  # only empty objects: no part at all
    ok = check(GOOD, [Part("k", 0, len(GOOD), len(GOOD))], fmt="nova-rft")
    assert ok.warnings == [] or "needs at least 100" in ok.warnings[0]
    good = b'{"messages": [{"role": "user", "content": "q"}], "reference_answer": "a"}'
    few = check(good, [Part("k", 0, len(good), len(good))], fmt="nova-rft")
    assert few.ok and few.warnings == ["only 1 records; nova-rft training needs at least 100"]


def test_sample_mode_checks_the_first_records_and_reads_no_further():
    data = b"\n".join([GOOD] * 5000 + [b"broken"]) + b"\n"
    parts = plan_parts([("b.jsonl", len(data)), ("a.jsonl", len(data)), ("empty", 0)], 64, "sample")
    assert [(p.key, p.start, p.end) for p in parts] == [("a.jsonl", 0, len(data)), ("b.jsonl", 0, len(data))]
    pulled: list[int] = []

    def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for c in chunks:
            pulled.append(len(c))
            yield c

    results = [validate_part(p, counted(chunked(data, 0, 1000)), "sft", max_records=100) for p in parts]
    assert all(r.records == 100 and r.truncated and r.read_bytes <= 100 * (len(GOOD) + 1) + 1000 for r in results)
    assert sum(pulled) == sum(r.read_bytes for r in results) < len(data) // 10
    v = merge(results, "sft", mode="sample")
    assert v.ok and v.records == 200 and v.mode == "sample"
    # the malformed last line is found only by full mode
    full = merge([validate_part(p, chunked(data, p.read_from, 1 << 16), "sft") for p in plan_parts([("a", len(data))], 1 << 16)], "sft")
    assert [i["line"] for i in full.issues] == [5001]


def test_sample_mode_names_errors_within_the_sample_and_says_so():
    data = GOOD + b"\n" + b'{"prompt": "p"}' + b"\n" + GOOD
    parts = plan_parts([("k", len(data))], 1, "sample")
    v = merge([validate_part(p, chunked(data, 0, 3), "sft", max_records=2) for p in parts], "sft", mode="sample")
    assert [(i["line"], i["kind"]) for i in v.issues] == [(2, "missing_field")] and v.records == 2
    assert "mode sample" in str(v.problem("training_dataset", "s3://b/k"))


def test_off_mode_plans_and_checks_nothing():
    assert plan_parts([("k", 10)], 1, "off") == []
    v = merge([], "sft", mode="off")
    assert v.ok and v.records == 0 and v.problem("training_dataset", "s3://b/k") is None


def test_plan_parts_splits_objects_in_key_order():
    parts = plan_parts([("b", 10), ("a", 25), ("dir-marker-empty", 0)], 10)
    assert [(p.key, p.start, p.end, p.size) for p in parts] == [("a", 0, 10, 25), ("a", 10, 20, 25), ("a", 20, 25, 25),
                                                                ("b", 0, 10, 10)]
    assert [p.read_from for p in parts] == [0, 9, 19, 0]
    assert Part.from_dict(parts[1].to_dict()) == parts[1]
    with pytest.raises(ValueError, match="mode"):
        plan_parts([("a", 1)], 10, "most")
    with pytest.raises(ValueError, match="part_bytes"):
        plan_parts([("a", 1)], 0)


def test_a_part_stops_pulling_chunks_once_its_last_line_ends():
    data = (GOOD + b"\n") * 100
    pulled = []

    def chunks() -> Iterator[bytes]:
        for c in chunked(data, 0, 10):
            pulled.append(c)
            yield c

    r = validate_part(Part("k", 0, 40, len(data)), chunks(), "sft")
    assert r.lines == 2 and r.bytes == 2 * (len(GOOD) + 1)
    assert sum(map(len, pulled)) <= r.bytes + 10


def test_text_chars_count_the_characters_of_string_values():
    data = '{"prompt": "東京", "completion": "ab"}\n{"prompt": [{"role": "user", "content": "xyz"}], "completion": "c"}'.encode()
    r = validate_part(Part("k", 0, len(data), len(data)), [data], "sft")
    assert r.text_chars == 2 + 2 + (4 + 3) + 1


def test_an_object_start_only_drops_a_byte_order_mark_and_hints_json_arrays():
    bom_line = "\ufeff".encode() + GOOD
    data = GOOD + b"\n" + bom_line + b"\n" + b"[1,\n"
    v = check(data, parts_at("k", len(data), [len(GOOD) + 1]))
    assert [(i["line"], i["kind"]) for i in v.issues] == [(2, "invalid_json"), (3, "invalid_json")]
    assert "JSON array" not in v.issues[1]["message"]  # only a first line gets that hint
    start = check(b"[1,\n" + GOOD, plan_parts([("k", 5 + len(GOOD))], 3))
    assert "JSON array" in start.issues[0]["message"]
    # a byte order mark at the start is dropped even when the block also holds invalid UTF-8
    assert check(bom_line + b"\n\xff", [Part("k", 0, len(bom_line) + 2, len(bom_line) + 2)]).issues[0]["line"] == 2


def test_named_errors():
    assert "DatasetInvalid" in ERROR_NAMES and "DatasetNotFound" in ERROR_NAMES
    with pytest.raises(DatasetNotFound, match="training_dataset"):
        require_objects("training_dataset", "s3://b/empty/", [])
    error = DatasetInvalid("training_dataset", "s3://b/x", "records")
    assert error.to_dict()["error"] == "DatasetInvalid"
    assert PartResult.from_dict({**PartResult("k", 0, 1, 1).to_dict(), "unknown": 1}) == PartResult("k", 0, 1, 1)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.sampled_from(PIECES), max_size=14),
    final_newline=st.booleans(),
    bom=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=800), max_size=6),
    chunk=st.integers(min_value=1, max_value=64),
    max_errors=st.integers(min_value=1, max_value=5),
)
def test_splitting_never_changes_records_or_errors(lines, final_newline, bom, cuts, chunk, max_errors):
    data = ("\ufeff".encode() if bom else b"") + b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    v = check(data, parts_at("k", len(data), cuts), chunk, max_errors=max_errors)
    assert summary_of(v) == summary_of_whole(data, max_errors=max_errors)
    assert v.bytes == len(data)


def test_dataset_summary_reports_what_was_checked():
    from sagemaker_finetuning.core.datasets.whole import dataset_summary

    merged = {"mode": "sample", "format": "sft",
              "training_dataset": {"records": 1000, "bytes": 250_000, "text_chars": 240_000, "issues": [], "ok": True},
              "validation_dataset": {"skipped": "a hub DataSet"}}
    assert dataset_summary(merged) == {"mode": "sample", "training": {"records": 1000, "bytes": 250_000, "text_chars": 240_000},
                                       "validation": None}
    assert dataset_summary(None) is None and dataset_summary({}) is None
