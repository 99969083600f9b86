"""The streaming engine: one pass, constant memory, C JSON scanner, per-format checks.

Reads any binary stream in chunks (one chunk plus one partial line in memory), parses each line
with the C scanner, checks it with the format's predicate and, only when that fails, with its
diagnosing checker. The first ``max_errors`` problems are kept with their line numbers; all are
counted by kind.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from sagemaker_finetuning.core.datasets.formats import (
    INVALID_JSON,
    INVALID_UTF8,
    NO_RECORDS,
    Format,
    diagnose_record,
    get_format,
)

CHUNK_SIZE = 1 << 20
DEFAULT_MAX_ERRORS = 20


@dataclass(frozen=True)
class Issue:
    line: int
    kind: str
    message: str
    source: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.source else f"line {self.line}"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Report:
    format: str
    sources: list[str] = field(default_factory=list)
    lines: int = 0
    records: int = 0
    invalid_records: int = 0
    blank_lines: int = 0
    bytes: int = 0
    errors_by_kind: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def valid_records(self) -> int:
        return self.records - self.invalid_records

    @property
    def error_count(self) -> int:
        return sum(self.errors_by_kind.values())

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.errors_by_kind.items())) or "none"
        return (
            f"{self.format}: {self.records} records ({self.valid_records} valid, "
            f"{self.invalid_records} invalid), {self.blank_lines} blank lines, {self.bytes} bytes "
            f"in {self.seconds:.2f}s; errors by kind: {kinds}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "sources": list(self.sources),
            "ok": self.ok,
            "lines": self.lines,
            "records": self.records,
            "valid_records": self.valid_records,
            "invalid_records": self.invalid_records,
            "blank_lines": self.blank_lines,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 4),
            "errors": self.error_count,
            "errors_by_kind": dict(sorted(self.errors_by_kind.items())),
            "issues": [
                {"source": i.source, "line": i.line, "kind": i.kind, "message": i.message}
                for i in self.issues
            ],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------------
# The streaming core


class Reader(Protocol):
    def read(self, size: int = ...) -> bytes: ...


class State:
    """Where a pass stands. ``origin``: the stream starts at the first byte of its object (a byte
    order mark and the "looks like a JSON array" hint apply only there; a part of an object that
    starts further in does not). ``text_chars``: when not None, the characters of every string
    value of the parsed records are added to it (the text size a token estimate needs)."""

    __slots__ = ("report", "spec", "max_errors", "source", "line_no", "origin", "text_chars")

    def __init__(self, report: Report, spec: Format, max_errors: int, source: str | None, *,
                 origin: bool = True, count_text: bool = False):
        self.report = report
        self.spec = spec
        self.max_errors = max_errors
        self.source = source
        self.line_no = 0
        self.origin = origin
        self.text_chars: int | None = 0 if count_text else None

    def add(self, line: int, kind: str, message: str) -> None:
        r = self.report
        r.errors_by_kind[kind] += 1
        if len(r.issues) < self.max_errors:
            r.issues.append(Issue(line, kind, message, self.source))


_BOM = "\ufeff".encode()
_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner json.loads uses (CPython)


def text_chars(value: Any) -> int:
    """The characters of every string value (not the keys) in a parsed JSON value."""
    t = type(value)
    if t is str:
        return len(value)
    if t is not dict and t is not list:
        return 0
    n = 0
    for v in value.values() if t is dict else value:
        tv = type(v)
        if tv is str:
            n += len(v)
        elif tv is dict or tv is list:
            n += text_chars(v)
    return n


def _check_lines(lines: list[str], st: State) -> None:
    """The hot loop: parse and check a batch of complete lines (str, no newline)."""
    spec = st.spec
    fast = spec.fast
    scan = _SCAN
    report = st.report
    n = st.line_no
    records = 0
    blank = 0
    chars = st.text_chars
    measure = text_chars if chars is not None else None
    for line in lines:
        n += 1
        try:
            obj, end = scan(line, 0)
        except (StopIteration, ValueError, RecursionError):
            if not line or line.isspace():
                blank += 1
                continue
            # Not at the first character of the line: find out why with the full parser.
            ln = len(line) - len(line.lstrip())
            try:
                obj, end = scan(line, ln)
            except (StopIteration, ValueError, RecursionError):
                records += 1
                report.invalid_records += 1
                st.add(n, INVALID_JSON, _json_error(line, n if st.origin else 0))
                continue
        records += 1
        if end != len(line) and not line[end:].isspace():
            report.invalid_records += 1
            st.add(n, INVALID_JSON, f"extra data after the JSON value at column {end + 1}")
            continue
        if measure is not None:
            chars += measure(obj)  # type: ignore[operator]
        if fast is not None and fast(obj):
            continue
        problems = diagnose_record(obj, spec.name)
        if problems:
            report.invalid_records += 1
            for kind, msg in problems:
                st.add(n, kind, msg)
    st.line_no = n
    st.text_chars = chars
    report.records += records
    report.blank_lines += blank


def _json_error(line: str, n: int) -> str:
    """Why ``line`` is not JSON (``n``: its line number; 1 only for an object's first line)."""
    try:
        json.loads(line)
    except json.JSONDecodeError as e:
        msg = f"{e.msg} at column {e.colno}"
    except RecursionError:
        msg = "nested too deeply to parse"
    except ValueError as e:  # pragma: no cover - defensive
        msg = str(e)
    else:  # pragma: no cover - scan and loads disagree
        msg = "not valid JSON"
    stripped = line.lstrip()
    if n == 1 and stripped.startswith("["):
        msg += " (this looks like a JSON array; the dataset must be JSON Lines: one object per line)"
    elif stripped.startswith("{") and not stripped.rstrip().endswith("}"):
        msg += " (is a record split over several lines? each record must be on one line)"
    return msg


def feed_block(block: bytes, st: State) -> None:
    """Check a block of complete lines (bytes, newline-separated, without the last line's newline);
    on invalid UTF-8 fall back to line by line. A byte order mark is dropped at an object's start."""
    if st.line_no == 0 and st.origin and block.startswith(_BOM):
        block = block[len(_BOM):]
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        for raw in block.split(b"\n"):
            try:
                _check_lines([raw.decode("utf-8")], st)
            except UnicodeDecodeError as e:
                st.line_no += 1
                st.report.records += 1
                st.report.invalid_records += 1
                st.add(st.line_no, INVALID_UTF8, f"byte {e.start + 1} is not valid UTF-8 ({e.reason})")
        return
    _check_lines(text.split("\n"), st)


def consume(reader: Reader, st: State, chunk_size: int) -> None:
    report = st.report
    pending: list[bytes] = []  # the start of the current line (a long line: several chunks, joined once)
    read = reader.read
    while True:
        chunk = read(chunk_size)
        if not chunk:
            break
        report.bytes += len(chunk)
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending.append(chunk)  # one (long) line so far: keep reading
            continue
        feed_block(b"".join([*pending, chunk[:cut]]) if pending else chunk[:cut], st)
        pending = [chunk[cut + 1:]] if cut + 1 < len(chunk) else []
    if pending:
        feed_block(b"".join(pending), st)
    report.lines += st.line_no


def finish(report: Report, spec: Format, started: float) -> Report:
    if report.records == 0:
        report.errors_by_kind[NO_RECORDS] += 1
        report.issues.append(Issue(0, NO_RECORDS, "the dataset has no records"))
    elif report.records < spec.min_records:
        report.warnings.append(
            f"only {report.records} records; {spec.name} training needs at least {spec.min_records}"
        )
    report.seconds = time.perf_counter() - started
    return report


def validate_stream(
    reader: Reader,
    fmt: str,
    *,
    source: str | None = None,
    max_errors: int = DEFAULT_MAX_ERRORS,
    chunk_size: int = CHUNK_SIZE,
) -> Report:
    """Validate one binary stream (anything with ``read(n) -> bytes``)."""
    spec = get_format(fmt)
    started = time.perf_counter()
    report = Report(format=spec.name, sources=[source] if source else [])
    consume(reader, State(report, spec, max_errors, None), chunk_size)
    return finish(report, spec, started)


def validate_lines(lines: Iterable[str], fmt: str, *, max_errors: int = DEFAULT_MAX_ERRORS) -> Report:
    """Validate in-memory lines (convenience for tests and small inputs)."""
    spec = get_format(fmt)
    started = time.perf_counter()
    report = Report(format=spec.name)
    st = State(report, spec, max_errors, None)
    _check_lines([line.rstrip("\n") for line in lines], st)
    report.lines = st.line_no
    return finish(report, spec, started)
