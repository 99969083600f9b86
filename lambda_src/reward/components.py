"""Composable, verifiable reward components and their configuration.

A component scores one sample (a :class:`SampleView`) with a value in [-1, 1] (scoring components
give [0, 1]; ``anti_gaming`` gives 1 when clean and a negative penalty when it catches gaming).
The aggregate reward is the weighted sum, clipped to [-1, 1].

Configuration is a JSON list (environment variable ``REWARD_COMPONENTS``), e.g.::

    [{"type": "numeric_match", "weight": 0.7, "tolerance": 1e-6},
     {"type": "anti_gaming", "weight": 0.3}]

Default: numeric_match 0.7 + format 0.1 + anti_gaming 0.2. Every component takes ``type``,
``weight`` (0..1; omitted: an equal share of what the others leave of 1; 0: reported as a
"Metric" diagnostic only) and ``name`` (the metric name; default: the type). Types and options:

  numeric_match    tolerance (1e-6), relative_tolerance (0)
  exact_match      normalize (true), contains (false), target ("answer" | "response")
  multiple_choice  choices ("ABCDE")
  regex            pattern (required), flags ("imsx" letters), target ("response" | "answer"),
                   expect ("match" | "no_match"), match_ground_truth (false), window (4096)
  json_valid       schema (JSON Schema subset), partial_credit (0.5), extract (true),
                   max_chars (65536)
  format           markers (["solution", "boxed", "####", "keyword"])
  anti_gaming      checks (["empty", "echo", "repetition", "padding"]), penalties ({check: 0..1}),
                   max_chars (20000), min_echo_chars (32), repeat_probe_chars (24),
                   max_repeats (4), veto (true)

Every option is checked when the configuration is built (at cold start); a mistake raises
:class:`RewardConfigError` naming the variable, the value received and what is expected.
Pure and stdlib only.

Degenerate responses (a collapsed policy's million digits, token loops, blank floods) cost time
linear in their length, or bounded, so that any response up to 1 MB is scored in milliseconds
(see extract.py for the bounds of the answer extraction). Bounds of the components (all but the
regex window only change the result for such responses; the regex window is a trade-off, below):

  * ``regex`` searches the last ``window`` characters of its target (default 4096, about a
    thousand tokens: where final answers are): a match must start there (the pattern still sees
    the text before, for look-behinds). A pattern anchored at the start (``^`` without the m flag,
    ``\\A``), such as a whole-response format check ``^<think>.*?</think>.*$``, makes a single
    attempt and is matched against the first 16 KB (``ANCHORED_WINDOW``, about 4000 tokens; or
    ``window`` if larger). A longer text is thus not searched whole: a pattern meant to check all
    of a long response (e.g. ``expect: "no_match"``, or a format check of responses longer than
    16 KB) needs a larger ``window`` (up to 1 MB), at a higher worst case. The window bounds the
    cost of any pattern, but a pattern that backtracks quadratically costs about ``window``
    squared steps, four times more at twice the window: at the defaults, ~7 ms for
    ``\\boxed\\{([^}]*)\\}`` on a repeated "\\boxed{", ~45 ms for ``\\d+\\.\\d+`` on a run of
    digits, ~55 ms for ``^<think>.*?</think>\\s*<answer>.*?</answer>\\s*$`` on a repeated
    "</think><answer>x" (a pattern such as ``answer is (\\d+)`` is linear, and costs next to
    nothing). A pattern with a nested unbounded repeat that can split a run in many ways
    (``(a+)+``, ``(\\w+\\s?)*``: exponential backtracking, which no window bounds) is rejected at
    configuration time;
  * ``json_valid`` parses a JSON candidate of at most ``max_chars`` characters (default 65536); a
    longer one is not parsed, scores 0.0 and adds the diagnostic ``<name>:too_long``;
  * ``exact_match`` and ``multiple_choice`` read long texts in linear time with the same results
    as on short ones.
"""

from __future__ import annotations

import json
import math
import re

from . import extract

# typing is only read by the type checker: importing it at run time would add ~2 ms to the cold
# start of the reward Lambda (bench/reward_bench.py), and the annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, ClassVar, Final, Literal, NoReturn, TypeAlias, TypeVar

    from sagemaker_finetuning.core.reward_contract import MetricType

    from .extract import Located

    _T = TypeVar("_T")
    #: The accepted answers of a ground truth: a non-empty tuple of texts.
    Answers: TypeAlias = tuple[str, ...]
    #: An option check: ``check(value, option, where)`` returns the value to use, or fails (where.fail).
    Validator: TypeAlias = Callable[[Any, str, "_Where"], Any]
    #: A JSON Schema of the supported subset (see check_schema).
    Schema: TypeAlias = dict[str, Any]

ENV_COMPONENTS = "REWARD_COMPONENTS"

DEFAULT_COMPONENTS = (
    {"type": "numeric_match", "weight": 0.7},
    {"type": "format", "weight": 0.1},
    {"type": "anti_gaming", "weight": 0.2},
)

REWARD: Final = "Reward"
METRIC: Final = "Metric"


class RewardConfigError(ValueError):
    """The reward configuration is invalid. The message names the setting, the value and the fix."""


class SampleError(Exception):
    """A sample cannot be scored; ``code`` becomes the metric ``error:<code>``."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


class GroundTruth:
    """The accepted answers of a sample, shared by every sample with the same ground truth.

    ``memo`` holds what each component derives from the answers (numbers, normalised text,
    letters), keyed by the component, so that it is computed once per distinct ground truth.
    """

    __slots__ = ("answers", "memo")

    def __init__(self, answers: Answers) -> None:
        self.answers = answers  # non-empty tuple of str
        # Each component keeps there what it derives from the answers (of a type of its own).
        self.memo: dict[Component, Any] = {}

    def __repr__(self) -> str:
        return "GroundTruth(%r)" % (self.answers,)


class SampleView:
    """One parsed sample, with lazily computed shared extractions (each done at most once)."""

    __slots__ = ("response", "prompt", "ground_truth", "diagnostics", "vetoed", "_final", "_number")

    def __init__(self, response: str, prompt: str, ground_truth: GroundTruth | None) -> None:
        self.response = response
        self.prompt = prompt  # text of the last user turn before the response ("" if none)
        self.ground_truth = ground_truth  # GroundTruth, or None
        self.diagnostics: list[tuple[str, float]] | None = None  # "Metric" entries, created on demand
        self.vetoed = False
        self._final: Located | None = None  # None: not computed yet
        self._number: tuple[float | None, str | None] | None = None  # None: not computed yet

    def final(self) -> Located:
        """``(region, marker, number_token)`` of the marked final answer (extract.locate_answer)."""
        if self._final is None:
            self._final = extract.locate_answer(self.response)
        return self._final

    def number(self) -> tuple[float | None, str | None]:
        """``(value, how)`` of the numeric answer (see extract.extract_number)."""
        if self._number is None:
            located = self._final
            if located is None:
                located = self._final = extract.locate_answer(self.response)
            quick = located[2]  # a number token already validated by the extraction
            if quick is not None:
                value = float(quick.replace(",", "") if "," in quick else quick)
                if value - value == 0.0:  # finite
                    self._number = (value, located[1])
                    return self._number
            self._number = extract.number_from(self.response, located)
        return self._number

    def answer_text(self) -> str:
        """The marked final answer if there is one, else the whole response (reasoning stripped)."""
        region = self.final()[0]
        if region is not None:
            return region
        return extract.strip_reasoning(self.response) if extract.END_THINK in self.response else self.response

    def diagnose(self, name: str, value: float = 1.0) -> None:
        if self.diagnostics is None:
            self.diagnostics = [(name, value)]
        else:
            self.diagnostics.append((name, value))


# --------------------------------------------------------------------------------------------
# Option validation helpers


def _describe(value: object) -> str:
    text = json.dumps(value, default=repr)
    if len(text) > 120:
        text = text[:117] + "..."
    return "%s (%s)" % (text, type(value).__name__)


class _Where:
    """Where an option is: ``REWARD_COMPONENTS[2] (type "regex")``; ``fail`` raises RewardConfigError."""

    def __init__(self, source: str, index: int, type_name: str | None) -> None:
        self.source, self.index, self.type_name = source, index, type_name

    def fail(self, option: str, value: object, expected: str) -> NoReturn:
        where = "%s[%d]" % (self.source, self.index)
        if self.type_name:
            where += ' (type "%s")' % self.type_name
        raise RewardConfigError('%s: option "%s" received %s; expected %s.' % (where, option, _describe(value), expected))


def _number(lo: float | None = None, hi: float | None = None, integer: bool = False) -> Callable[[Any, str, _Where], float]:
    def check(value: Any, option: str, where: _Where) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and integer and value != int(value):
            ok = False
        if ok and lo is not None and value < lo:
            ok = False
        if ok and hi is not None and value > hi:
            ok = False
        if not ok:
            kind = "an integer" if integer else "a finite number"
            bounds = ""
            if lo is not None and hi is not None:
                bounds = " between %s and %s" % (lo, hi)
            elif lo is not None:
                bounds = " >= %s" % lo
            where.fail(option, value, kind + bounds)
        return int(value) if integer else float(value) + 0.0  # + 0.0: never -0.0

    return check


def _boolean(value: Any, option: str, where: _Where) -> bool:
    if not isinstance(value, bool):
        where.fail(option, value, "true or false")
    return value


def _one_of(*allowed: str) -> Callable[[Any, str, _Where], str]:
    def check(value: object, option: str, where: _Where) -> str:
        if not isinstance(value, str) or value not in allowed:
            where.fail(option, value, "one of " + ", ".join('"%s"' % a for a in allowed))
        return value

    return check


def _subset_of(*allowed: str) -> Callable[[Any, str, _Where], tuple[str, ...]]:
    def check(value: Any, option: str, where: _Where) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or any(v not in allowed for v in value) or len(set(value)) != len(value):
            where.fail(option, value, "a non-empty list of distinct values from " + ", ".join('"%s"' % a for a in allowed))
        return tuple(value)

    return check


def _text(value: Any, option: str, where: _Where) -> str:
    if not isinstance(value, str) or not value:
        where.fail(option, value, "a non-empty string")
    return value


# --------------------------------------------------------------------------------------------
# Components


class Component:
    """Base class. Subclasses set ``type_name``, ``options`` and implement ``score(view)``."""

    type_name: ClassVar[str] = ""
    # option -> (validator, default); _REQUIRED marks a mandatory option. Each option becomes an
    # attribute of the instance (declared, with its type, by the subclass).
    options: ClassVar[dict[str, tuple[Validator, Any]]] = {}
    needs_ground_truth = False
    penalty = False  # True for anti-gaming style components (value 1 when clean, < 0 when caught)

    def __init__(self, name: str, weight: float, opts: Mapping[str, Any]) -> None:
        self.name = name
        self.weight = weight
        self.metric_type: MetricType = REWARD if weight > 0 else METRIC
        for key, value in opts.items():
            setattr(self, key, value)
        self.setup()

    def setup(self) -> None:
        """Precompute what the options allow (compiled patterns, lookup tables)."""

    def score(self, view: SampleView) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


_REQUIRED = object()


def _derived(component: Component, ground_truth: GroundTruth | None, compute: Callable[[Answers], _T]) -> _T:
    """``compute(answers)`` (never None), memoised on the (shared) GroundTruth object per component."""
    assert ground_truth is not None  # the Scorer gives one to every component that needs it
    memo = ground_truth.memo
    value: _T | None = memo.get(component)
    if value is None:
        value = memo[component] = compute(ground_truth.answers)
    return value


class NumericMatch(Component):
    """1.0 when the response's numeric answer equals the ground truth within tolerance, else 0.0.

    Extraction is tolerant: ``<|begin_of_solution|>`` blocks, ``\\boxed{}``, ``####``, "the answer
    is", ``=``, then the last number; thousands separators, units and currency are ignored
    ("1,234 kg" -> 1234); fractions are read inside a marked answer ("\\frac{3}{4}", "3/4").
    Adds the diagnostic ``<name>:no_answer`` when no number is found.
    """

    type_name = "numeric_match"
    options = {"tolerance": (_number(lo=0), 1e-6), "relative_tolerance": (_number(lo=0), 0.0)}
    needs_ground_truth = True
    tolerance: float
    relative_tolerance: float

    def setup(self) -> None:
        self._no_answer = self.name + ":no_answer"

    @staticmethod
    def _gt_numbers(ground_truth: Answers) -> tuple[float, ...]:
        values = []
        for text in ground_truth:
            t = text.strip()
            value = float(t) if t.isascii() and t.isdecimal() else extract.extract_number(text)[0]
            if value is not None:
                values.append(value)
        return tuple(values)

    def score(self, view: SampleView) -> float:
        ground_truth = view.ground_truth
        assert ground_truth is not None  # the Scorer gives one to every component that needs it
        memo = ground_truth.memo
        expected: tuple[float, ...] | None = memo.get(self)
        if expected is None:
            expected = memo[self] = self._gt_numbers(ground_truth.answers)
        if not expected:
            raise SampleError("ground_truth_not_numeric", "%r has no number" % (ground_truth,))
        value = view.number()[0]
        if value is None:
            view.diagnose(self._no_answer)
            return 0.0
        tol, rel = self.tolerance, self.relative_tolerance
        for e in expected:
            if abs(value - e) <= tol + rel * abs(e):
                return 1.0
        return 0.0


class ExactMatch(Component):
    """1.0 when the answer equals the ground truth (after normalisation by default), else 0.0.

    ``target`` "answer" (default) compares the marked final answer, or the whole response when
    nothing is marked; "response" always compares the whole response. ``normalize`` (default true)
    case-folds, collapses whitespace and strips surrounding punctuation/markdown. ``contains``
    accepts the ground truth appearing as whole words inside the answer.
    """

    type_name = "exact_match"
    options = {
        "normalize": (_boolean, True),
        "contains": (_boolean, False),
        "target": (_one_of("answer", "response"), "answer"),
    }
    needs_ground_truth = True
    normalize: bool
    contains: bool
    target: Literal["answer", "response"]

    def _prepare(self, ground_truth: Answers) -> tuple[str, ...]:
        if self.normalize:
            return tuple(extract.normalize_answer(t) for t in ground_truth)
        return tuple(t.strip() for t in ground_truth)

    def score(self, view: SampleView) -> float:
        expected = _derived(self, view.ground_truth, self._prepare)
        text = view.answer_text() if self.target == "answer" else view.response
        if len(text) > _LONG_TEXT:
            return self._score_long(text, expected)
        got = extract.normalize_answer(text) if self.normalize else text.strip()
        if got in expected:
            return 1.0
        if self.contains:
            padded = " %s " % _words(got)
            for e in expected:
                if e and (" %s " % _words(e)) in padded:
                    return 1.0
        return 0.0


    def _score_long(self, text: str, expected: tuple[str, ...]) -> float:
        """score, for a long text: the same result, in time linear in its length."""
        if self.normalize:
            got = extract.normalized_within(text, max(map(len, expected)))
        else:
            got = text.strip()
        if got is not None and got in expected:
            return 1.0
        if self.contains:
            # The words of normalize_answer(text) are those of text.casefold() (normalisation only
            # changes blanks and the punctuation around the text, which separate words anyway).
            folded = text.casefold() if self.normalize else text
            for e in expected:
                if e and _has_words(folded, _words(e)):
                    return 1.0
        return 0.0


_WORD_SPLIT_RE = re.compile(r"[\W_]+")
_WORD_CHAR_RE = re.compile(r"[^\W_]")
_LONG_TEXT = 4096  # a longer text is read by the linear paths (same results)


def _words(text: str) -> str:
    return " ".join(_WORD_SPLIT_RE.split(text)).strip()


def _has_words(text: str, words: str) -> bool:
    """``" %s " % words in " %s " % _words(text)``: ``words`` (from _words) are consecutive whole
    words of ``text``. A search for the first word (a literal, found at C speed) then the others."""
    if not words:
        return _WORD_CHAR_RE.search(text) is None
    first, *rest = words.split(" ")
    # The first word, not preceded by a word character (a fixed-width look-behind placed after the
    # literal, so that the search scans for the literal), then the others, each after separators.
    pattern = re.escape(first) + r"(?<![^\W_][\s\S]{%d})" % len(first)
    pattern += "".join(r"[\W_]+" + re.escape(word) for word in rest) + r"(?![^\W_])"
    return re.search(pattern, text) is not None


class MultipleChoice(Component):
    """1.0 when the chosen letter equals the ground-truth letter, else 0.0.

    Reads "\\boxed{B}", "The answer is (B)", "answer: c", a response that is just "B", "B)" or "(B)",
    and otherwise the last "(B)" in the response. Adds ``<name>:no_choice`` when nothing is found.
    """

    type_name = "multiple_choice"
    options = {"choices": (_text, "ABCDE")}
    needs_ground_truth = True
    choices: str

    def setup(self) -> None:
        letters = self.choices
        if not (letters.isalpha() and letters.isascii() and len(set(letters.upper())) == len(letters)):
            raise RewardConfigError(
                'multiple_choice option "choices" received %s; expected distinct ASCII letters such as "ABCDE".'
                % _describe(letters)
            )
        up = re.escape(letters.upper())
        both = re.escape(letters.upper() + letters.lower())
        # Runs are read possessively (*+: never given back, which could not help the match), so that
        # a long run costs one pass, not a backtrack per character.
        # The whole answer is a letter, optionally decorated: "B", "(b)", "B.", "**C**", "Option D".
        self._alone = re.compile(r"^[\s*(\[]*+(?:option\s++|choice\s++)?([%s])[\s*)\].:]*+$" % both, re.I)
        # An answer starting with a letter: "B) 42", "(C) Paris", "D. blue", "A: yes", "B - 7".
        self._leading = re.compile(r"^[\s*]*+(?:\(([%s])\)|([%s])(?:[).:]|\s++-\s|$))" % (both, up))
        self._paren = re.compile(r"\(([%s])\)" % up)
        self._no_choice = self.name + ":no_choice"

    def letter(self, text: str) -> str | None:
        m = self._alone.match(text)
        if m is None:
            m = self._leading.match(text)
        if m is None:
            return None
        # _alone has one group; _leading matches one of its two: "(B)" (group 1) or "B)" (group 2).
        return (m.group(1) or m.group(2)).upper()

    def _last_paren(self, text: str) -> str | None:
        """The letter of the last "(B)" in ``text``: windows from the end (a match is 3 characters:
        consecutive windows overlap by 2 so that none is cut), until one holds a match."""
        end, size = len(text), _LONG_TEXT
        while True:
            start = max(0, end - size)
            found: list[str] = self._paren.findall(text, start, end)
            if found:
                return found[-1]
            if start == 0:
                return None
            end, size = start + 2, size * 4

    def _gt_letters(self, ground_truth: Answers) -> tuple[str, ...]:
        return tuple(filter(None, (self.letter(t.strip()) for t in ground_truth)))

    def chosen(self, view: SampleView) -> str | None:
        region = view.final()[0]
        if region is not None:
            got = self.letter(region)
            if got is not None:
                return got
            m = self._paren.search(region)
            if m is not None:
                return m.group(1)
        text = view.answer_text()
        got = self.letter(text)
        if got is not None:
            return got
        return self._last_paren(text)

    def score(self, view: SampleView) -> float:
        expected = _derived(self, view.ground_truth, self._gt_letters)
        if not expected:
            raise SampleError("ground_truth_not_a_choice", "%r is not one of %s" % (view.ground_truth, self.choices))
        got = self.chosen(view)
        if got is None:
            view.diagnose(self._no_choice)
            return 0.0
        return 1.0 if got in expected else 0.0


def _normalized_all(answers: Answers) -> tuple[str, ...]:
    return tuple(extract.normalize_answer(t) for t in answers)


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _flags(value: Any, option: str, where: _Where) -> str:
    if not isinstance(value, str) or any(c not in _REGEX_FLAGS for c in value):
        where.fail(option, value, 'a string of regex flags from "imsx" (e.g. "i")')
    return value


class Regex(Component):
    """1.0 when ``pattern`` is found in the response (or not found, with ``expect: "no_match"``).

    With ``match_ground_truth: true`` the first capture group (or the whole match) must also equal
    the ground truth after normalisation. ``target`` "answer" searches the marked final answer.
    A text longer than ``window`` characters is searched in its last ``window`` characters, which
    bounds the cost of any pattern; a pattern anchored at the start is matched against the first
    ANCHORED_WINDOW characters (or ``window``, if larger).
    """

    type_name = "regex"
    options = {
        "pattern": (_text, _REQUIRED),
        "flags": (_flags, ""),
        "target": (_one_of("response", "answer"), "response"),
        "expect": (_one_of("match", "no_match"), "match"),
        "match_ground_truth": (_boolean, False),
        "window": (_number(lo=64, hi=1 << 20, integer=True), 4096),
    }
    pattern: str
    flags: str
    target: Literal["response", "answer"]
    expect: Literal["match", "no_match"]
    match_ground_truth: bool
    window: int

    def setup(self) -> None:
        flags = 0
        for c in self.flags:
            flags |= _REGEX_FLAGS[c]
        try:
            self._re = re.compile(self.pattern, flags)
        except re.error as exc:
            raise RewardConfigError(
                'regex option "pattern" received %s, which does not compile (%s); expected a Python regular expression.'
                % (_describe(self.pattern), exc)
            ) from None
        tree = _parse_pattern(self.pattern, flags)
        if tree is not None and _nested_repeat(tree):
            raise RewardConfigError(
                'regex option "pattern" received %s, which repeats a repetition that can split a run in many ways '
                "(as in (a+)+ or (\\w+\\s?)*): its matching can take exponential time on a collapsed response; "
                "expected a pattern where each repetition has one way to match, e.g. (\\w+\\s)*, or an atomic "
                "group (?>...) / possessive repeat (++, *+)." % _describe(self.pattern)
            )
        self._anchored = _anchored_at_start(tree, self.pattern, self._re.flags)
        self.needs_ground_truth = self.match_ground_truth

    def search(self, text: str) -> re.Match[str] | None:
        """The pattern's match in ``text``, within the bounded window (see the class docstring)."""
        n = len(text)
        if self._anchored:  # one attempt, at the start: a longer window costs no more than linearly
            head = max(self.window, ANCHORED_WINDOW)
            return self._re.search(text) if n <= head else self._re.search(text, 0, head)
        if n <= self.window:
            return self._re.search(text)
        return self._re.search(text, n - self.window)

    def score(self, view: SampleView) -> float:
        text = view.answer_text() if self.target == "answer" else view.response
        m = self.search(text)
        if self.expect == "no_match":
            return 1.0 if m is None else 0.0
        if m is None:
            return 0.0
        if not self.match_ground_truth:
            return 1.0
        expected = _derived(self, view.ground_truth, _normalized_all)
        got = m.group(1) if self._re.groups and m.group(1) is not None else m.group(0)
        return 1.0 if extract.normalize_answer(got) in expected else 0.0


#: A pattern anchored at the start makes one attempt, whose cost grows with the text it can read
#: (linearly for all but nested repeats): it reads this much of a long text (see Regex).
ANCHORED_WINDOW = 1 << 14
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT")
_UNBOUNDED = getattr(getattr(re, "_parser", None), "MAXREPEAT", None)


def _parse_pattern(pattern: str, flags: int) -> Any:
    """The parse tree the re module builds for ``pattern`` (its private parser), or None where
    that parser is not available or not as expected: the checks it serves are then skipped."""
    parser = getattr(re, "_parser", None)
    if parser is None or _UNBOUNDED is None:
        return None
    try:
        tree = parser.parse(pattern, flags)
        tree.getwidth()
        return tree
    except Exception:  # noqa: BLE001 - any surprise from a private API: no check, never a failure
        return None


def _nested_repeat(items: Any) -> bool:
    """True when ``items`` (a parsed pattern) holds an unbounded repeat of a body that can split a
    run of one piece in many ways (see _splits): the textbook exponential backtracking."""
    try:
        for op, av in items:
            name = str(op)
            if name in _REPEATS or name == "POSSESSIVE_REPEAT":
                if name != "POSSESSIVE_REPEAT" and av[1] == _UNBOUNDED and _splits(av[2]):
                    return True
                children = [av[2]]
            elif name == "SUBPATTERN":
                children = [av[-1]]
            elif name == "BRANCH":
                children = list(av[1])
            elif name in ("ASSERT", "ASSERT_NOT"):
                children = [av[1]]
            elif name == "ATOMIC_GROUP":
                children = [av]
            elif name == "GROUPREF_EXISTS":
                children = [c for c in av[1:] if c is not None]
            else:
                continue
            if any(_nested_repeat(child) for child in children):
                return True
    except Exception:  # noqa: BLE001 - an unexpected tree shape: no check
        return False
    return False


def _splits(body: Any) -> bool:
    """True when ``body`` holds a repeat of variable length (up to 2 or more) that every other
    part of ``body`` may skip: consecutive repetitions of ``body`` can then share a run of that
    repeat's piece in exponentially many ways, all tried when what follows fails."""
    least = body.getwidth()[0]
    for op, av in body:
        name = str(op)
        if name in _REPEATS:
            lo, hi, item = av
            width = item.getwidth()[0]
            if hi >= 2 and hi > lo and width > 0 and lo * width == least:
                return True
        elif name == "SUBPATTERN" and av[-1].getwidth()[0] == least and _splits(av[-1]):
            return True
    return False


_ANCHOR_RE = re.compile(r"(?:\(\?[aiLmsux]+\))*(?:\^|\\A)")


def _anchored_at_start(tree: Any, pattern: str, flags: int) -> bool:
    """True when every match of the pattern starts at the start of the text (``^`` without the m
    flag, or ``\\A``, leading the whole pattern)."""
    if tree is None:  # no parse tree: the plain spelling
        m = _ANCHOR_RE.match(pattern)
        return m is not None and (m.group().endswith("A") or not flags & re.MULTILINE)
    try:
        op, av = tree[0]
        at = str(av)
        return str(op) == "AT" and (at == "AT_BEGINNING_STRING" or (at == "AT_BEGINNING" and not flags & re.MULTILINE))
    except Exception:  # noqa: BLE001 - an empty pattern, or an unexpected tree shape
        return False


_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_SCHEMA_KEYS = (
    "type", "required", "properties", "items", "enum", "additionalProperties",
    "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems",
)


def _bad_schema(where: str, value: object, expected: str) -> NoReturn:
    raise RewardConfigError('json_valid option "%s" received %s; expected %s.' % (where, _describe(value), expected))


def check_schema(schema: Any, path: str = "schema") -> Schema:
    """Validate a schema of the supported JSON Schema subset; raise RewardConfigError if not."""
    if not isinstance(schema, dict):
        _bad_schema(path, schema, "a JSON object (a JSON Schema subset)")
    for key, value in schema.items():
        where = "%s.%s" % (path, key)
        if key not in _SCHEMA_KEYS:
            _bad_schema(where, value, "only the keywords " + ", ".join(_SCHEMA_KEYS))
        _check_keyword(key, value, where)
    return schema


def _check_keyword(key: str, value: Any, where: str) -> None:
    """Validate the value of one keyword (one of _SCHEMA_KEYS) of a schema, at ``where``."""
    if key == "type":
        types = value if isinstance(value, list) else [value]
        if not types or any(t not in _JSON_TYPES for t in types):
            _bad_schema(where, value, "one of (or a list of) " + ", ".join(_JSON_TYPES))
    elif key == "required":
        if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
            _bad_schema(where, value, "a list of property names")
    elif key == "properties":
        if not isinstance(value, dict):
            _bad_schema(where, value, "an object mapping property names to schemas")
        for prop, sub in value.items():
            check_schema(sub, "%s.%s" % (where, prop))
    elif key == "items":
        check_schema(value, where)
    elif key == "enum":
        if not isinstance(value, list) or not value:
            _bad_schema(where, value, "a non-empty list")
    elif key == "additionalProperties":
        if not isinstance(value, bool):
            _bad_schema(where, value, "true or false")
    else:  # numeric bounds
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            _bad_schema(where, value, "a number")


_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def conforms(value: Any, schema: Schema) -> bool:
    """True when ``value`` satisfies ``schema`` (the subset accepted by :func:`check_schema`)."""
    t = schema.get("type")
    if t is not None:
        types = t if isinstance(t, list) else (t,)
        if not any(_TYPE_CHECKS[name](value) for name in types):
            return False
    if "enum" in schema and not any(value == e and type(value) is type(e) for e in schema["enum"]):
        return False
    if isinstance(value, dict):
        return _object_conforms(value, schema)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", math.inf):
            return False
        items = schema.get("items")
        if items is not None and not all(conforms(v, items) for v in value):
            return False
    elif isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", math.inf):
            return False
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", -math.inf) or value > schema.get("maximum", math.inf):
            return False
    return True


def _object_conforms(value: dict[str, Any], schema: Schema) -> bool:
    """conforms for an object: required, properties, additionalProperties."""
    for key in schema.get("required", ()):
        if key not in value:
            return False
    props = schema.get("properties")
    if props:
        for key, sub in props.items():
            if key in value and not conforms(value[key], sub):
                return False
    if schema.get("additionalProperties") is False and any(k not in (props or {}) for k in value):
        return False
    return True


def _schema(value: Any, option: str, where: _Where) -> Schema:
    try:
        return check_schema(value)
    except RewardConfigError as exc:
        where.fail(option, value, "a schema in the supported subset (%s)" % exc)


def parse_json_answer(text: str, extract_embedded: bool = True, max_chars: int | None = None) -> tuple[bool, Any]:
    """Parse the response as JSON: ``(ok, value)``.

    With ``extract_embedded``, when the whole response does not parse, the content of a ```json
    fence, then the outermost ``{...}`` / ``[...]`` span, are tried. A candidate longer than
    ``max_chars`` (when given) is not parsed.
    """
    s = text.strip()
    if max_chars is None or len(s) <= max_chars:
        try:
            return True, json.loads(s)
        except (ValueError, RecursionError):
            pass
    if not extract_embedded or not s:
        return False, None
    candidates: list[str] = []
    fence = s.find("```")
    if fence >= 0:
        nl = s.find("\n", fence)
        end = s.find("```", nl + 1) if nl >= 0 else -1
        if end > nl >= 0:
            candidates.append(s[nl + 1:end])
    starts = [p for p in (s.find("{"), s.find("[")) if p >= 0]
    if starts:
        i = min(starts)
        j = s.rfind("}" if s[i] == "{" else "]")
        if j > i:
            candidates.append(s[i:j + 1])
    for candidate in candidates:
        if max_chars is not None and len(candidate) > max_chars:
            continue
        try:
            return True, json.loads(candidate)
        except (ValueError, RecursionError):
            continue
    return False, None


class JsonValid(Component):
    """1.0 when the response is valid JSON (conforming to ``schema`` if given); ``partial_credit``
    (default 0.5) when it parses but does not conform; 0.0 when it does not parse. JSON longer
    than ``max_chars`` is not parsed (0.0, and the diagnostic ``<name>:too_long``).

    The schema subset: type, required, properties, items, enum, additionalProperties (bool),
    minimum/maximum, minLength/maxLength, minItems/maxItems.
    """

    type_name = "json_valid"
    options = {
        "schema": (_schema, None),
        "partial_credit": (_number(lo=0, hi=1), 0.5),
        "extract": (_boolean, True),
        "max_chars": (_number(lo=2, hi=1 << 20, integer=True), 1 << 16),
    }
    schema: Schema | None
    partial_credit: float
    extract: bool
    max_chars: int

    def setup(self) -> None:
        self._schema_fail = self.name + ":schema_mismatch"
        self._too_long = self.name + ":too_long"

    def score(self, view: SampleView) -> float:
        ok, value = parse_json_answer(view.response, self.extract, self.max_chars)
        if not ok:
            if len(view.response) > self.max_chars and len(view.response.strip()) > self.max_chars:
                view.diagnose(self._too_long)  # not parsed whole, and no shorter JSON found in it
            return 0.0
        if self.schema is None or conforms(value, self.schema):
            return 1.0
        view.diagnose(self._schema_fail)
        return self.partial_credit


_MARKERS = ("solution", "boxed", "####", "keyword")


class Format(Component):
    """1.0 when the response states its final answer explicitly (one of ``markers``: a
    ``<|begin_of_solution|>`` block, ``\\boxed{}``, a ``####`` line, "the answer is ..."), else 0.0."""

    type_name = "format"
    options = {"markers": (_subset_of(*_MARKERS), _MARKERS)}
    markers: tuple[str, ...]

    def setup(self) -> None:
        self._accepted = frozenset(self.markers)

    def score(self, view: SampleView) -> float:
        region, marker, quick = view.final()
        if marker in self._accepted and (quick is not None or (region and not region.isspace())):
            return 1.0
        return 0.0


_CHECKS = ("empty", "echo", "repetition", "padding")
_DEFAULT_PENALTIES = {"empty": 1.0, "echo": 1.0, "repetition": 0.5, "padding": 0.5}
_PAD_RUNS = (" " * 32, "\n" * 16, "\t" * 16, "." * 32, "\u200b" * 8)
_BLANKS = " \t\r\n\f\v\u00a0\u200b"


def _penalties(value: Any, option: str, where: _Where) -> dict[str, float]:
    if not isinstance(value, dict) or any(k not in _CHECKS for k in value) or any(
        not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1 for v in value.values()
    ):
        where.fail(option, value, "an object mapping checks (%s) to penalties between 0 and 1" % ", ".join(_CHECKS))
    merged = dict(_DEFAULT_PENALTIES)
    merged.update({k: float(v) for k, v in value.items()})
    return merged


class AntiGaming(Component):
    """Catches reward hacking. Value 1.0 when clean; otherwise -min(1, sum of penalties).

    Checks (all on by default; ``checks`` selects some):
      * ``empty``: the response is empty or blank;
      * ``echo``: the response repeats the prompt (the last user turn, at least ``min_echo_chars``
        long), or is itself a verbatim chunk of the prompt;
      * ``repetition``: a ``repeat_probe_chars``-long slice of the response (taken at three
        quarters of its length, and also at the middle of responses of 1024+ characters) occurs
        ``max_repeats`` times or more (a generation loop);
      * ``padding``: longer than ``max_chars``, mostly surrounding blank space, or long runs of
        spaces / newlines / dots / zero-width spaces.
    With ``veto`` (default true) any hit also withdraws the credit of the other components, so the
    aggregate becomes ``weight * value`` (<= 0): gaming never pays. Each hit is reported as the
    diagnostic ``<name>:<check>`` = 1.
    """

    type_name = "anti_gaming"
    penalty = True
    options = {
        "checks": (_subset_of(*_CHECKS), _CHECKS),
        "penalties": (_penalties, None),
        "max_chars": (_number(lo=1, integer=True), 20000),
        "min_echo_chars": (_number(lo=1, integer=True), 32),
        "repeat_probe_chars": (_number(lo=4, integer=True), 24),
        "max_repeats": (_number(lo=2, integer=True), 4),
        "veto": (_boolean, True),
    }
    checks: tuple[str, ...]
    penalties: dict[str, float] | None  # None (the option's default): _DEFAULT_PENALTIES, set by setup
    max_chars: int
    min_echo_chars: int
    repeat_probe_chars: int
    max_repeats: int
    veto: bool

    def setup(self) -> None:
        if self.penalties is None:
            self.penalties = dict(_DEFAULT_PENALTIES)
        self._penalty_of = self.penalties
        on = set(self.checks)
        self._empty = "empty" in on
        self._echo = "echo" in on
        self._repetition = "repetition" in on
        self._padding = "padding" in on
        self._names = {c: "%s:%s" % (self.name, c) for c in _CHECKS}
        self._params = (
            "echo" in on, self.min_echo_chars, "repetition" in on, self.repeat_probe_chars, self.max_repeats,
            "padding" in on, self.max_chars,
        )

    def hits(self, response: str, prompt: str) -> Sequence[str]:
        """Names of the checks that fire on ``response`` (given the prompt text)."""
        n = len(response)
        if n == 0 or response.isspace():
            return ("empty",) if self._empty else ()
        found: list[str] = []
        echo, min_echo, repetition, k, max_repeats, padding, max_chars = self._params
        if echo and prompt:
            lp = len(prompt)
            if min_echo <= lp <= n + 64:
                p = prompt.strip() if prompt[0] in _BLANKS or prompt[-1] in _BLANKS else prompt
                if min_echo <= len(p) <= n and p in response:
                    found.append("echo")
            if min_echo <= n <= lp and not found:
                r = response.strip()
                if len(r) >= min_echo and r in prompt:
                    found.append("echo")
        if repetition and n >= k * max_repeats:
            # Generation loops run to the end: probe the last quarter, and the middle of long texts.
            late = n - (n >> 2) - k
            if response.count(response[late:late + k]) >= max_repeats or (
                n >= 1024 and response.count(response[n >> 1:(n >> 1) + k]) >= max_repeats
            ):
                found.append("repetition")
        if padding:
            if n > max_chars or (
                n >= 64 and (response[0] in _BLANKS or response[-1] in _BLANKS) and len(response.strip()) * 2 < n
            ):
                found.append("padding")
            elif n >= 8:
                for run in _PAD_RUNS:
                    if run in response:
                        found.append("padding")
                        break
        return found

    def score(self, view: SampleView) -> float:
        found = self.hits(view.response, view.prompt)
        if not found:
            return 1.0
        total = 0.0
        for check in found:
            total += self._penalty_of[check]
            view.diagnose(self._names[check])
        if self.veto:
            view.vetoed = True
        return -min(1.0, total) + 0.0  # + 0.0: a zero penalty gives 0.0, not -0.0


COMPONENT_TYPES = {
    cls.type_name: cls for cls in (NumericMatch, ExactMatch, MultipleChoice, Regex, JsonValid, Format, AntiGaming)
}


def build_components(spec: object, source: str = ENV_COMPONENTS) -> list[Component]:
    """Validate a components specification (a list of dicts) and build the components.

    ``weight`` defaults to an equal share of what the explicit weights leave of 1.0; the weights
    must add up to at most 1 (the aggregate is clipped to [-1, 1], so more would lose signal).
    Weight 0 makes a component a diagnostic (reported as type "Metric", not counted).
    """
    example = '[{"type": "numeric_match", "weight": 0.7}, {"type": "anti_gaming", "weight": 0.3}]'
    if not isinstance(spec, (list, tuple)) or not spec:
        raise RewardConfigError(
            "%s received %s; expected a non-empty JSON list of components such as %s. Types: %s."
            % (source, _describe(spec), example, ", ".join(COMPONENT_TYPES))
        )
    explicit = 0.0
    unweighted = 0
    for index, item in enumerate(spec):
        if not isinstance(item, dict):
            raise RewardConfigError(
                '%s[%d] received %s; expected an object such as {"type": "numeric_match", "weight": 0.7}.'
                % (source, index, _describe(item))
            )
        where = _Where(source, index, None)
        if item.get("type") not in COMPONENT_TYPES:
            where.fail("type", item.get("type"), "one of " + ", ".join('"%s"' % t for t in COMPONENT_TYPES))
        where.type_name = item["type"]
        if "weight" in item:
            explicit += _number(lo=0, hi=1)(item["weight"], "weight", where)
        else:
            unweighted += 1
    if explicit > 1.0 + 1e-9:
        raise RewardConfigError(
            "%s: the weights add up to %g; expected at most 1 (the aggregate reward is clipped to [-1, 1]), "
            "e.g. 0.7 and 0.3." % (source, explicit)
        )
    share = max(0.0, 1.0 - explicit) / unweighted if unweighted else 0.0

    components: list[Component] = []
    names: set[str] = set()
    for index, item in enumerate(spec):
        cls = COMPONENT_TYPES[item["type"]]
        where = _Where(source, index, cls.type_name)
        allowed = {"type", "weight", "name"} | set(cls.options)
        for key in item:
            if key not in allowed:
                where.fail(key, item[key], "no such option; allowed options: " + ", ".join(sorted(allowed)))
        name = _text(item["name"], "name", where) if "name" in item else cls.type_name
        if name in names:
            where.fail("name", name, "a name not used by another component (set \"name\" to tell them apart)")
        names.add(name)
        weight = float(item["weight"]) if "weight" in item else share
        opts: dict[str, Any] = {}
        for option, (check, default) in cls.options.items():
            if option in item:
                opts[option] = check(item[option], option, where)
            elif default is _REQUIRED:
                where.fail(option, None, "a value: this option is required")
            else:
                opts[option] = default
        try:
            components.append(cls(name, weight, opts))
        except RewardConfigError as exc:
            raise RewardConfigError("%s[%d]: %s" % (source, index, exc)) from None
    return components


def components_from_env(environ: Mapping[str, str], var: str = ENV_COMPONENTS) -> list[Component]:
    """Build the components from ``environ[var]`` (JSON), or the defaults when unset/blank."""
    raw = environ.get(var)
    if raw is None or not raw.strip():
        return build_components(list(DEFAULT_COMPONENTS), source=var)
    try:
        spec = json.loads(raw)
    except ValueError as exc:
        shown = raw if len(raw) <= 120 else raw[:117] + "..."
        raise RewardConfigError(
            "%s is not valid JSON (%s); received %r; expected a JSON list of components such as "
            '[{"type": "numeric_match", "weight": 0.7}, {"type": "anti_gaming", "weight": 0.3}].' % (var, exc, shown)
        ) from None
    return build_components(spec, source=var)
