"""Whole-dataset validation before any spend, split into parts that run in parallel (pure, stdlib).

A dataset is one or more S3 objects (a key, or every object under a prefix). :func:`plan_parts`
splits each object into byte ranges ("parts") of at most ``part_bytes``; :func:`validate_part`
checks one part from an iterator of byte chunks (constant memory: one chunk plus one partial
line), with the record formats and the streaming engine the CLI's ``finetune validate-dataset``
uses (:mod:`.formats`, :mod:`.engine`); :func:`merge` adds the parts up into one
:class:`Verdict`, and :meth:`Verdict.problem` names it as :class:`DatasetInvalid`.

**Which part owns a line.** A line belongs to the part in which its first byte lies: part
``[start, end)`` owns every line that starts at an offset ``p`` with ``start <= p < end``, where a
line starts at offset 0 or right after a ``\\n``. So a part whose ``start > 0`` reads from
``start - 1`` and skips up to and including the first ``\\n`` at or after ``start - 1`` (if that
byte is a ``\\n`` itself, the line starting at ``start`` is its first one); it then reads past
``end`` to finish the line that contains byte ``end - 1``, and stops. A line starting exactly at
``end`` is the next part's. ``\\n`` never occurs inside a multi-byte UTF-8 character, so a byte
boundary never splits a character of an owned line, and ``\\r\\n`` endings need nothing special
(the ``\\r`` is trailing whitespace of its line). The empty remainder after a final ``\\n`` is no
line, as in the engine. Every line is checked exactly once, whatever the part size: splitting
changes no record, no count and no message (``tests/core/test_dataset_whole.py`` checks it at
every byte offset and as a property).

**Line numbers.** A part cannot know how many lines precede it; it reports line numbers local to
itself and ``lines``, the count of lines it owns. :func:`merge` orders the parts of an object by
``start``; part *i*'s first line is line ``1 + sum(lines of parts before i)`` (every line a part
owns ends with a ``\\n`` except perhaps the object's very last, so this is also the number of
newlines before the part's first line, plus one).

**Modes.** ``full``: every record of every object. ``sample``: the first ``sample_records``
records of each object (one part per object, starting at byte 0; the part stops reading as soon
as it has them). ``off``: nothing is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from sagemaker_finetuning.core.datasets.engine import DEFAULT_MAX_ERRORS, Report, State, feed_block
from sagemaker_finetuning.core.datasets.formats import NO_RECORDS, get_format
from sagemaker_finetuning.core.errors import DatasetInvalid, DatasetNotFound

MODES = ("full", "sample", "off")
DEFAULT_MODE = "full"
#: Largest byte range one worker checks (a Lambda reads and checks 256 MB in seconds).
DEFAULT_PART_BYTES = 256 * 1024 * 1024
#: Records per object that ``sample`` checks.
DEFAULT_SAMPLE_RECORDS = 1000
#: How many of the first errors a verdict's message names.
ERRORS_NAMED = 5


@dataclass(frozen=True)
class Part:
    """Bytes ``[start, end)`` of object ``key`` (``size`` bytes); see the module docstring."""

    key: str
    start: int
    end: int
    size: int

    @property
    def read_from(self) -> int:
        """The first byte a worker must read: ``start - 1`` (to see whether a line starts at ``start``)."""
        return self.start - 1 if self.start > 0 else 0

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "start": self.start, "end": self.end, "size": self.size}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Part":
        return cls(str(data["key"]), int(data["start"]), int(data["end"]), int(data["size"]))


def plan_parts(objects: Iterable[tuple[str, int]], part_bytes: int = DEFAULT_PART_BYTES, mode: str = DEFAULT_MODE) -> list[Part]:
    """The parts that check ``objects`` (``(key, size)`` pairs), by key, each at most ``part_bytes``.

    Empty objects have no part (they hold no line). ``sample``: one part per object (its records are
    read from the start until there are enough). ``off``: none."""
    check_mode(mode)
    if part_bytes < 1:
        raise ValueError(f"part_bytes: received {part_bytes}; expected a positive number of bytes")
    if mode == "off":
        return []
    parts: list[Part] = []
    for key, size in sorted(objects):
        if size <= 0:
            continue
        step = size if mode == "sample" else part_bytes
        parts.extend(Part(key, start, min(start + step, size), size) for start in range(0, size, step))
    return parts


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: received {mode!r}; expected one of {', '.join(MODES)}")
    return mode


def require_objects(field: str, uri: str, objects: Sequence[tuple[str, int]]) -> None:
    """``DatasetNotFound`` when a listing found nothing (a missing object, an empty prefix)."""
    if not objects:
        raise DatasetNotFound(field, uri, "an S3 object, or a prefix holding at least one non-empty object")


# ----------------------------------------------------------------------------- one part
@dataclass
class PartResult:
    """What one worker found in its part (line numbers local to the part, see :func:`merge`)."""

    key: str
    start: int
    end: int
    size: int
    lines: int = 0
    records: int = 0
    invalid_records: int = 0
    blank_lines: int = 0
    bytes: int = 0
    text_chars: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    #: The part's first errors: ``[local line, kind, message]``.
    issues: list[list[Any]] = field(default_factory=list)
    #: Bytes taken from the chunk iterator (the owned bytes, plus what ownership needed around them).
    read_bytes: int = 0
    #: ``sample``: the part stopped at its record limit before its end.
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PartResult":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


class _Scanner:
    """Feeds the lines a part owns to the engine, chunk by chunk (see the module docstring). A line
    longer than a chunk is kept as a list of chunks and joined once: linear in its length."""

    def __init__(self, part: Part, st: State, max_records: int | None):
        self.part, self.st, self.limit = part, st, max_records
        self.pos = part.read_from  # absolute offset of the first pending byte
        self.pending: list[bytes] = []  # the start of a line that began before the current chunk
        self.skipping = part.start > 0
        self.done = False
        self.owned = 0
        self.read = 0

    def push(self, chunk: bytes) -> None:
        self.read += len(chunk)
        if self.skipping:
            i = chunk.find(b"\n")
            if i < 0:
                self.pos += len(chunk)
                self.done = self.pos >= self.part.end  # no line starts in [start, end)
                return
            chunk, self.pos, self.skipping = chunk[i + 1:], self.pos + i + 1, False
            self.done = self.pos >= self.part.end
            if self.done or not chunk:
                return
        elif b"\n" not in chunk:
            self.pending.append(chunk)  # still inside one (owned) line
            return
        buf = b"".join([*self.pending, chunk]) if self.pending else chunk
        self.pending = []
        last = self.part.end - 1 - self.pos  # index of the last byte an owned line may start at
        if last < len(buf):
            nl = buf.find(b"\n", last)
            if nl >= 0:
                self.feed(buf[:nl], terminated=True)
                self.done = True
                return
        cut = buf.rfind(b"\n")
        if cut >= 0:
            self.feed(buf[:cut], terminated=True)
            self.pos += cut + 1
            self.done = self.done or self.pos >= self.part.end  # the next line starts at or after ``end``
            buf = buf[cut + 1:]
        if buf:
            self.pending.append(buf)

    def finish(self) -> None:
        """End of the object: its last line has no newline."""
        if not self.done and not self.skipping and self.pending and self.pos < self.part.end:
            self.feed(b"".join(self.pending), terminated=False)
        self.pending = []

    def feed(self, block: bytes, *, terminated: bool) -> None:
        if self.done:
            return
        if self.limit is None:
            feed_block(block, self.st)
            self.owned += len(block) + terminated
            return
        lines = block.split(b"\n")
        for i, line in enumerate(lines):
            if self.st.report.records >= self.limit:
                self.done = True
                return
            feed_block(line, self.st)
            self.owned += len(line) + (terminated or i < len(lines) - 1)
        if self.st.report.records >= self.limit:
            self.done = True


def validate_part(
    part: Part,
    chunks: Iterable[bytes],
    fmt: str,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    max_records: int | None = None,
) -> PartResult:
    """Check the lines ``part`` owns. ``chunks`` yields the object's bytes from ``part.read_from``
    on, in any sizes; it is read lazily and only as far as needed (to the end of the line holding
    byte ``end - 1``, or to the ``max_records``-th record), never to the end of the object."""
    spec = get_format(fmt)
    report = Report(format=spec.name)
    st = State(report, spec, max_errors, None, origin=part.start == 0, count_text=True)
    scanner = _Scanner(part, st, max_records)
    for chunk in chunks:
        if chunk:
            scanner.push(chunk)
        if scanner.done:
            break
    else:
        scanner.finish()
    truncated = max_records is not None and report.records >= max_records and scanner.read < part.size - part.read_from
    return PartResult(
        part.key, part.start, part.end, part.size, lines=st.line_no, records=report.records,
        invalid_records=report.invalid_records, blank_lines=report.blank_lines, bytes=scanner.owned,
        text_chars=st.text_chars or 0, errors_by_kind=dict(report.errors_by_kind),
        issues=[[i.line, i.kind, i.message] for i in report.issues], read_bytes=scanner.read, truncated=truncated,
    )


# ----------------------------------------------------------------------------- the verdict
@dataclass
class Verdict:
    """The whole dataset: totals, and its first errors with object key and line number."""

    format: str
    mode: str
    objects: int = 0
    parts: int = 0
    lines: int = 0
    records: int = 0
    invalid_records: int = 0
    blank_lines: int = 0
    bytes: int = 0
    text_chars: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    #: The first errors: ``{"key", "line", "kind", "message"}`` (line 0: the dataset as a whole).
    issues: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors_by_kind

    @property
    def error_count(self) -> int:
        return sum(self.errors_by_kind.values())

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.update(ok=self.ok, errors=self.error_count, valid_records=self.records - self.invalid_records)
        return out

    def problem(self, field: str, uri: str, technique: str | None = None, model_id: str | None = None) -> DatasetInvalid | None:
        """The named error for a failed verdict (None when the dataset is valid)."""
        if self.ok:
            return None
        spec = get_format(self.format)
        whose = f" {technique} expects" + (f" for {model_id}" if model_id else "") if technique else ""
        shown = "; ".join(
            (f"{i['key']} line {i['line']}: " if i["line"] else f"{i['key'] or uri}: ") + f"{i['kind']}: {i['message']}"
            for i in self.issues[:ERRORS_NAMED]
        )
        if self.records == 0:
            expected = f"JSON Lines records in the {spec.name} format{whose} ({spec.description}); the dataset has none"
        else:
            kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.errors_by_kind.items()))
            scope = "" if self.mode == "full" else f" (mode {self.mode}: the first records of each object)"
            expected = (f"every record in the {spec.name} format{whose} ({spec.description}); "
                        f"{self.invalid_records} of {self.records} records checked{scope} are not ({kinds})")
        return DatasetInvalid(field, uri, expected, f"First errors: {shown}" if shown else None)


def merge(
    results: Iterable[PartResult | Mapping[str, Any]], fmt: str, *, mode: str = DEFAULT_MODE, max_errors: int = DEFAULT_MAX_ERRORS
) -> Verdict:
    """Add the parts of a dataset up: absolute line numbers, totals, the first ``max_errors``
    errors in dataset order (objects by key, then line). ``ValueError`` when the parts of an object
    do not tile it (``full``) or do not start at its first byte (``sample``): a plumbing fault,
    never the user's."""
    spec = get_format(fmt)
    verdict = Verdict(format=spec.name, mode=check_mode(mode))
    parts = sorted((r if isinstance(r, PartResult) else PartResult.from_dict(r) for r in results), key=lambda r: (r.key, r.start))
    kinds: Counter[str] = Counter()
    offset, previous = 0, None
    for r in parts:
        if previous is None or r.key != previous.key:
            _check_tiling(previous, mode)
            _check_first(r, mode)
            offset, verdict.objects = 0, verdict.objects + 1
        elif r.start != previous.end:
            raise ValueError(f"parts of {r.key} do not tile it: a part ends at {previous.end}, the next starts at {r.start}")
        for line, kind, message in r.issues:
            if len(verdict.issues) < max_errors:
                verdict.issues.append({"key": r.key, "line": offset + int(line), "kind": kind, "message": message})
        kinds.update(r.errors_by_kind)
        _add_totals(verdict, r)
        offset, previous = offset + r.lines, r
    _check_tiling(previous, mode)
    _finish(verdict, kinds, spec.min_records, max_errors)
    return verdict


def _add_totals(verdict: Verdict, r: PartResult) -> None:
    verdict.parts += 1
    verdict.lines += r.lines
    verdict.records += r.records
    verdict.invalid_records += r.invalid_records
    verdict.blank_lines += r.blank_lines
    verdict.bytes += r.bytes
    verdict.text_chars += r.text_chars


def _check_first(r: PartResult, mode: str) -> None:
    if r.start != 0:
        raise ValueError(f"parts of {r.key} do not tile it: its first part starts at {r.start}")
    if mode == "off":
        raise ValueError("mode off checks no part")


def _check_tiling(last: PartResult | None, mode: str) -> None:
    if last is not None and mode == "full" and last.end != last.size:
        raise ValueError(f"parts of {last.key} do not tile it: the last part ends at {last.end} of {last.size} bytes")


def _finish(verdict: Verdict, kinds: Counter[str], min_records: int, max_errors: int) -> None:
    if verdict.mode == "off":
        verdict.errors_by_kind = dict(sorted(kinds.items()))
        return
    if verdict.records == 0:
        kinds[NO_RECORDS] += 1
        if len(verdict.issues) < max_errors:
            verdict.issues.append({"key": None, "line": 0, "kind": NO_RECORDS, "message": "the dataset has no records"})
    elif verdict.records < min_records and verdict.mode == "full":
        verdict.warnings.append(f"only {verdict.records} records; {verdict.format} training needs at least {min_records}")
    verdict.errors_by_kind = dict(sorted(kinds.items()))


def dataset_summary(merged: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a run's output reports of the validation (``merge_parts``' output): the mode, and per dataset the
    records, bytes and text characters checked (the inputs of a token estimate); ``None`` when nothing ran."""
    if not merged:
        return None
    out: dict[str, Any] = {"mode": merged.get("mode")}
    for input_field, name in (("training_dataset", "training"), ("validation_dataset", "validation")):
        verdict = merged.get(input_field)
        out[name] = None if not isinstance(verdict, Mapping) or "records" not in verdict else {
            "records": verdict["records"], "bytes": verdict["bytes"], "text_chars": verdict["text_chars"]}
    return out
