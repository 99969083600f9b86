"""Reward handler on degenerate responses (hardening §3): linear time, bounded windows, same scores.

RL training produces collapsed outputs (a million digits, one token repeated thousands of times,
unbalanced braces, blank floods, ...). Every shape of tests/fixtures/reward/degenerate/shapes.json
is scored with every component configuration there at 10 KB, 100 KB and 1 MB (10^6 characters):

  * at 1 MB within BOUND (0.5 s: generous, for a slow shared 2-core CI machine; the 50 ms per MB
    target itself is shown by bench/reward_bench.py), projected from 100 KB when that already
    exceeds it (the quadratic shapes took 5 to 400 s at 1 MB before the hardening);
  * growing linearly: t(1 MB) / t(100 KB) < GROWTH (about 10 when linear, 100 when quadratic).

Then the bounds (see extract.py and components.py) give sensible results on degenerate input, and
the linear code paths agree with the plain definitions on texts within the bounds.
"""

import json
import random
import re
import time
from pathlib import Path

import pytest

from sagemaker_finetuning.lambda_src.reward import components as C
from sagemaker_finetuning.lambda_src.reward import extract as X
from sagemaker_finetuning.lambda_src.reward.scoring import Scorer

REPO = Path(__file__).resolve().parents[2]
SUITE = json.loads((REPO / "tests" / "fixtures" / "reward" / "degenerate" / "shapes.json").read_text())
SHAPES = SUITE["shapes"]
MB = 1_000_000
BOUND = 0.5  # seconds for one 1 MB sample, per configuration
GROWTH = 30  # t(1 MB) / t(100 KB)
FLOOR = 0.02  # a 1 MB time below this is fast whatever its growth (timer and cache noise dominate)


def degenerate_text(shape, size):
    head, unit, tail = shape["head"], shape["unit"], shape["tail"]
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def sample(text, truth):
    return {"id": "d", "reward_model": {"ground_truth": truth},
            "messages": [{"role": "user", "content": "Solve the problem."}, {"role": "assistant", "content": text}]}


def scorers():
    out = {}
    for name, config in SUITE["configs"].items():
        spec = list(C.DEFAULT_COMPONENTS) if config is None else config
        out[name] = (Scorer(C.build_components(spec)), SUITE["ground_truths"].get(name, SUITE["default_ground_truth"]))
    return out


def cpu_seconds(scorer, smp, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        result = scorer.score(smp, 0)
        best = min(best, time.process_time() - t0)
    names = [m["name"] for m in result["metrics_list"]]
    assert not any(n.startswith("error:") for n in names), names  # a bound never turns into an error
    assert -1.0 <= result["aggregate_reward_score"] <= 1.0
    return best


def _check_config(scorer, truth, shape):
    """A failure message for one configuration on one shape, or None."""
    t10 = cpu_seconds(scorer, sample(degenerate_text(shape, 10_000), truth), 2)
    t100 = cpu_seconds(scorer, sample(degenerate_text(shape, 100_000), truth), 2)
    if t100 * 10 > BOUND:
        return "%.0f ms at 100 KB: >= %.1f s projected at 1 MB" % (t100 * 1e3, t100 * 10)
    if t100 > FLOOR / 4 and t100 / max(t10, 1e-6) > GROWTH:
        return "superlinear: %.1f ms at 10 KB, %.1f ms at 100 KB" % (t10 * 1e3, t100 * 1e3)
    big = sample(degenerate_text(shape, MB), truth)
    t1m = cpu_seconds(scorer, big)
    if t1m > BOUND or (t1m > FLOOR and t1m / t100 > GROWTH):
        t1m = cpu_seconds(scorer, big, 3)  # a busy machine: measure again before failing
        t100 = cpu_seconds(scorer, sample(degenerate_text(shape, 100_000), truth), 3)
    if t1m > BOUND:
        return "%.0f ms at 1 MB (bound %.0f ms)" % (t1m * 1e3, BOUND * 1e3)
    if t1m > FLOOR and t1m / t100 > GROWTH:
        return "superlinear: %.1f ms at 100 KB, %.1f ms at 1 MB" % (t100 * 1e3, t1m * 1e3)
    return None


@pytest.mark.parametrize("shape", SHAPES, ids=[s["name"] for s in SHAPES])
def test_degenerate_shape_is_scored_in_linear_bounded_time(shape):
    failures = []
    for name, (scorer, truth) in scorers().items():
        failure = _check_config(scorer, truth, shape)
        if failure is not None:
            failures.append("%s / %s: %s" % (shape["name"], name, failure))
    assert not failures, "\n".join(failures)


def test_the_shape_set_covers_the_issue():
    names = {s["name"] for s in SHAPES}
    assert {"x1_space", "digit_run", "digit_comma", "open_braces", "open_brackets", "json_nesting", "answer_is",
            "boxed_open", "spaces", "newlines", "long_word", "choice_letters", "json_fragment",
            "unicode_digits"} <= names
    assert {c["type"] for spec in SUITE["configs"].values() if spec for c in spec} == set(C.COMPONENT_TYPES)


# --------------------------------------------------------------------------------------------
# Sensible results on degenerate input


def one(spec):
    return C.build_components([dict(spec, weight=1)])[0]


def view(response, truth=("42",), prompt="Solve the problem."):
    return C.SampleView(response, prompt, C.GroundTruth(tuple(truth)))


def test_a_marked_answer_survives_a_degenerate_tail():
    text = "Step 1.\nThe answer is 42.\n" + "x1 " * 300_000
    assert X.extract_number(text) == (42.0, "keyword")
    assert one({"type": "numeric_match"}).score(view(text)) == 1.0
    assert X.extract_number("\\boxed{42}" + "{" * 500_000) == (42.0, "boxed")


def test_a_run_of_number_characters_is_no_number():
    # "1,1,1,...": the run covers the whole 64 KB tail window: no number (it read 1 before, in 0.15 s).
    v = view("1," * 500_000, truth=["1"])
    assert one({"type": "numeric_match"}).score(v) == 0.0 and v.diagnostics == [("numeric_match:no_answer", 1.0)]
    assert X.last_number("1" * MB) is None  # as before: a million digits overflow a float


def test_last_number_reads_the_tail_window():
    pad = "a" * X.TAIL_WINDOW
    assert X.last_number("7 " + pad) is None  # beyond the window
    assert X.last_number("7 " + pad[:-10]) == 7.0
    assert X.last_number("7 " + pad + " 8 " + "x1 " * 20_000) == 8.0


def test_first_number_reads_the_head_window():
    assert X.first_number(" " * X.HEAD_WINDOW + "5") is None
    assert X.first_number(" " * (X.HEAD_WINDOW - 10) + "5") == 5.0
    assert X.first_number(" " * 1000 + "\\frac{3}{4}") == 0.75


def test_boxed_group_with_too_many_inner_groups_is_unclosed():
    n = X.BOXED_BRACES
    assert X.final_answer("\\boxed{" + "{x}" * n + "42}") == ("{x}" * n + "42", "boxed")
    assert X.final_answer("\\boxed{" + "{x}" * (n + 1) + "42}") == (None, None)
    assert X.final_answer("#### 7\n\\boxed{" + "{" * (n + 1) + "}" * (n + 2))[1] == "####"


def test_keyword_search_gives_up_after_many_occurrences():
    # "answer" is looked for first: 1024 occurrences passed over end the search before "total".
    tail = " answer" * X.KEYWORD_TRIES
    assert X.keyword_answer("The total is 42." + tail[:-7]) == (13, "42")
    assert X.keyword_answer("The total is 42." + tail) is None
    assert X.keyword_answer("The answer is 42." + " total" * 5000) == (14, "42")  # found before the cap


def test_json_too_long_is_not_parsed_and_says_so():
    jv = one({"type": "json_valid"})
    big = "[" + "1, " * 30_000 + "1]"
    v = view(big)
    assert jv.score(v) == 0.0 and v.diagnostics == [("json_valid:too_long", 1.0)]
    assert one({"type": "json_valid", "max_chars": 200_000}).score(view(big)) == 1.0
    # A long response with a short embedded JSON answer is still read.
    v = view("thinking " * 20_000 + '```json\n{"a": 1}\n```')
    assert jv.score(v) == 1.0 and v.diagnostics is None


def test_regex_searches_a_bounded_window():
    rx = one({"type": "regex", "pattern": r"answer is (\d+)", "match_ground_truth": True})
    assert rx.score(view("answer is 42 " + "x" * 5000)) == 0.0  # outside the last 4096 characters
    assert rx.score(view("x" * 5000 + " answer is 42")) == 1.0
    wide = one({"type": "regex", "pattern": r"answer is (\d+)", "window": 65536})
    assert wide.score(view("answer is 42 " + "x" * 50_000)) == 1.0
    no = one({"type": "regex", "pattern": "(?i)as an ai", "expect": "no_match"})
    assert no.score(view("x" * 5000 + "As an AI")) == 0.0 and no.score(view("As an AI" + "x" * 5000)) == 1.0
    # Anchored at the start: one attempt, over the first 16 KB (a whole-response format check).
    fmt = one({"type": "regex", "pattern": r"^<think>.*?</think>\s*<answer>.*?</answer>\s*$", "flags": "s"})
    assert fmt.score(view("<think>" + "x" * 15_000 + "</think>\n<answer>42</answer>")) == 1.0
    assert fmt.score(view("<think>" + "x" * C.ANCHORED_WINDOW + "</think><answer>42</answer>")) == 0.0
    wide = one({"type": "regex", "pattern": r"^<think>.*?</think>\s*<answer>.*?</answer>\s*$", "flags": "s",
                "window": 1 << 16})
    assert wide.score(view("<think>" + "x" * 50_000 + "</think>\n<answer>42</answer>")) == 1.0
    head = one({"type": "regex", "pattern": r"^<think>"})
    assert head.score(view("<think>" + "x" * 100_000)) == 1.0
    assert head.score(view("x<think>" + "x" * 100_000)) == 0.0


def test_a_quadratic_user_pattern_costs_a_bounded_time():
    """The window bounds what a pattern that backtracks quadratically can cost: the same at 100 KB
    and at 1 MB (an R1-style format check on a tag loop; an unanchored pattern on a digit run)."""
    for spec, unit, head in (
        ({"pattern": r"^<think>.*?</think>\s*<answer>.*?</answer>\s*$", "flags": "s"}, "</think><answer>x", "<think>"),
        ({"pattern": r"\d+\.\d+"}, "1", ""),
    ):
        rx = one(dict(spec, type="regex"))
        times = []
        for size in (100_000, MB):
            v = view(head + unit * (size // len(unit)))
            t0 = time.process_time()
            assert rx.score(v) == 0.0
            times.append(time.process_time() - t0)
        assert max(times) < BOUND and times[1] < 3 * times[0] + FLOOR, (spec, times)


@pytest.mark.parametrize("pattern", [
    r"(a+)+$", r"(\w+\s?)*$", r"^(\d+)*x", r"(?:a*)*b", r"((ab)?c+)+d", r"(?i)(x+x?)+y", r"(?=(a+)+b)",
])
def test_exponential_regex_is_rejected_at_configuration(pattern):
    with pytest.raises(C.RewardConfigError, match="exponential time"):
        one({"type": "regex", "pattern": pattern})


@pytest.mark.parametrize("pattern", [
    r"(\d+,)*\d+", r"(?:,\d{3})+", r"(\w+\s)*", r"(a|b)+", r"(?>a+)+", r"a++", r"(\d{3})+", r"answer is (\d+)",
    r"\\boxed\{([^}]*)\}", r"(x+)?y", r"(?:ab+)+",
])
def test_ordinary_regex_is_accepted(pattern):
    one({"type": "regex", "pattern": pattern})


def test_anchored_patterns_are_recognised():
    def anchored(pattern, flags=0):
        return C._anchored_at_start(C._parse_pattern(pattern, flags), pattern, re.compile(pattern, flags).flags)

    assert anchored("^a") and anchored(r"\Aa") and anchored("(?i)^a") and anchored("^a", re.I)
    assert not anchored("a^") and not anchored("^a|b") and not anchored("^a", re.M) and not anchored("(?m)^a")
    assert C._anchored_at_start(None, "(?i)^a", 0) and not C._anchored_at_start(None, "^a", re.M)


def test_multiple_choice_on_long_decorated_texts():
    mc = one({"type": "multiple_choice"})
    assert mc.letter("option" + " " * MB + "B") == "B"
    assert mc.letter("  (" * 100_000 + "c" + ")." * 100_000) == "C"
    assert mc.letter(" " * MB + "B - 7") == "B"
    assert mc.chosen(view("x (A) " * 100_000 + "x" * 10_000 + "(D)" + "(" * 100_000)) == "D"
    assert mc.chosen(view("(A) " * 100_000)) == "A"


def test_exact_match_on_long_texts():
    em = one({"type": "exact_match"})
    assert em.score(view(". " * 100_000 + "Paris" + " !" * 100_000, truth=["paris"])) == 1.0
    assert em.score(view("Paris " * 100_000, truth=["paris"])) == 0.0
    contains = one({"type": "exact_match", "contains": True, "target": "response"})
    assert contains.score(view("x1 " * 100_000 + "New-York city" + " y" * 1000, truth=["new york"])) == 1.0
    assert contains.score(view("x1 " * 100_000 + "New-Yorker", truth=["new york"])) == 0.0
    assert contains.score(view("!? " * 100_000, truth=["@@"])) == 1.0  # no words on either side, as before


# --------------------------------------------------------------------------------------------
# The linear paths agree with the plain definitions (texts within the bounds)

FRAGMENTS = [
    " ", "  ", "\n", "\t", "\u00a0", "\u3000", ".", ",", ":", "*", "**", "$", "(", ")", "[", "]", "{", "}", "!", "?",
    "-", "+", "/", " / ", "_", "'", "x", "a", "e", "E", "H2O", "x1", "B", "b", "(B)", "(C)", "B)", "option ", "choice ",
    "answer", "answers", "result", "solution", "total", " is ", "is", ": ", " = ", "=", " will be ", "\\frac{", "\\frac{3}{4}",
    "\\dfrac{1}{2}", "3/4", "1,234", "1,23", "12.5", "-7", "\u22125", "1e5", "0.", ".5", "42", "007", "9" * 20, "\u0661",
    "\u0130", "\u00df", "K", "New", "york", "York", "\\boxed{", "####", "\u2028", "\x1c",
]


def random_text(rng, size):
    parts, n = [], 0
    while n < size:
        piece = rng.choice(FRAGMENTS)
        if rng.random() < 0.02:
            piece *= rng.randint(10, 400)  # a run
        parts.append(piece)
        n += len(piece)
    return "".join(parts)


def ref_first_number(region, fractions=True):
    """first_number before the bounds: a search for the number, then for a fraction."""
    region = region.replace("\u2212", "-")
    m = X.NUMBER_RE.search(region)
    if m is None:
        return None
    if fractions and ("/" in region or "frac" in region):
        f = X.FRACTION_RE.search(region)
        if f is not None and f.start() <= m.start():
            num, den = (f.group(1), f.group(2)) if f.group(1) is not None else (f.group(3), f.group(4))
            a, b = X.to_float(num), X.to_float(den)
            if a is not None and b:
                return a / b
    return X.to_float(m.group())


def ref_contains(got, e):
    words = C._words
    return (" %s " % words(e)) in (" %s " % words(got))


def test_number_extraction_agrees_with_the_definitions():
    rng = random.Random(20240611)
    for _ in range(300):
        text = random_text(rng, rng.choice([50, 400, 3000, 20_000]))
        found = X.NUMBER_RE.findall(text.replace("\u2212", "-"))
        assert X.last_number(text) == (X.to_float(found[-1]) if found else None), text[-300:]
        assert X.first_number(text) == ref_first_number(text), text[:300]
        assert X.first_number(text, fractions=False) == ref_first_number(text, fractions=False)
        assert X.keyword_answer(text) == X.keyword_answer(text, fast=False)


def test_keyword_search_agrees_with_the_uncapped_search(monkeypatch):
    rng = random.Random(7)
    texts = [random_text(rng, rng.choice([2000, 20_000])) for _ in range(60)]
    capped = [X.keyword_answer(t) for t in texts]
    monkeypatch.setattr(X, "KEYWORD_TRIES", 10**9)
    assert capped == [X.keyword_answer(t) for t in texts]


def test_normalization_and_word_containment_agree_with_the_definitions():
    rng = random.Random(11)
    em = one({"type": "exact_match", "contains": True})
    raw = one({"type": "exact_match", "contains": True, "normalize": False})
    for _ in range(200):
        text = random_text(rng, rng.choice([10, 100, 5000]))
        truth = random_text(rng, rng.choice([1, 5, 20]))
        n = X.normalize_answer(text)
        for limit in (0, 3, len(n), 50):
            assert X.normalized_within(text, limit) == (n if len(n) <= limit else None), (text, limit)
        for comp, got, e in ((em, n, X.normalize_answer(truth)), (raw, text.strip(), truth.strip())):
            expected = comp._prepare((truth,))
            assert comp._score_long(text, expected) == (1.0 if got in expected or (e and ref_contains(got, e)) else 0.0)
        words = C._words(X.normalize_answer(truth))
        assert C._has_words(text.casefold(), words) == ref_contains(n, words)


def test_multiple_choice_patterns_agree_with_the_backtracking_ones():
    mc = one({"type": "multiple_choice"})
    both, up = "ABCDEabcde", "ABCDE"
    alone = re.compile(r"^[\s*(\[]*(?:option\s+|choice\s+)?([%s])[\s*)\].:]*$" % both, re.I)
    leading = re.compile(r"^[\s*]*(?:\(([%s])\)|([%s])(?:[).:]|\s+-\s|$))" % (both, up))

    def ref_letter(text):
        m = alone.match(text) or leading.match(text)
        return (m.group(1) or m.group(2)).upper() if m else None

    rng = random.Random(5)
    pieces = [" ", "\n", "\u3000", "*", "(", "[", ")", "]", ".", ":", "-", " - ", "B", "b", "c", "F", "option", "choice",
              "Option ", "(B)", "x", "\u0130"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) * (rng.randint(1, 50) if rng.random() < 0.1 else 1) for _ in range(rng.randint(0, 8)))
        assert mc.letter(text) == ref_letter(text), repr(text)
        found = mc._paren.findall(text * 2000)
        assert mc._last_paren(text * 2000) == (found[-1] if found else None)


def test_whitespace_list_and_case_folding_premises():
    """The spelled-out WHITESPACE is what str.isspace accepts (and what \\s matches); case folding never
    yields a blank or a stripped character from another, nor an empty string (normalized_within)."""
    chars = [chr(i) for i in range(0x110000)]
    assert set(X.WHITESPACE) == {c for c in chars if c.isspace()} == {c for c in chars if re.match(r"\s", c)}
    ends = set(X._ENDS)
    for c in chars:
        if c not in ends:
            f = c.casefold()
            assert f and f[0] not in ends and f[-1] not in ends and not any(ch.isspace() for ch in f), hex(ord(c))
