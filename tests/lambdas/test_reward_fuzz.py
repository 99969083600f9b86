"""Property-based fuzzing of the reward handler (hypothesis, derandomized: the same examples every run).

Events generated in total (>= 10 000):
  * from shrinkable hypothesis strategies: 1000 (default components) + 700 (random component
    configurations) + 800 (arbitrary JSON events) + 300 (Nova bare lists) = 2 800;
  * from hypothesis-seeded generators (``st.randoms``), 10 events per example, 800 examples =
    8 000 (cheap to generate, so the volume fits the time budget; a failure prints the seed);
For every event: no exception, a reply in the right envelope, one result per sample, ids preserved
and in order, scores finite and within [-1, 1] (checked by the contract checker and directly), and
the fast JSON renderer equal to ``json.dumps`` of the result dicts. Text-level properties check
that the extraction shortcuts agree with the plain regular-expression definitions.
"""

import base64
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagemaker_finetuning.core import reward_contract as RC
from sagemaker_finetuning.lambda_src.reward import components as C
from sagemaker_finetuning.lambda_src.reward import extract as X
from sagemaker_finetuning.lambda_src.reward import handler as H

FUZZ = dict(derandomize=True, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# --------------------------------------------------------------------------------------------
# Strategies

FRAGMENTS = [
    "The answer is ", "the final answer is: ", "Answer: ", "ANSWER IS ", "answers are ", "result = ", "total is ",
    "solution: ", "The total before ", "\\boxed{", "\\boxed {", "}", "{", "####", " #### ", "<|begin_of_solution|>",
    "<|end_of_solution|>", "<think>", "</think>", " = ", "=", "1,234", "1,23", "12.5", "-7", "\u22125", "1e5", "1e999",
    "3/4", " / ", "\\frac{1}{2}", "\\dfrac{3}{", "0.", ".5", "**", "$", "(B)", "B)", "answer: c", "İ", "ß", "\u00a0",
    "\n", "\t", "  " * 20, "." * 40, "\u200b" * 9, "ha" * 30, "```json\n", "```", '{"a": 1}', "[1, 2]", "null",
    "because", "42", "007", "9" * 30, " ", ".", ",", ":", "\\", "#", "<", "e", "x2", "H2O", "10-12",
    "The answer is 1,234.", "answer: 12.5 kg", "the answer is 42\n", "Answer: 3/4", "answer is 7 / 8", "is 1,234,5",
    "0", "1", "72", "1,234,567", "-3.5", "1e-3", "0.1", "A", "c", "\u03a9", "\u0661\u0662", "\u0a66", "\U0001F600",
]
NUMBER_TEXT = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.integers(0, 10**7).map("{:,}".format),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
)
TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS), NUMBER_TEXT, st.text(max_size=6)), max_size=10).map("".join)
SHORT_TEXT = st.one_of(st.sampled_from(["", " ", "4", "B", "Paris", "1,234", "{}", "[", "yes"]), TEXT)

CONTENT = st.one_of(
    TEXT,
    st.lists(st.one_of(st.builds(lambda t: {"type": "text", "text": t}, TEXT), st.just({"type": "image"}), TEXT), max_size=3),
    st.builds(lambda t: {"text": t}, TEXT),
    st.sampled_from([None, 42, 1.5, True, {"image": "x"}, [1], [{"text": 3}]]),
)
ROLE = st.sampled_from(["user", "assistant", "nova_assistant", "system", "tool", None, 3])
MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": ROLE, "content": CONTENT}),
    st.sampled_from([{}, {"role": "assistant"}, "hello", None, 5]),
)
CONVERSATION = st.one_of(
    # the usual shape: ... user, assistant
    st.tuples(st.lists(MESSAGE, max_size=2), SHORT_TEXT, CONTENT, st.sampled_from(["assistant", "nova_assistant"])).map(
        lambda t: t[0] + [{"role": "user", "content": t[1]}, {"role": t[3], "content": t[2]}]),
    st.lists(MESSAGE, max_size=4),
    st.sampled_from([None, "a prompt string", {"role": "assistant"}, 7]),
)
GT_VALUE = st.one_of(SHORT_TEXT, NUMBER_TEXT, st.integers(-1000, 1000), st.floats(allow_nan=True), st.booleans(),
                     st.none(), st.lists(st.one_of(NUMBER_TEXT, st.sampled_from(["A", "b", None, {"x": 1}])), max_size=3))
GROUND_TRUTH = st.one_of(
    GT_VALUE,
    st.dictionaries(st.sampled_from(["ground_truth", "answer", "label", "solution", "text", "other", "x"]), GT_VALUE, max_size=3),
    GT_VALUE.map(lambda v: json.dumps({"answer": v})),
    st.just("{broken json"),
)
IDS = st.one_of(st.none(), st.text(max_size=8), st.integers(-5, 10**6), st.sampled_from(["", "dup", "dup", 1.5, True]))


@st.composite
def samples(draw):
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(["not a sample", 17, None, [], [{"role": "assistant", "content": "4"}]]))
    sample = {}
    if draw(st.booleans()):
        sample["id"] = draw(IDS)
    key = draw(st.sampled_from(["messages", "prompt", "prompt", None]))
    if key is not None:
        sample[key] = draw(CONVERSATION)
    if draw(st.integers(0, 9)) == 0:
        sample[draw(st.sampled_from(["completion", "response"]))] = draw(CONTENT)
    where = draw(st.sampled_from(["reference_answer", "reward_model", "ground_truth", None]))
    if where == "reward_model":
        sample["reward_model"] = draw(st.one_of(st.builds(lambda v: {"ground_truth": v, "style": "rule"}, GROUND_TRUTH),
                                                st.sampled_from(["7", None, {}])))
    elif where is not None:
        sample[where] = draw(GROUND_TRUTH)
    return sample


BATCH = st.lists(samples(), min_size=1, max_size=6)
CONTRACT_ENV = st.sampled_from([{}, {"REWARD_CONTRACT": "auto"}, {"REWARD_CONTRACT": "open-weights"}, {"REWARD_CONTRACT": "nova"}])


def wrap(batch, form):
    if form == "batch":
        return {"batch": batch}
    if form == "body":
        return {"body": json.dumps({"batch": batch})}
    if form == "body64":
        return {"body": base64.b64encode(json.dumps({"batch": batch}).encode()).decode(), "isBase64Encoded": True}
    if form == "input":
        return {"input": batch}
    return batch


FORMS = st.sampled_from(["batch", "body", "body64", "input", "list"])

# --------------------------------------------------------------------------------------------
# The properties


def reply_contract(env, event):
    mode = env.get("REWARD_CONTRACT", "auto")
    if mode == "auto":
        return "nova" if isinstance(event, list) else "open-weights"
    return mode


def check_event(handler, env, batch, event):
    reply = handler(event, None)  # must not raise
    contract = reply_contract(env, event)
    report = RC.check_reply(batch, json.loads(json.dumps(reply)), contract)
    assert report.ok, (report.violations[:5], event)
    results = json.loads(reply["body"]) if contract == "open-weights" else reply
    assert len(results) == len(batch)
    for i, (sample, result) in enumerate(zip(batch, results, strict=True)):
        want = RC.expected_id(sample)
        assert result["id"] == (want if want is not None else "sample-%03d" % i)
        score = result["aggregate_reward_score"]
        assert isinstance(score, float) and math.isfinite(score) and -1.0 <= score <= 1.0
        errors = [m for m in result["metrics_list"] if m["name"].startswith("error:")]
        if errors:  # an unscorable sample: score 0 and exactly one explanation
            assert score == 0.0 and result["metrics_list"] == errors and len(errors) == 1
    # The fast renderer and the dict path agree exactly.
    assert handler.scorer.render_batch(batch) == json.dumps(handler.scorer.score_batch(batch), separators=(",", ":"))
    return results


HANDLERS = {}


def handler_for(env):
    key = json.dumps(env, sort_keys=True)
    if key not in HANDLERS:
        HANDLERS[key] = H.handler_from_env(env)
    return HANDLERS[key]


@settings(max_examples=1000, **FUZZ)
@given(batch=BATCH, form=FORMS, env=CONTRACT_ENV)
def test_fuzz_events_default_components(batch, form, env):
    check_event(handler_for(env), env, batch, wrap(batch, form))


COMPONENT_SPECS = st.sampled_from([
    {"type": "numeric_match", "tolerance": 0.01},
    {"type": "numeric_match", "relative_tolerance": 0.1, "tolerance": 0},
    {"type": "exact_match"}, {"type": "exact_match", "normalize": False, "target": "response"},
    {"type": "exact_match", "contains": True},
    {"type": "multiple_choice"}, {"type": "multiple_choice", "choices": "ABCD"},
    {"type": "regex", "pattern": r"\d+"}, {"type": "regex", "pattern": "(?i)answer: (\\w+)", "match_ground_truth": True},
    {"type": "regex", "pattern": "because", "expect": "no_match", "target": "answer"},
    {"type": "json_valid"}, {"type": "json_valid", "schema": {"type": "object", "required": ["a"]}, "partial_credit": 0.2},
    {"type": "format"}, {"type": "format", "markers": ["boxed", "####"]},
    {"type": "anti_gaming"}, {"type": "anti_gaming", "veto": False, "penalties": {"empty": 0.0, "echo": 0.3}},
    {"type": "anti_gaming", "checks": ["repetition"], "max_repeats": 2, "repeat_probe_chars": 4, "max_chars": 50},
])


@st.composite
def component_configs(draw):
    specs = draw(st.lists(COMPONENT_SPECS, min_size=1, max_size=4))
    out = []
    for i, spec in enumerate(specs):
        spec = dict(spec, name="%s_%d" % (spec["type"], i))
        choice = draw(st.integers(0, 3))
        if choice == 1:
            spec["weight"] = 0.0
        elif choice == 2:
            spec["weight"] = round(1.0 / len(specs), 3)
        out.append(spec)  # otherwise: the weight is an equal share of what is left
    return out


CONFIG_HANDLERS = {}


@settings(max_examples=700, **FUZZ)
@given(config=component_configs(), batch=BATCH, form=FORMS, env=CONTRACT_ENV)
def test_fuzz_events_random_component_configurations(config, batch, form, env):
    env = dict(env, REWARD_COMPONENTS=json.dumps(config))
    key = json.dumps(env, sort_keys=True)
    if key not in CONFIG_HANDLERS:
        CONFIG_HANDLERS[key] = H.handler_from_env(env)
    check_event(CONFIG_HANDLERS[key], env, batch, wrap(batch, form))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from(["batch", "body", "input", "messages", "prompt", "role", "content", "id", "reference_answer",
                         "reward_model", "ground_truth", "isBase64Encoded", "x"]), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=800, **FUZZ)
@given(event=JSON_VALUES, env=CONTRACT_ENV)
def test_fuzz_arbitrary_json_events_never_raise(event, env):
    handler = handler_for(env)
    reply = handler(event, None)
    contract = reply_contract(env, event)
    try:
        batch, _ = H.unwrap_event(event)
    except H.EventError as exc:
        # A malformed event: the contract's error reply, with the reason.
        if contract == "open-weights":
            assert reply["statusCode"] == 400 and json.loads(reply["body"]) == {"error": str(exc)}
        else:
            assert reply == {"error": str(exc)}
        return
    check_event(handler, env, batch, event)


NOVA_SAMPLE = st.builds(
    lambda i, user, answer, truth, style: {
        "id": "rft-%d" % i,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": user},
                     {"role": "nova_assistant", "content": [{"type": "text", "text": answer}] if style else answer}],
        "reference_answer": truth,
    },
    st.integers(0, 10**6), SHORT_TEXT, TEXT, GROUND_TRUTH, st.booleans(),
)


@settings(max_examples=300, **FUZZ)
@given(batch=st.lists(NOVA_SAMPLE, min_size=1, max_size=8, unique_by=lambda s: s["id"]))
def test_fuzz_nova_bare_list(batch):
    env = {"REWARD_CONTRACT": "nova"}
    results = check_event(handler_for(env), env, batch, batch)
    assert [r["id"] for r in results] == [s["id"] for s in batch]


# --------------------------------------------------------------------------------------------
# Seeded generators: the same shapes as the strategies above, drawn with a hypothesis-seeded
# random.Random, 10 events per example.

NUMBER_POOL = ["0", "5", "-2", "72", "1,234", "3.25", "1e3", "7/8", "\u22124", "12,34", "9" * 20]
GT_POOL = [None, "", " ", "72", "B", "(C) Oslo", "Paris", "1,234", "3/4", "{broken", '{"answer": "5"}', '"7"',
           "[1, 2]", 5, -3.5, True, ["A", "5"], [{"x": 1}], {"answer": "9"}, {"a": 1, "b": 2}, {"solo": "4"},
           {"label": None}, float("nan")]
CONFIGS = [None, [{"type": "multiple_choice", "weight": 0.8}, {"type": "anti_gaming", "weight": 0.2}],
           [{"type": "exact_match", "contains": True}, {"type": "json_valid"}, {"type": "format", "weight": 0}],
           [{"type": "regex", "pattern": "(\\d+)", "match_ground_truth": True, "weight": 0.5},
            {"type": "anti_gaming", "veto": False, "weight": 0.5}]]


def random_text(rng, n=8):
    parts = []
    for _ in range(rng.randint(0, n)):
        r = rng.random()
        if r < 0.6:
            parts.append(rng.choice(FRAGMENTS))
        elif r < 0.85:
            parts.append(rng.choice(NUMBER_POOL))
        else:
            parts.append("".join(chr(rng.randint(32, 0x2FF)) for _ in range(rng.randint(1, 4))))
    return "".join(parts)


def random_content(rng):
    r = rng.random()
    if r < 0.75:
        return random_text(rng)
    if r < 0.85:
        return [{"type": "text", "text": random_text(rng)} if rng.random() < 0.8 else {"type": "image"}
                for _ in range(rng.randint(0, 3))]
    if r < 0.93:
        return {"text": random_text(rng)}
    return rng.choice([None, 3, [5], {"x": 1}, [{"text": 1}]])


def random_sample(rng, i):
    if rng.random() < 0.03:
        return rng.choice(["junk", 4, None, []])
    sample = {}
    r = rng.random()
    if r < 0.6:
        sample["id"] = "id-%d" % rng.randint(0, 50)
    elif r < 0.7:
        sample["id"] = rng.choice([0, 17, "", None, 2.5])
    msgs = [{"role": "system", "content": "sys"}] if rng.random() < 0.5 else []
    msgs.append({"role": "user", "content": random_text(rng, 4)})
    if rng.random() < 0.9:
        msgs.append({"role": rng.choice(["assistant", "assistant", "nova_assistant", "user", None]),
                     "content": random_content(rng)})
    if rng.random() < 0.1:
        msgs.insert(rng.randint(0, len(msgs)), rng.choice([{}, "x", None, {"role": "assistant"}]))
    key = rng.choice(["messages", "prompt", "prompt", "messages", None])
    if key:
        sample[key] = msgs if rng.random() < 0.95 else rng.choice(["text prompt", 3, {"a": 1}])
    if rng.random() < 0.08:
        sample["completion"] = random_content(rng)
    gt = rng.choice(GT_POOL + NUMBER_POOL)
    where = rng.random()
    if where < 0.45:
        sample["reference_answer"] = gt
    elif where < 0.85:
        sample["reward_model"] = {"ground_truth": gt, "style": "rule"} if rng.random() < 0.95 else gt
    elif where < 0.9:
        sample["ground_truth"] = gt
    return sample


@settings(max_examples=800, **FUZZ)
@given(rng=st.randoms(use_true_random=True))
def test_fuzz_seeded_events(rng):
    for _ in range(10):
        batch = [random_sample(rng, i) for i in range(rng.randint(1, 12))]
        env = dict(rng.choice([{}, {"REWARD_CONTRACT": "open-weights"}, {"REWARD_CONTRACT": "nova"}]))
        config = rng.choice(CONFIGS)
        if config is not None:
            env["REWARD_COMPONENTS"] = json.dumps(config)
        check_event(handler_for(env), env, batch, wrap(batch, rng.choice(["batch", "body", "body64", "input", "list"])))


# --------------------------------------------------------------------------------------------
# Text-level properties: the shortcuts agree with the plain definitions


@settings(max_examples=1000, **FUZZ)
@given(text=TEXT)
def test_extraction_shortcuts_agree_with_the_patterns(text):
    check_text(text)


@settings(max_examples=300, **FUZZ)
@given(rng=st.randoms(use_true_random=True))
def test_extraction_shortcuts_agree_on_seeded_texts(rng):
    for _ in range(20):
        check_text(random_text(rng, 12))


def check_text(text):
    # The rfind + str-method shortcut for "answer is 42" gives what the pattern gives.
    assert X.keyword_answer(text, fast=True) == X.keyword_answer(text, fast=False)
    # last_number (tail-first search) is the last NUMBER_RE match.
    found = X.NUMBER_RE.findall(text.replace("\u2212", "-"))
    assert X.last_number(text) == (X.to_float(found[-1]) if found else None)
    # The number token captured during extraction is the number first_number reads in the region.
    region, marker, quick = X.locate_answer(text)
    if quick is not None and X.to_float(quick) is not None:
        assert region is not None and X.to_float(quick) == X.first_number(region)
    value, how = X.extract_number(text)
    assert (value is None) == (how is None)
    assert value is None or math.isfinite(value)


@settings(max_examples=500, **FUZZ)
@given(response=TEXT, prompt=SHORT_TEXT, truth=st.lists(SHORT_TEXT, min_size=1, max_size=2))
def test_every_component_value_is_in_range(response, prompt, truth):
    comps = C.build_components([
        {"type": "numeric_match", "weight": 0.1}, {"type": "exact_match", "weight": 0.1, "contains": True},
        {"type": "multiple_choice", "weight": 0.1}, {"type": "regex", "weight": 0.1, "pattern": "a(b)?"},
        {"type": "json_valid", "weight": 0.1}, {"type": "format", "weight": 0.1}, {"type": "anti_gaming", "weight": 0.1},
    ])
    view = C.SampleView(response, prompt, C.GroundTruth(tuple(truth)))
    for comp in comps:
        try:
            value = comp.score(view)
        except C.SampleError as exc:
            assert exc.code in ("ground_truth_not_numeric", "ground_truth_not_a_choice")
            continue
        assert type(value) is float and -1.0 <= value <= 1.0, (comp.name, value)
