"""Per-sample parsing and scoring. Pure, stdlib only, never raises for a bad sample.

A sample that cannot be scored gets ``aggregate_reward_score`` 0.0 and one diagnostic metric
``error:<code>`` (value 1, type "Metric"). Codes:

  * ``invalid_sample``: the sample is not a JSON object;
  * ``invalid_messages``: ``messages`` / ``prompt`` is neither a list nor a string;
  * ``missing_response``: no assistant (or nova_assistant) turn, and no ``response``/``completion``;
  * ``invalid_response``: the response content is not text (str, text chunks, dict with text);
  * ``missing_ground_truth``: a component needs the ground truth and the sample has none;
  * ``invalid_ground_truth``: the ground truth is not text, a number, or a known dict shape;
  * ``ground_truth_not_numeric`` / ``ground_truth_not_a_choice``: the ground truth does not fit
    the configured component;
  * ``internal``: an unexpected error while scoring (the first few of a batch are logged to stderr).
"""

from __future__ import annotations

import gc
import json
import sys
from json.encoder import encode_basestring_ascii as _enc

from .components import METRIC, GroundTruth, SampleError, SampleView
from .extract import content_text

# typing is only read by the type checker: importing it at run time would add ~2 ms to the cold
# start of the reward Lambda (bench/reward_bench.py), and the annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, Literal, TypeAlias, TypeVar

    from typing_extensions import TypeIs

    from sagemaker_finetuning.core.reward_contract import RewardMetric, RewardResult

    from .components import Answers, Component

    _K = TypeVar("_K")
    _V = TypeVar("_V")
    #: A sample of the batch (a JSON object).
    Sample: TypeAlias = dict[str, Any]
    #: The values of the components for one sample, in component order.
    Values: TypeAlias = tuple[float, ...]
    #: Diagnostic "Metric" entries: (name, value).
    Diagnostics: TypeAlias = tuple[tuple[str, float], ...]
    #: The outcome key of a sample with diagnostics: (values, diagnostics, vetoed).
    DiagnosedKey: TypeAlias = tuple[Values, Diagnostics, bool]
    #: What identifies a sample's outcome (see Scorer._evaluate): its values, or a DiagnosedKey.
    OutcomeKey: TypeAlias = Values | DiagnosedKey
    #: (aggregate, values, diagnostics) of an outcome.
    Outcome: TypeAlias = tuple[float, Values, Diagnostics]
    #: Scorer._gt_cache values. Under a ground-truth text: its GroundTruth, _NO_GROUND_TRUTH or the
    #: (code, detail) of its SampleError; under a tuple of answers: their shared GroundTruth.
    CachedGroundTruth: TypeAlias = GroundTruth | tuple[()] | tuple[str, str]

ASSISTANT_ROLES = ("assistant", "nova_assistant")
# Keys tried, in order, when ``reference_answer`` (or ``reward_model.ground_truth``) is an object.
GROUND_TRUTH_KEYS = (
    "ground_truth", "answer", "text", "label", "solution", "sentiment", "polarity", "target", "expected", "reference",
)
_RESPONSE_KEYS = ("response", "completion")
_GT_CACHE_LIMIT = 4096
_OUTCOME_CACHE_LIMIT = 4096
_NO_GROUND_TRUTH = ()  # cached for a ground truth without any answer (the only falsy entry)
_INTERNAL_LOG_LIMIT = 3


def sample_id(sample: object, index: int, id_key: str = "id") -> str:
    """The result id: ``sample[id_key]`` as a string, else ``sample-NNN`` (zero-padded index)."""
    if type(sample) is dict:
        value = sample.get(id_key)
        if type(value) is str:
            if value:
                return value
        elif value is not None:
            return str(value)
    return "sample-%03d" % index


def _turns(sample: Sample) -> tuple[str, str]:
    """``(response, prompt)`` texts of a sample; raises SampleError."""
    messages = sample.get("messages")
    if messages is None:
        messages = sample.get("prompt")
    prompt = ""
    if type(messages) is list:
        k = len(messages) - 1
        while k >= 0:
            m = messages[k]
            if type(m) is dict and m.get("role") in ASSISTANT_ROLES:
                response = content_text(m.get("content"))
                if response is None:
                    raise SampleError("invalid_response", "assistant content is %s" % type(m.get("content")).__name__)
                j = k - 1
                while j >= 0:
                    u = messages[j]
                    if type(u) is dict and u.get("role") == "user":
                        prompt = content_text(u.get("content")) or ""
                        break
                    j -= 1
                return response, prompt
            k -= 1
        for m in reversed(messages):
            if type(m) is dict and m.get("role") == "user":
                prompt = content_text(m.get("content")) or ""
                break
    elif type(messages) is str:
        prompt = messages
    elif messages is not None:
        raise SampleError("invalid_messages", "messages is %s" % type(messages).__name__)
    for key in _RESPONSE_KEYS:
        value = sample.get(key)
        if value is not None:
            response = content_text(value)
            if response is None:
                raise SampleError("invalid_response", "%s is %s" % (key, type(value).__name__))
            return response, prompt
    raise SampleError("missing_response", "no assistant turn")


class Scorer:
    """Scores samples with a list of components (see components.build_components).

    ``score_batch`` returns result dicts; ``render_batch`` returns the same results as JSON text
    (what ``json.dumps(score_batch(batch), separators=(",", ":"))`` would give), built from
    fragments precomputed per component, which is several times faster than encoding dicts.
    """

    def __init__(self, components: Sequence[Component], id_key: str = "id") -> None:
        if not components:
            raise ValueError("at least one component is required")
        self.components = tuple(components)
        self.id_key = id_key
        self.needs_ground_truth = any(c.needs_ground_truth for c in self.components)
        self._scores = tuple(c.score for c in self.components)
        self._values = _values_function(self._scores)
        self._weights = tuple((c.weight, c.penalty) for c in self.components)
        self._names = tuple((c.name, c.metric_type) for c in self.components)
        # JSON fragments: per component, value -> '{"name":...,"value":...,"type":...}'.
        self._frag_parts = tuple(
            ('{"name":%s,"value":' % _enc(c.name), ',"type":%s}' % _enc(c.metric_type)) for c in self.components
        )
        self._tails: dict[OutcomeKey, str] = {}  # outcome key -> JSON text after the id
        self._outcomes: dict[OutcomeKey, Outcome] = {}  # outcome key -> (aggregate, values, diagnostics)
        self._gt_cache: dict[str | Answers, CachedGroundTruth] = {}
        self._internal_errors = 0

    # -- ground truth ----------------------------------------------------------------------
    def ground_truth(self, sample: Sample) -> GroundTruth | None:
        """The sample's GroundTruth (shared by samples with the same answers), or None."""
        value = sample.get("reference_answer")
        if value is None:
            rm = sample.get("reward_model")
            if type(rm) is dict:
                value = rm.get("ground_truth")
            elif rm is not None:
                raise SampleError("invalid_ground_truth", "reward_model is %s" % type(rm).__name__)
            if value is None:
                value = sample.get("ground_truth")
        cache = self._gt_cache
        if type(value) is str:
            got = cache.get(value)
            if got is None:
                try:
                    answers = self._answers(value, 0)
                    got = self._shared(answers) if answers else _NO_GROUND_TRUTH
                except SampleError as exc:
                    got = (exc.code, exc.detail)  # raised anew each time (a cached exception would grow its traceback)
                if len(cache) >= _GT_CACHE_LIMIT:
                    cache.clear()
                cache[value] = got
        else:
            answers = self._answers(value, 0)
            got = self._shared(answers) if answers else _NO_GROUND_TRUTH
        if isinstance(got, GroundTruth):
            return got
        if not got:  # _NO_GROUND_TRUTH
            return None
        raise SampleError(*got)

    def _shared(self, answers: Answers) -> GroundTruth:
        cache = self._gt_cache
        got = cache.get(answers)
        if type(got) is GroundTruth:  # (under a tuple of answers, the cache holds GroundTruth objects only)
            return got
        if len(cache) >= _GT_CACHE_LIMIT:
            cache.clear()
        got = cache[answers] = GroundTruth(answers)
        return got

    def _answers(self, value: Any, depth: int) -> Answers | None:
        """The accepted answers in a ground truth (JSON: text, number, object or list); raises SampleError."""
        t = type(value)
        if t is str:
            s = value.strip()
            if not s:
                return None
            if depth == 0 and s[0] in '{"':
                return self._json_answers(s)
            return (s,)
        if value is None:
            return None
        if t is bool:
            return ("true" if value else "false",)
        if t is int or t is float:
            return (repr(value),)
        if depth > 3:
            raise SampleError("invalid_ground_truth", "nested too deeply")
        if t is dict:
            for key in GROUND_TRUTH_KEYS:
                if key in value:
                    return self._answers(value[key], depth + 1)
            if len(value) == 1:
                for only in value.values():
                    return self._answers(only, depth + 1)
            raise SampleError("invalid_ground_truth", "object without any of %s" % ", ".join(GROUND_TRUTH_KEYS))
        if t is list:
            return self._list_answers(value, depth)
        raise SampleError("invalid_ground_truth", "ground truth is %s" % t.__name__)

    def _json_answers(self, s: str) -> Answers | None:
        """The answers of a ground-truth text that holds JSON ('{"answer": 42}', '"42"'), else the text."""
        try:
            parsed = json.loads(s)
        except (ValueError, RecursionError):
            parsed = None
        if parsed is not None and (type(parsed) is not str or parsed.strip()):
            return self._answers(parsed, 1)
        return (s,)

    def _list_answers(self, value: list[Any], depth: int) -> Answers | None:
        """The answers of a list of alternatives (texts, numbers; not objects or lists)."""
        out: list[str] = []
        for item in value:
            if type(item) in (dict, list):
                raise SampleError("invalid_ground_truth", "list of %s" % type(item).__name__)
            got = self._answers(item, depth + 1)
            if got:
                out.extend(got)
        return tuple(out) or None

    # -- scoring ---------------------------------------------------------------------------
    def _evaluate(self, sample: Sample, index: int) -> tuple[str, OutcomeKey]:
        """``(id, key)`` of one sample, where ``key`` identifies its outcome: the component values,
        plus the diagnostics and the veto when there are any. Raises SampleError."""
        sid = sample.get(self.id_key)
        if type(sid) is not str or not sid:
            sid = sample_id(sample, index, self.id_key)
        messages = sample.get("messages")
        if messages is None:
            messages = sample.get("prompt")
        # Fast path: the conversation ends with the response, as plain text, after a user turn.
        response: str | None = None
        if type(messages) is list and len(messages) >= 2:
            last = messages[-1]
            if type(last) is dict and last.get("role") in ASSISTANT_ROLES:
                response = last.get("content")
                user = messages[-2]
                if type(response) is str and type(user) is dict and user.get("role") == "user":
                    content = user.get("content")
                    prompt = content if type(content) is str else content_text(content) or ""
                else:
                    response = None
        if response is None:
            response, prompt = _turns(sample)
        if self.needs_ground_truth:
            # Fast path: a ground truth string seen before (rollouts of one prompt share it).
            value = sample.get("reference_answer")
            if value is None:
                value = sample.get("reward_model")
                value = value.get("ground_truth") if type(value) is dict else None
            ground_truth = self._gt_cache.get(value) if type(value) is str else None
            if type(ground_truth) is not GroundTruth:
                ground_truth = self.ground_truth(sample)
                if ground_truth is None:
                    raise SampleError("missing_ground_truth", "no reference_answer / reward_model.ground_truth")
        else:
            ground_truth = None
        view = SampleView(response, prompt, ground_truth)
        values = self._values(view)
        if view.diagnostics is None:
            return sid, values
        return sid, (values, tuple(view.diagnostics), view.vetoed)

    def aggregate(self, values: Values, vetoed: bool = False) -> float:
        """The weighted sum of the component values, clipped to [-1, 1] (rounded to 1e-6).

        When an anti-gaming component vetoed the sample, only the penalty components count."""
        total = 0.0
        for (weight, penalty), value in zip(self._weights, values, strict=True):
            if penalty or not vetoed:
                total += weight * value
        total = round(total, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
        if total > 1.0:
            return 1.0
        if total < -1.0:
            return -1.0
        return total

    def _outcome(self, key: OutcomeKey) -> Outcome:
        """``(aggregate, values, diagnostics)`` of an outcome key (see _evaluate)."""
        if _diagnosed(key):
            values, diagnostics, vetoed = key
        else:
            values, diagnostics, vetoed = key, (), False
        return self.aggregate(values, vetoed), values, diagnostics

    def score(self, sample: object, index: int) -> RewardResult:
        """Score one sample; returns a result dict. Never raises for bad input."""
        try:
            if type(sample) is not dict:
                raise SampleError("invalid_sample", "sample is %s" % type(sample).__name__)
            sid, key = self._evaluate(sample, index)
        except SampleError as exc:
            return error_result(sample_id(sample, index, self.id_key), exc.code)
        except Exception as exc:  # noqa: BLE001 - one bad sample must never fail the batch
            sid = sample_id(sample, index, self.id_key)
            self._log_internal(sid, exc)
            return error_result(sid, "internal")
        outcome = self._outcomes.get(key)
        if outcome is None:
            outcome = self._remember(self._outcomes, key, self._outcome(key))
        total, values, diagnostics = outcome
        # Per sample: zip's strict= keyword alone costs ~0.1 us a call; values comes from self._values,
        # which has one score per component, as self._names has one name per component.
        metrics: list[RewardMetric] = [
            {"name": name, "value": value, "type": kind} for (name, kind), value in zip(self._names, values)  # noqa: B905
        ]
        for name, value in diagnostics:
            metrics.append({"name": name, "value": value, "type": METRIC})
        return {"id": sid, "aggregate_reward_score": total, "metrics_list": metrics}

    def score_batch(self, batch: Iterable[object]) -> list[RewardResult]:
        """Result dicts, one per sample, in order."""
        score = self.score
        self._internal_errors = 0
        with _gc_paused():
            results = [score(sample, i) for i, sample in enumerate(batch)]
        self._log_internal_total()
        return results

    def _log_internal(self, sid: str, exc: Exception) -> None:
        self._internal_errors += 1
        if self._internal_errors <= _INTERNAL_LOG_LIMIT:
            sys.stderr.write("reward: internal error on sample %s: %s: %s\n" % (sid, type(exc).__name__, exc))

    def _log_internal_total(self) -> None:
        if self._internal_errors > _INTERNAL_LOG_LIMIT:
            sys.stderr.write("reward: %d samples had internal errors (the first %d are logged above)\n"
                             % (self._internal_errors, _INTERNAL_LOG_LIMIT))

    def _outcome_json(self, key: OutcomeKey) -> str:
        """',"aggregate_reward_score":...,"metrics_list":[...]}' for an outcome key."""
        total, values, diagnostics = self._outcome(key)
        frags = [pre + _number_json(value) + post for (pre, post), value in zip(self._frag_parts, values, strict=True)]
        frags.extend(
            json.dumps({"name": name, "value": value, "type": METRIC}, separators=(",", ":"))
            for name, value in diagnostics
        )
        return ',"aggregate_reward_score":%s,"metrics_list":[%s]}' % (_number_json(total), ",".join(frags))

    def render_batch(self, batch: Iterable[object]) -> str:
        """The results as compact JSON text: ``json.dumps(score_batch(batch), separators=(",", ":"))``.

        Built from fragments: the part after the id depends only on the sample's outcome (its
        component values and diagnostics), which takes few distinct values, so it is rendered
        once per distinct outcome.
        """
        evaluate = self._evaluate
        tails = self._tails
        pieces = ["["]
        extend = pieces.extend
        head = '{"id":'
        self._internal_errors = 0
        with _gc_paused():
            for index, sample in enumerate(batch):
                try:
                    if type(sample) is not dict:
                        raise SampleError("invalid_sample", "sample is %s" % type(sample).__name__)
                    sid, key = evaluate(sample, index)
                except SampleError as exc:
                    extend((head[:-6], _error_json(sample_id(sample, index, self.id_key), exc.code)))
                    head = ',{"id":'
                    continue
                except Exception as exc:  # noqa: BLE001 - one bad sample must never fail the batch
                    sid = sample_id(sample, index, self.id_key)
                    self._log_internal(sid, exc)
                    extend((head[:-6], _error_json(sid, "internal")))
                    head = ',{"id":'
                    continue
                tail = tails.get(key)
                if tail is None:
                    tail = self._remember(tails, key, self._outcome_json(key))
                extend((head, _enc(sid), tail))
                head = ',{"id":'
        pieces.append("]")
        self._log_internal_total()
        return "".join(pieces)

    @staticmethod
    def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
        if len(cache) >= _OUTCOME_CACHE_LIMIT:
            cache.clear()
        cache[key] = value
        return value


def _diagnosed(key: OutcomeKey) -> TypeIs[DiagnosedKey]:
    """True for the key of an outcome with diagnostics: ``(values, diagnostics, vetoed)``."""
    return type(key[0]) is tuple


def _values_function(scores: Sequence[Callable[[SampleView], float]]) -> Callable[[SampleView], Values]:
    """``view -> tuple of component values``; unrolled for up to four components (the common
    configurations), which saves a list comprehension per sample."""
    if len(scores) == 1:
        (a,) = scores
        return lambda view: (a(view),)
    if len(scores) == 2:
        a, b = scores
        return lambda view: (a(view), b(view))
    if len(scores) == 3:
        a, b, c = scores
        return lambda view: (a(view), b(view), c(view))
    if len(scores) == 4:
        a, b, c, d = scores
        return lambda view: (a(view), b(view), c(view), d(view))
    return lambda view: tuple([score(view) for score in scores])


class _gc_paused:
    """Pause the cyclic garbage collector while a batch is scored.

    Scoring allocates many small acyclic objects; with a large event in memory, the collector
    would otherwise repeatedly traverse the whole event. Reference counting frees everything.
    """

    __slots__ = ("was_enabled",)

    def __enter__(self) -> None:
        self.was_enabled = gc.isenabled()
        if self.was_enabled:
            gc.disable()

    def __exit__(self, *exc: object) -> Literal[False]:
        if self.was_enabled:
            gc.enable()
        return False


def error_result(sid: str, code: str) -> RewardResult:
    return {
        "id": sid,
        "aggregate_reward_score": 0.0,
        "metrics_list": [{"name": "error:" + code, "value": 1.0, "type": METRIC}],
    }


def _error_json(sid: str, code: str) -> str:
    return json.dumps(error_result(sid, code), separators=(",", ":"))


def _number_json(value: float) -> str:
    return json.dumps(value)


