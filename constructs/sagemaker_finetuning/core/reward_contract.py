"""The contract between SageMaker AI RLVR training and a reward function Lambda. Pure, stdlib only.

Two contracts exist (the reward Lambda contract of SageMaker AI serverless RLVR, as SDK v3's
``RLVRTrainer`` and ``verify_reward_function`` use it):

  * ``open-weights`` (Llama, Qwen, GPT-OSS, ...): the event is ``{"batch": [sample, ...]}``; the
    reply is ``{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body":
    "<JSON list of results>"}`` (an error: ``statusCode`` 400, ``body`` ``{"error": ...}``);
  * ``nova`` (Nova 2.0 Lite): the event is a bare list of samples; the reply a bare list of results.

A result is ``{"id": str, "aggregate_reward_score": number in [-1, 1], "metrics_list": [{"name":
str, "value": number, "type": "Reward" | "Metric"}, ...]}``, one per sample, in sample order,
with the sample's id when it has one.

Used before a training job starts (invoke the function on a few dataset samples and check the
reply) and by ``sagemaker_finetuning.tools.reward_check`` (check a handler locally). Nothing here calls AWS.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

# The reward Lambda imports this module at cold start: typing is only read by the type checker
# (importing it at run time would cost ~2 ms per cold start, see bench/reward_bench.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, Literal, TypeAlias, TypedDict

    from typing_extensions import TypeIs

    #: A metric's type: "Reward" (a component that counts towards the score) or "Metric" (a diagnostic).
    MetricType: TypeAlias = Literal["Reward", "Metric"]

    class RewardMetric(TypedDict):
        """One entry of a result's ``metrics_list``."""

        name: str
        value: float
        type: MetricType

    class RewardResult(TypedDict):
        """The result for one sample."""

        id: str
        aggregate_reward_score: float
        metrics_list: list[RewardMetric]

    class OpenWeightsReply(TypedDict):
        """The open-weights reply: ``body`` holds the JSON list of results (statusCode 200) or
        ``{"error": ...}`` (statusCode 400)."""

        statusCode: int
        headers: dict[str, str]
        body: str

    class ErrorReply(TypedDict):
        """A nova-contract error reply (Nova has no error envelope)."""

        error: str

    #: What a reward function returns: the open-weights envelope, or (nova) a bare list of results / an error.
    Reply: TypeAlias = OpenWeightsReply | list[RewardResult] | ErrorReply

OPEN_WEIGHTS = "open-weights"
NOVA = "nova"
CONTRACTS = (OPEN_WEIGHTS, NOVA)
METRIC_TYPES = ("Reward", "Metric")
RESULT_KEYS = ("id", "aggregate_reward_score", "metrics_list")
HISTOGRAM_BUCKETS = 10

#: Accepted spellings of the contract names (the reward handler's REWARD_CONTRACT and the checker).
CONTRACT_ALIASES = {
    "open-weights": OPEN_WEIGHTS, "open_weights": OPEN_WEIGHTS, "openweights": OPEN_WEIGHTS, "oss": OPEN_WEIGHTS,
    "nova": NOVA, "nova-2-lite": NOVA, "nova-2.0-lite": NOVA,
}


def normalize_contract(contract: object) -> str:
    """``"open-weights"`` or ``"nova"`` (aliases: oss, open_weights, nova-2-lite); ValueError otherwise."""
    name = CONTRACT_ALIASES.get(str(contract).strip().lower()) if isinstance(contract, str) else None
    if name is None:
        raise ValueError('contract received %r; expected "open-weights" or "nova".' % (contract,))
    return name


def expected_id(sample: object, id_key: str = "id") -> str | None:
    """The id a result must carry for ``sample``: ``str(sample[id_key])``, or None when the sample
    has no id (the function may then choose one, e.g. ``sample-007``)."""
    if isinstance(sample, dict):
        value = sample.get(id_key)
        if value is not None and value != "":
            return value if isinstance(value, str) else str(value)
    return None


def build_event(samples: Iterable[Any], contract: str) -> dict[str, list[Any]] | list[Any]:
    """The event the service sends for ``samples``: ``{"batch": [...]}`` (open-weights) or the
    bare list (nova)."""
    contract = normalize_contract(contract)
    samples = list(samples)
    return {"batch": samples} if contract == OPEN_WEIGHTS else samples


@dataclass
class ContractReport:
    """The verdict on one reply. ``ok`` is true when there is no violation; ``warnings`` never
    fail the check. Score statistics cover the results whose score is valid."""

    contract: str
    ok: bool
    sample_count: int
    result_count: int = 0
    violations: list[str] = field(default_factory=list)
    violation_count: int = 0
    warnings: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    score_min: float | None = None
    score_mean: float | None = None
    score_max: float | None = None
    histogram: list[tuple[float, float, int]] = field(default_factory=list)  # [(low, high, count)], HISTOGRAM_BUCKETS over [-1, 1]
    metric_counts: dict[str, int] = field(default_factory=dict)  # metric name -> number of results reporting it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self, max_lines: int = 20) -> str:
        """A human-readable report."""
        verdict = "OK" if self.ok else "FAILED (%d violation%s)" % (self.violation_count, "" if self.violation_count == 1 else "s")
        lines = [
            "reward function contract check (%s): %s" % (self.contract, verdict),
            "  samples sent: %d, results received: %d" % (self.sample_count, self.result_count),
        ]
        if self.scores:
            # check_reply sets the statistics together with the scores.
            assert self.score_min is not None and self.score_mean is not None and self.score_max is not None
            lines.append("  scores: min %.4g, mean %.4g, max %.4g over %d results"
                         % (self.score_min, self.score_mean, self.score_max, len(self.scores)))
            peak = max(count for _, _, count in self.histogram) or 1
            for low, high, count in self.histogram:
                bar = "#" * int(round(30 * count / peak))
                closing = "]" if high == 1.0 else ")"
                lines.append("    [%+.1f, %+.1f%s %6d %s" % (low, high, closing, count, bar))
        if self.metric_counts:
            shown = ", ".join("%s (%d)" % item for item in sorted(self.metric_counts.items())[:12])
            more = len(self.metric_counts) - 12
            lines.append("  metrics: " + shown + (", ... %d more" % more if more > 0 else ""))
        for title, items in (("violations", self.violations), ("warnings", self.warnings)):
            if items:
                lines.append("  %s:" % title)
                lines.extend("    - " + item for item in items[:max_lines])
                if len(items) > max_lines:
                    lines.append("    ... %d more" % (len(items) - max_lines))
        if self.violation_count > len(self.violations):
            lines.append("    (%d violations in all; the first %d are listed)" % (self.violation_count, len(self.violations)))
        return "\n".join(lines)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _show(value: object, limit: int = 80) -> str:
    try:
        text = json.dumps(value, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: object) -> TypeIs[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class _Collector:
    """The first ``limit`` messages, and how many there were in all."""

    def __init__(self, limit: int) -> None:
        self.items: list[str] = []
        self.count = 0
        self.limit = limit

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append(message)


def unwrap_reply(reply: object, contract: str) -> tuple[list[Any] | None, list[str]]:
    """``(results, problems)``: the list of results inside ``reply`` (None if there is none) and
    the envelope violations found on the way."""
    contract = normalize_contract(contract)
    problems: list[str] = []
    if contract == NOVA:
        if isinstance(reply, list):
            return reply, problems
        if isinstance(reply, dict) and "statusCode" in reply:
            problems.append(
                "reply: received an open-weights envelope (statusCode %s); the nova contract expects a bare "
                "list of results" % _show(reply.get("statusCode"))
            )
        elif isinstance(reply, dict) and "error" in reply:
            problems.append("reply: the function answered an error: %s" % _show(reply.get("error"), 300))
        else:
            problems.append("reply: received %s; the nova contract expects a bare list of results" % _kind(reply))
        return None, problems

    if not isinstance(reply, dict):
        hint = " (a bare list is the nova contract)" if isinstance(reply, list) else ""
        problems.append(
            "reply: received %s%s; the open-weights contract expects an object "
            '{"statusCode": 200, "headers": {...}, "body": "<JSON list>"}' % (_kind(reply), hint)
        )
        return None, problems
    status = reply.get("statusCode")
    body = reply.get("body")
    if status != 200 or isinstance(status, bool):
        detail = ""
        if isinstance(body, str):
            try:
                parsed = json.loads(body)
                if isinstance(parsed, dict) and "error" in parsed:
                    detail = "; error: %s" % _show(parsed["error"], 300)
            except ValueError:
                pass
        if status is None and "error" in reply:
            detail = "; error: %s" % _show(reply["error"], 300)
        problems.append("reply.statusCode: received %s; expected 200%s" % (_show(status), detail))
        if status is not None and status != 200:
            return None, problems
    if not isinstance(body, str):
        problems.append("reply.body: received %s; expected a string holding a JSON list of results" % _kind(body))
        return None, problems
    try:
        results = json.loads(body)
    except ValueError as exc:
        problems.append("reply.body: not valid JSON (%s): %s" % (exc, _show(body)))
        return None, problems
    if not isinstance(results, list):
        problems.append("reply.body: holds %s %s; expected a JSON list of results" % (_kind(results), _show(results)))
        return None, problems
    return results, problems


def _headers_warning(reply: object) -> str | None:
    if not isinstance(reply, dict):
        return None
    headers = reply.get("headers")
    if not isinstance(headers, dict):
        return 'reply.headers: missing; expected {"Content-Type": "application/json"}'
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == "content-type":
            if isinstance(value, str) and value.split(";")[0].strip().lower() == "application/json":
                return None
            return "reply.headers: Content-Type is %s; expected application/json" % _show(value)
    return 'reply.headers: no Content-Type; expected "application/json"'


def check_reply(
    samples: Iterable[Any], reply: object, contract: str, *, id_key: str = "id", max_violations: int = 200
) -> ContractReport:
    """Check ``reply`` (what the function returned for ``build_event(samples, contract)``)."""
    contract = normalize_contract(contract)
    samples = list(samples)
    violations = _Collector(max_violations)
    warnings: list[str] = []
    report = ContractReport(contract=contract, ok=False, sample_count=len(samples))

    results, problems = unwrap_reply(reply, contract)
    for problem in problems:
        violations.add(problem)
    if contract == OPEN_WEIGHTS and results is not None:
        warning = _headers_warning(reply)
        if warning:
            warnings.append(warning)

    scores: list[float] = []
    if results is not None:
        report.result_count = len(results)
        check = _ResultsCheck(samples, id_key, violations, warnings)
        check.results(results)
        scores = check.scores
        report.metric_counts = check.metric_counts

    report.violations = violations.items
    report.violation_count = violations.count
    report.warnings = warnings
    report.ok = violations.count == 0
    report.scores = scores
    if scores:
        report.score_min = min(scores)
        report.score_max = max(scores)
        report.score_mean = math.fsum(scores) / len(scores)
    report.histogram = histogram(scores)
    return report


class _ResultsCheck:
    """The checks of check_reply on the list of results, in result order: violations and warnings
    go to the collectors it is given; it gathers the valid scores and the metric names."""

    def __init__(self, samples: list[Any], id_key: str, violations: _Collector, warnings: list[str]) -> None:
        self.violations = violations
        self.warnings = warnings
        self.wanted = [expected_id(s, id_key) for s in samples]
        self.position: dict[str, int] = {}  # sample id -> index of the first sample with it
        for i, want in enumerate(self.wanted):
            if want is not None:
                self.position.setdefault(want, i)
        self.seen_ids: dict[str, int] = {}  # result id -> index of the result that first carried it
        self.extra_keys: set[object] = set()
        self.scores: list[float] = []
        self.metric_counts: dict[str, int] = {}  # metric name -> number of results reporting it

    def results(self, results: list[Any]) -> None:
        if len(results) != len(self.wanted):
            self.violations.add(
                "results: received %d results for %d samples; expected exactly one result per sample, in order"
                % (len(results), len(self.wanted))
            )
        for i, result in enumerate(results):
            self.result(i, result)
        if self.extra_keys:
            self.warnings.append("results carry keys outside the contract (ignored by the service?): %s"
                                 % ", ".join(sorted(map(str, self.extra_keys))[:10]))
        scores = self.scores
        if len(scores) >= 2 and len(set(scores)) == 1:
            self.warnings.append("every score is %g: the reward gives no learning signal on these samples" % scores[0])
        errors = sorted(name for name in self.metric_counts if name.startswith("error:"))
        if errors:
            self.warnings.append("samples reported as unscorable: "
                                 + ", ".join("%s (%d)" % (name, self.metric_counts[name]) for name in errors))

    def result(self, i: int, result: object) -> None:
        want = self.wanted[i] if i < len(self.wanted) else None
        where = "result %d" % i + (" (sample id %s)" % _show(want) if want is not None else "")
        if not isinstance(result, dict):
            self.violations.add("%s: received %s %s; expected an object with %s"
                                % (where, _kind(result), _show(result), ", ".join(RESULT_KEYS)))
            return
        self.extra_keys.update(k for k in result if k not in RESULT_KEYS)
        self.result_id(where, i, want, result.get("id"))
        self.score(where, result)
        self.metrics(where, result)

    def result_id(self, where: str, i: int, want: str | None, rid: object) -> None:
        if not isinstance(rid, str) or not rid:
            self.violations.add("%s: id is %s %s; expected a non-empty string" % (where, _kind(rid), _show(rid)))
            return
        if want is not None and rid != want:
            other = self.position.get(rid)
            hint = " (that is the id of sample %d: results out of order?)" % other if other is not None else ""
            self.violations.add("%s: id is %s; expected %s, the id of sample %d%s"
                                % (where, _show(rid), _show(want), i, hint))
        if rid in self.seen_ids and rid != want:  # (samples may repeat an id themselves)
            self.violations.add("%s: id %s repeats result %d; expected one result per sample"
                                % (where, _show(rid), self.seen_ids[rid]))
        else:
            self.seen_ids[rid] = i

    def score(self, where: str, result: dict[Any, Any]) -> None:
        if "aggregate_reward_score" not in result:
            self.violations.add("%s: aggregate_reward_score is missing; expected a finite number in [-1, 1]" % where)
            return
        score = result["aggregate_reward_score"]
        if not _is_number(score) or not math.isfinite(score) or not -1.0 <= score <= 1.0:
            self.violations.add("%s: aggregate_reward_score is %s %s; expected a finite number in [-1, 1]"
                                % (where, _kind(score), _show(score)))
        else:
            self.scores.append(float(score))

    def metrics(self, where: str, result: dict[Any, Any]) -> None:
        metrics = result.get("metrics_list")
        if "metrics_list" not in result:
            self.violations.add("%s: metrics_list is missing; expected a list of {name, value, type} (may be empty)" % where)
        elif not isinstance(metrics, list):
            self.violations.add("%s: metrics_list is %s %s; expected a list of {name, value, type}"
                                % (where, _kind(metrics), _show(metrics)))
        else:
            names: set[str] = set()
            for j, metric in enumerate(metrics):
                self.metric("%s: metrics_list[%d]" % (where, j), metric, names)
            for name in names:
                self.metric_counts[name] = self.metric_counts.get(name, 0) + 1

    def metric(self, mwhere: str, metric: object, names: set[str]) -> None:
        """Check one entry of a metrics_list; ``names``: the names seen so far in that list."""
        if not isinstance(metric, dict):
            self.violations.add("%s is %s %s; expected {name, value, type}" % (mwhere, _kind(metric), _show(metric)))
            return
        name, value, kind = metric.get("name"), metric.get("value"), metric.get("type")
        if not isinstance(name, str) or not name:
            self.violations.add("%s.name is %s %s; expected a non-empty string" % (mwhere, _kind(name), _show(name)))
        else:
            if name in names:
                self.warnings.append("%s: metric %s appears twice in one result" % (mwhere, _show(name)))
            names.add(name)
        if not _is_number(value) or not math.isfinite(value):
            self.violations.add("%s.value is %s %s; expected a finite number" % (mwhere, _kind(value), _show(value)))
        if kind not in METRIC_TYPES:
            self.violations.add('%s.type is %s; expected "Reward" or "Metric"' % (mwhere, _show(kind)))


def histogram(scores: Sequence[float], buckets: int = HISTOGRAM_BUCKETS) -> list[tuple[float, float, int]]:
    """``[(low, high, count)]``: ``buckets`` equal intervals over [-1, 1] (the last one closed)."""
    counts = [0] * buckets
    width = 2.0 / buckets
    for s in scores:
        k = math.floor((s + 1.0) * buckets / 2.0 + 1e-9)  # + 1e-9: -0.8 belongs to [-0.8, -0.6)
        counts[min(max(k, 0), buckets - 1)] += 1
    return [(round(-1.0 + k * width, 10), round(-1.0 + (k + 1) * width, 10), counts[k]) for k in range(buckets)]
