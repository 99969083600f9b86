"""Text helpers for the reward function: message content, final-answer location, numbers.

Pure and stdlib only. Every regular expression is compiled once, at import. Most lookups use
``str.rfind`` / ``in`` (C speed) and fall back to a regular expression only where one is needed.

Degenerate text. RL policies that collapse emit responses such as a million digits, one token
repeated thousands of times, unbalanced braces or blank floods. Every lookup here is linear in the
length of the text or reads a bounded part of it, so that any response up to 1 MB is read in a few
milliseconds (tests/lambdas/test_reward_degenerate.py, bench/reward_bench.py). The bounds below
only ever change the result for such text; realistic responses (up to tens of KB, the final answer
near the end) are read exactly as without them:

  * ``TAIL_WINDOW`` (64 KB): the fallback "last number" is looked for in the last 64 KB of the
    text (a run of number characters crossing the window's start is left out), and a text whose
    lower-casing changes its length (it holds U+0130, "\u0130") is searched for its answer phrase
    in its last 64 KB;
  * ``HEAD_WINDOW`` (64 KB): the first number of an answer region (the marked answer, the line
    after the last "=") is looked for in the region's first 64 KB (a run of number characters
    crossing the window's end is left out);
  * ``KEYWORD_TRIES`` (1024): at most 1024 occurrences of the answer keywords ("answer",
    "result", "solution", "total"; each from the end of the text) are passed over before the
    search for an answer phrase gives up;
  * ``BOXED_BRACES`` (1024): a ``\\boxed{...}`` group holding more than 1024 inner ``{...}`` groups
    is treated as unclosed (as an unbalanced one is).

Markers are found with str.rfind / str.find (each search resumes where the last one stopped), and
the patterns read runs of blanks possessively (``*+``), so that a run costs one pass.
"""

from __future__ import annotations

import re

# typing is only read by the type checker: importing it at run time would add ~2 ms to the cold
# start of the reward Lambda (bench/reward_bench.py), and the annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Literal, TypeAlias

    #: ``(region, marker, number_token)``: the marked final answer, its marker ("solution",
    #: "boxed", "####", "keyword"; None when nothing is marked) and the number token leading it.
    Located: TypeAlias = tuple[str | None, str | None, str | None]
    #: ``(answer_start, number_token)`` of a keyword answer ("the answer is 42" -> (14, "42")).
    KeywordAnswer: TypeAlias = tuple[int, str | None]

BEGIN_SOLUTION = "<|begin_of_solution|>"
END_SOLUTION = "<|end_of_solution|>"
END_THINK = "</think>"

# A number: optional sign, digits with optional thousands separators, optional decimals and exponent.
# The look-behind refuses digits glued to a word or to another number ("H2O", "1.2.3", "10-12" -> 10, 12).
_NUMBER_BODY = r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:[eE][-+]?\d+(?!\w))?|\.\d+)"
NUMBER_RE = re.compile(r"(?<![\w.])" + _NUMBER_BODY, re.ASCII)  # ASCII digits only, like the str.rfind shortcuts
# A number leading an answer region ("  $1,234", "**42**"), unless it starts a fraction.
# The whole number (no backtracking into its digits, decimals or exponent), not a numerator.
# Runs of blanks are read possessively (*+: never given back, which could not help the match), so
# that a long run costs one pass, not a backtrack per character.
_NOT_CUT = r"(?![.,]?\d|[eE][-+]?\d|\s*+/\s*\d)"
_LEAD_NUMBER_RE = re.compile(r"[\s*$]*+((?<![\w.])" + _NUMBER_BODY + r")" + _NOT_CUT, re.ASCII)
# A fraction, only honoured inside an explicitly marked final answer: "3/4", "\frac{3}{4}", "\dfrac{3}{4}".
FRACTION_RE = re.compile(
    r"\\[dt]?frac\s*\{\s*([-+]?\d+(?:\.\d+)?)\s*\}\s*\{\s*([-+]?\d+(?:\.\d+)?)\s*\}"
    r"|(?<![\w.])([-+]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)(?!\.?\d)",
    re.ASCII,
)
# "answer is", "Final Answer:", "the result would be", "solution =", "total is" ... (last one wins).
# Located with str.rfind on the lower-cased text; this pattern only checks the words that follow.
ANSWER_KEYWORDS = ("answer", "result", "solution", "total")
_CONNECTIVE = (
    r"s?(?:\s*+\*\*)?\s*+(?:(?:is|was|are|will\s++be|would\s++be|should\s++be|equals)(?![a-z])|=|:)"
    r"(?:\s*+\*\*)?\s*+[:=]?"
)
# The connective, then (captured when present) the number that leads the answer.
_CONNECTIVE_RE = re.compile(
    _CONNECTIVE + r"(?:[\s*$]*+((?<![\w.])" + _NUMBER_BODY + r")" + _NOT_CUT + r")?", re.I | re.ASCII
)
# The same rule as one pattern, for text whose lower-casing changes its length (rare non-ASCII).
ANSWER_RE = re.compile(
    r"(?i:(?<!\w)(?:answer|result|solution|total)(" + _CONNECTIVE + r"))"
)
_DIGITS = "0123456789"
_ASCII_DIGITS = frozenset(_DIGITS)
_NUMBER_CHARS = frozenset("0123456789,.eE+-")
_NUMBER_CHARS_STR = "0123456789,.eE+-"  # every character a NUMBER_RE match can hold
#: Every character ``str.isspace`` accepts (what ``str.split()`` and ``\s`` in str patterns treat as
#: whitespace), spelled out so that it can be given to ``str.strip`` (tests check the list).
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# Bounds on degenerate text (see the module docstring).
TAIL_WINDOW = 1 << 16
HEAD_WINDOW = 1 << 16
KEYWORD_TRIES = 1024
BOXED_BRACES = 1024
_LONG = 256  # a region at most this long is searched for its first number directly
_UNICODE_MINUS = "\u2212"
_STRIP_CHARS = " \t\r\n.,;:!?\"'`*$()[]{}"


def content_text(content: object) -> str | None:
    """Normalise a message ``content`` to text.

    Accepts a string, a list of strings / ``{"type": "text", "text": ...}`` chunks, or a dict with
    ``text`` (or ``content``). Returns ``None`` for anything else (the caller reports the sample).
    """
    if type(content) is str:
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for chunk in content:
            if type(chunk) is str:
                parts.append(chunk)
            elif isinstance(chunk, dict):
                text = chunk.get("text")
                if type(text) is str:
                    parts.append(text)
                elif text is None:
                    continue  # an image, a tool call ... carries no text to score
                else:
                    return None
            else:
                return None
        return "\n".join(parts)
    if isinstance(content, dict):
        if "text" in content:
            return content_text(content["text"])
        if "content" in content:
            return content_text(content["content"])
        return None
    if isinstance(content, str):  # a str subclass
        return str(content)
    return None


def _braced(text: str, start: int) -> str | None:
    """Return the content of the ``{...}`` group opening at or after ``start`` (spaces allowed).

    None when the group is not closed, or holds more than BOXED_BRACES inner groups.
    """
    n = len(text)
    i = start
    if i < n and text[i] == " ":
        rest = text[i:]
        i += len(rest) - len(rest.lstrip(" "))
    if i >= n or text[i] != "{":
        return None
    depth = inner = 0
    begin = i + 1
    # Scan brace by brace with str.find rather than char by char; each search resumes after the
    # brace it last found, so the text is read once.
    o = text.find("{", begin)
    c = text.find("}", begin)
    while c >= 0:
        if 0 <= o < c:
            depth += 1
            inner += 1
            if inner > BOXED_BRACES:
                return None
            o = text.find("{", o + 1)
        else:
            if depth == 0:
                return text[begin:c]
            depth -= 1
            c = text.find("}", c + 1)
    return None


def _line_from(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def strip_reasoning(text: str) -> str:
    """Drop a ``<think>...</think>`` preamble when an answer follows it."""
    k = text.rfind(END_THINK)
    if k >= 0:
        rest = text[k + len(END_THINK):]
        if rest and not rest.isspace():
            return rest
    return text


def final_answer(text: str) -> tuple[str | None, str | None]:
    """Locate the explicitly marked final answer.

    Returns ``(region, marker)``; marker is one of ``"solution"``, ``"boxed"``, ``"####"``,
    ``"keyword"`` or ``None`` (nothing marked: region is ``None``). Precedence: the last
    ``<|begin_of_solution|>`` block (refined by a marker inside it), the last ``\\boxed{}``, the
    last ``####`` line, the last "answer is / answer: / result = ..." phrase. A ``<think>...</think>``
    preamble is ignored when an answer follows it.
    """
    region, marker, _ = locate_answer(text)
    return region, marker


def locate_answer(text: str) -> Located:
    """final_answer plus the number token that leads the region, when there is one (else None)."""
    # Single-character pre-checks (memchr) spare the multi-character searches most texts fail.
    angle = "<" in text
    if angle and END_THINK in text:
        text = strip_reasoning(text)
    i = text.rfind(BEGIN_SOLUTION) if angle else -1
    if i >= 0:
        j = text.find(END_SOLUTION, i)
        block = text[i + len(BEGIN_SOLUTION): j if j >= 0 else len(text)]
        found = _marked(block)
        if found[1] is not None:
            return found
        m = _LEAD_NUMBER_RE.match(block)
        return block, "solution", (m.group(1) if m is not None else None)
    return _marked(text)


def _marked(text: str) -> Located:
    i = text.rfind("\\boxed") if "\\" in text else -1
    if i >= 0:
        inner = _braced(text, i + 6)
        if inner is not None:
            m = _LEAD_NUMBER_RE.match(inner)
            return inner, "boxed", (m.group(1) if m is not None else None)
    i = text.rfind("####") if "#" in text else -1
    if i >= 0:
        end = text.find("\n", i)
        m = _LEAD_NUMBER_RE.match(text, i + 4, len(text) if end < 0 else end)
        return text[i + 4:] if end < 0 else text[i + 4:end], "####", (m.group(1) if m is not None else None)
    found = keyword_answer(text)
    if found is not None:
        start, quick = found
        end = text.find("\n", start)
        return text[start:] if end < 0 else text[start:end], "keyword", quick
    return None, None, None


def keyword_answer(text: str, fast: bool = True) -> KeywordAnswer | None:
    """The last "answer is / answer: / result = ..." phrase: ``(answer_start, number_token)``
    (the token is None when no number leads the answer), or None.

    Keywords are found with str.rfind on the lower-cased text; the words after a keyword are
    checked with a regular expression, except for the common "... is 42" / "...: 42" (``fast``).
    """
    low = text.lower()
    if len(low) != len(text):  # lower-casing changed offsets: use the single-pattern scan (of the tail)
        last = None
        for match in ANSWER_RE.finditer(text, max(0, len(text) - TAIL_WINDOW)):
            last = match
        return _connective(text, last.start(1)) if last is not None else None
    best_at, best = -1, None
    found: KeywordAnswer | Literal[False] | None
    tries = KEYWORD_TRIES  # occurrences that may be passed over (counted only when one is)
    for kw in ANSWER_KEYWORDS:
        p = low.rfind(kw, best_at + 1)
        while p > best_at:
            before = low[p - 1] if p else " "
            if before == " " or not (before.isalnum() or before == "_"):
                q = p + len(kw)
                if fast and low.startswith(" is ", q):  # the common "answer is 42": no pattern
                    found = _plain_number_at(low, q + 4)
                else:
                    found = _fast_connective(low, q) if fast else None
                if found is None:
                    found = _connective(low, q)
                if found:
                    best_at, best = p, found
                    break
            tries -= 1
            if not tries:
                return best
            p = low.rfind(kw, best_at + 1, p)
    return best


def _connective(text: str, pos: int) -> KeywordAnswer | None:
    m = _CONNECTIVE_RE.match(text, pos)
    if m is None:
        return None
    if m.group(1) is None:
        return m.end(), None
    return m.start(1), m.group(1)


_CONNECTIVE_WORDS = ("is", "was", "are", "will", "would", "should", "equals", "=", ":")


def _fast_connective(low: str, q: int) -> tuple[int, str] | Literal[False] | None:
    """Shortcut for _connective on lower-cased text: ``False`` when it cannot match, its result
    for "... is <number>" / "...: <number>", or None to defer to it."""
    if low.startswith(" is ", q):
        return _plain_number_at(low, q + 4)
    if low.startswith(": ", q):
        return _plain_number_at(low, q + 2)
    # Necessary condition for the pattern: [s] [blanks] [**] [blanks] then a connective word.
    rest = low[q:q + 24]
    for r in (rest, rest[1:] if rest[:1] == "s" else None):
        if r is not None:
            r = r.lstrip().lstrip("*").lstrip()
            if not r or r.startswith(_CONNECTIVE_WORDS):
                return None  # maybe: the pattern decides
    return False  # "the total before ...", "answer the question": no connective


def _plain_number_at(low: str, j: int) -> tuple[int, str] | None:
    """``(j, token)`` when a plain number ("42", "1,234", "12.5") starts at ``j`` and ends at a
    blank or punctuation, as _CONNECTIVE_RE would read it; None to defer to the pattern."""
    chunk = low[j:j + 24]
    if chunk[:1] not in _ASCII_DIGITS:
        return None
    parts = chunk.split(None, 1)
    token = parts[0]
    core = token.rstrip(".,;:!?)*")
    if len(token) == 24 or not core.isascii():
        return None  # maybe cut by the chunk, or non-ASCII digits: the pattern decides
    if not core.isdecimal():
        # "1,234" / "12.5" / "1,234.5" as NUMBER_RE reads them; anything else: the pattern decides.
        whole, dot, decimals = core.partition(".")
        if dot and not decimals.isdecimal():
            return None
        if "," in whole:
            groups = whole.split(",")
            if len(groups[0]) > 3 or not groups[0].isdecimal():
                return None
            for group in groups[1:]:
                if len(group) != 3 or not group.isdecimal():
                    return None
        elif not whole.isdecimal():
            return None
    if len(parts) > 1 and parts[1][:1] == "/":
        return None  # "3 / 4"
    return j, core


def keyword_answer_end(text: str) -> int:
    """Start offset of the answer after the last "answer is / answer: / ..." phrase, or -1."""
    found = keyword_answer(text)
    return -1 if found is None else found[0]


def to_float(token: str) -> float | None:
    """Parse a token matched by NUMBER_RE. Returns None when it is not a finite number."""
    try:
        value = float(token.replace(",", "")) if "," in token else float(token)
    except ValueError:
        return None
    return value if value - value == 0.0 else None  # inf - inf and nan - nan are nan


def first_number(region: str, fractions: bool = True) -> float | None:
    """The first number in an answer region (fractions allowed), or None.

    Only the region's first HEAD_WINDOW characters are read (a run of number characters that
    crosses that bound is left out).
    """
    if _UNICODE_MINUS in region:
        region = region.replace(_UNICODE_MINUS, "-")
    if len(region) <= _LONG:
        m = NUMBER_RE.search(region)
    else:
        end = len(region) if len(region) <= HEAD_WINDOW else _cut_before(region, HEAD_WINDOW)
        digit = min([p for p in (region.find(d, 0, end) for d in _DIGITS) if p >= 0], default=-1)
        # A number holds a digit and starts at most two characters before it ("-.5").
        m = NUMBER_RE.search(region, max(0, digit - 2), end) if digit >= 0 else None
    if m is None:
        return None
    if fractions and ("/" in region or "frac" in region):
        # A fraction that starts at or before the first number holds it: "\\frac{" + it (so it
        # starts at the last backslash before it) or it as numerator: two anchored matches.
        p = m.start()
        k = region.rfind("\\", 0, p)
        f = FRACTION_RE.match(region, k) if k >= 0 else None
        if f is None:
            f = FRACTION_RE.match(region, p)
        if f is not None:
            num, den = (f.group(1), f.group(2)) if f.group(1) is not None else (f.group(3), f.group(4))
            a, b = to_float(num), to_float(den)
            if a is not None and b:
                return a / b
    return to_float(m.group())


def _cut_before(text: str, i: int) -> int:
    """The last offset ``<= i`` that no number spans (0, or just after a character no number holds)."""
    step = 64
    while i > 0:
        lo = max(0, i - step)
        kept = text[lo:i].rstrip(_NUMBER_CHARS_STR)
        if kept:
            return lo + len(kept)
        i, step = lo, step * 4
    return 0


def _cut_after(text: str, i: int) -> int:
    """The first offset ``>= i`` that no number spans (see _cut_before), or len(text)."""
    n = len(text)
    if i <= 0 or text[i - 1] not in _NUMBER_CHARS:
        return max(i, 0)
    step = 64
    while i < n:
        chunk = text[i:i + step]
        rest = chunk.lstrip(_NUMBER_CHARS_STR)
        if rest:
            return i + len(chunk) - len(rest) + 1
        i, step = i + len(chunk), step * 4
    return n


def last_number(text: str) -> float | None:
    """The last number in ``text``, or None (same result as the last of NUMBER_RE.findall(text)).

    Only the last TAIL_WINDOW characters are read (a run of number characters that crosses that
    bound is left out). Finds the last digit with str.rfind and reads the run of number characters
    around it; after a few runs without a number ("x1 x1 ..."), reads windows from there back, each
    starting and ending where no number spans (so that a window holds exactly the numbers
    NUMBER_RE.findall finds there in the whole text), skipping windows without a digit, until one
    holds a number.
    """
    if _UNICODE_MINUS in text:
        text = text.replace(_UNICODE_MINUS, "-")
    n = len(text)
    floor = 0 if n <= TAIL_WINDOW else _cut_after(text, n - TAIL_WINDOW)
    end = n
    runs = 4  # runs read one by one before reading windows
    while end > floor:
        if end == n and not floor:
            p = max(map(text.rfind, _DIGITS))
        else:
            p = max(text.rfind(d, floor, end) for d in _DIGITS)
        if p < floor:
            return None
        lo = p - 32 if p - 32 > floor else floor
        i = p  # the start of the run of number characters ending at the digit
        while i > lo and text[i - 1] in _NUMBER_CHARS:
            i -= 1
        if i == lo and i > floor and text[i - 1] in _NUMBER_CHARS:  # a long run: find its start in C
            i = _cut_before(text, i)
        found = NUMBER_RE.findall(text, i, p + 2)
        if found:
            return to_float(found[-1])
        end = i
        runs -= 1
        if not runs:
            break
    size = 256
    while end > floor:
        start = _cut_before(text, end - size) if end - size > floor else floor
        start = max(start, floor)
        for d in _DIGITS:
            if text.find(d, start, end) >= 0:
                found = NUMBER_RE.findall(text, start, end)
                if found:
                    return to_float(found[-1])
                break
        end, size = start, size * 4
    return None


def extract_number(text: str) -> tuple[float | None, str | None]:
    """Tolerant numeric answer extraction.

    Returns ``(value, how)``: the number in the marked final answer (solution block, ``\\boxed{}``,
    ``####``, "answer is ..."), else the number after the last ``=``, else the last number;
    ``how`` names the rule used (``None`` when no number was found).
    """
    return number_from(text, locate_answer(text))


def number_from(text: str, located: Located) -> tuple[float | None, str | None]:
    """extract_number, given ``located = locate_answer(text)`` already computed."""
    region, marker, quick = located
    if quick is not None:
        value = float(quick) if quick.isdecimal() else to_float(quick)
        if value is not None:
            return value, marker
    if region is not None:
        value = first_number(region)
        if value is not None:
            return value, marker
    if END_THINK in text:
        text = strip_reasoning(text)
    i = text.rfind("=")
    if i >= 0:
        value = first_number(_line_from(text, i + 1), fractions=False)
        if value is not None:
            return value, "="
    value = last_number(text)
    return value, ("last" if value is not None else None)


def normalize_answer(text: str) -> str:
    """Case-folded, whitespace-collapsed text without surrounding punctuation or markdown."""
    text = " ".join(text.split()).casefold()
    return text.strip(_STRIP_CHARS)


_ENDS = _STRIP_CHARS + WHITESPACE  # (this order strips fastest)


def normalized_within(text: str, limit: int) -> str | None:
    """``normalize_answer(text)`` when it is at most ``limit`` characters long, else None.

    Linear however long the text: what normalize_answer strips from the ends goes first (in C),
    then at most ``limit + 1`` words are split off; a longer result is known from its length
    (case folding never shortens a character, nor turns one into a blank or stripped character).
    """
    core = text.strip(_ENDS)
    words = core.split(None, limit)
    if len(words) > limit or sum(map(len, words)) + len(words) - 1 > limit:
        return None
    return " ".join(words).casefold().strip(_STRIP_CHARS)
