"""Reward function handler: event forms, both contracts, components, per-sample errors, config errors.

Fixtures in tests/fixtures/reward/*.json hold events and hand-derived expected replies.
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_finetuning.lambda_src.reward import components as C
from sagemaker_finetuning.lambda_src.reward import extract as X
from sagemaker_finetuning.lambda_src.reward import handler as H
from sagemaker_finetuning.lambda_src.reward.scoring import Scorer

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "reward"
SCORED_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.json") if p.name != "error_events.json")
ERROR_CASES = json.loads((FIXTURES / "error_events.json").read_text())["cases"]
HEADERS = {"Content-Type": "application/json"}


def load(name):
    return json.loads((FIXTURES / name).read_text())


def results_of(reply, contract):
    """The list of results in a reply, asserting the envelope of ``contract``."""
    if contract == "open-weights":
        assert isinstance(reply, dict), reply
        assert reply["statusCode"] == 200, reply
        assert reply["headers"] == HEADERS
        assert isinstance(reply["body"], str)
        return json.loads(reply["body"])
    assert isinstance(reply, list), reply
    return reply


# --------------------------------------------------------------------------------------------
# Fixtures: every event form, both contracts


def test_fixture_set_covers_every_event_form_and_contract():
    forms, contracts = set(), set()
    for name in SCORED_FIXTURES:
        fixture = load(name)
        event = fixture["event"]
        forms.add("list" if isinstance(event, list) else next(k for k in ("batch", "body", "input") if k in event))
        contracts.add(fixture["expect"]["contract"])
    assert forms == {"list", "batch", "body", "input"}
    assert contracts == {"open-weights", "nova"}


@pytest.mark.parametrize("name", SCORED_FIXTURES)
def test_fixture_reply(name):
    fixture = load(name)
    handler = H.handler_from_env(fixture["env"])
    reply = handler(fixture["event"], None)
    expect = fixture["expect"]
    results = results_of(reply, expect["contract"])
    assert [r["id"] for r in results] == [e["id"] for e in expect["results"]]
    for result, want in zip(results, expect["results"], strict=True):
        assert set(result) == {"id", "aggregate_reward_score", "metrics_list"}
        got_metrics = {m["name"]: [m["value"], m["type"]] for m in result["metrics_list"]}
        assert len(got_metrics) == len(result["metrics_list"]), "duplicate metric names"
        assert got_metrics == want["metrics"], result["id"]
        assert result["aggregate_reward_score"] == pytest.approx(want["aggregate_reward_score"], abs=1e-9), result["id"]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c["name"] for c in ERROR_CASES])
def test_malformed_event_gets_the_contract_error_reply(case):
    handler = H.handler_from_env(case["env"])
    reply = handler(case["event"], None)
    if case["expect"]["contract"] == "open-weights":
        assert reply["statusCode"] == 400
        assert reply["headers"] == HEADERS
        error = json.loads(reply["body"])["error"]
    else:
        assert set(reply) == {"error"}
        error = reply["error"]
    assert case["expect"]["error_contains"] in error


def test_open_weights_body_is_compact_json_equal_to_the_nova_results():
    fixture = load("open_weights_batch.json")
    ow = H.handler_from_env({"REWARD_CONTRACT": "open-weights"})(fixture["event"])
    nova = H.handler_from_env({"REWARD_CONTRACT": "nova"})(fixture["event"])
    assert ow["body"] == json.dumps(nova, separators=(",", ":"))


def test_body_given_as_object_or_bytes_is_accepted():
    samples = load("open_weights_body.json")
    inner = json.loads(samples["event"]["body"])
    h = H.handler_from_env({})
    a = h({"body": inner})
    b = h({"body": json.dumps(inner).encode()})
    c = h({"body": json.dumps(inner["batch"])})  # a body holding the bare list
    assert a == b == c
    assert a["statusCode"] == 200 and len(json.loads(a["body"])) == 2


def test_module_entry_point_and_template_alias():
    # The test environment does not set REWARD_*: the module handler runs the defaults.
    for var in (H.ENV_CONTRACT, C.ENV_COMPONENTS, H.ENV_ID_KEY):
        assert var not in os.environ
    fixture = load("open_weights_input.json")
    assert H.handler(fixture["event"], None) == H.lambda_handler(fixture["event"], None)
    assert H.handler(fixture["event"], None)["statusCode"] == 200


def test_handler_is_deterministic_and_does_not_mutate_the_event():
    fixture = load("open_weights_batch.json")
    event = json.loads(json.dumps(fixture["event"]))
    h = H.handler_from_env({})
    first = h(event)
    assert event == fixture["event"]
    assert H.handler_from_env({})(event) == first == h(event)


def test_custom_id_key_and_fallback_ids():
    h = H.handler_from_env({H.ENV_ID_KEY: "my_key", "REWARD_CONTRACT": "nova"})
    sample = {"messages": [{"role": "assistant", "content": "The answer is 3"}], "reference_answer": "3"}
    batch = [dict(sample, my_key="k-1"), dict(sample, id="ignored"), dict(sample, my_key=12)] + [dict(sample)] * 1000
    ids = [r["id"] for r in h(batch)]
    assert ids[:3] == ["k-1", "sample-001", "12"]
    assert ids[3] == "sample-003" and ids[-1] == "sample-1002"


def test_one_bad_sample_does_not_fail_the_batch_even_on_internal_error(monkeypatch, capsys):
    h = H.handler_from_env({})
    boom = h.scorer.components[1]

    def explode(view):
        if "boom" in view.response:
            raise ZeroDivisionError("boom")
        return 1.0

    monkeypatch.setattr(boom, "score", explode)
    h = H.RewardHandler(h.scorer.components)  # rebuild: the scorer binds score methods
    good = {"id": "ok", "messages": [{"role": "assistant", "content": "The answer is 2"}], "reference_answer": "2"}
    bad = {"id": "bad", "messages": [{"role": "assistant", "content": "boom 2"}], "reference_answer": "2"}
    for contract in ("open-weights", "nova"):
        results = results_of(H.RewardHandler(h.scorer.components, contract=contract)({"batch": [good, bad, good]}), contract)
        assert [r["id"] for r in results] == ["ok", "bad", "ok"]
        assert results[1] == {"id": "bad", "aggregate_reward_score": 0.0,
                              "metrics_list": [{"name": "error:internal", "value": 1.0, "type": "Metric"}]}
        assert results[0]["aggregate_reward_score"] == 1.0
        assert capsys.readouterr().err == "reward: internal error on sample bad: ZeroDivisionError: boom\n"
    # A systematic failure is logged a few times, then counted, not once per sample.
    results = results_of(h({"batch": [bad] * 50}), "open-weights")
    assert {r["metrics_list"][0]["name"] for r in results} == {"error:internal"}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and err[-1] == "reward: 50 samples had internal errors (the first 3 are logged above)"


def test_handler_does_not_leave_the_garbage_collector_disabled():
    import gc

    assert gc.isenabled()
    H.handler_from_env({})(load("open_weights_batch.json")["event"])
    assert gc.isenabled()
    gc.disable()
    try:
        H.handler_from_env({})(load("open_weights_batch.json")["event"])
        assert not gc.isenabled()
    finally:
        gc.enable()


# --------------------------------------------------------------------------------------------
# Configuration: bad values fail the cold start with a clear message


@pytest.mark.parametrize(
    "env, fragments",
    [
        ({"REWARD_COMPONENTS": "[{type: numeric}]"}, ["REWARD_COMPONENTS is not valid JSON", "[{type: numeric}]", "expected a JSON list"]),
        ({"REWARD_COMPONENTS": "{}"}, ["REWARD_COMPONENTS received {} (dict)", "non-empty JSON list"]),
        ({"REWARD_COMPONENTS": "[]"}, ["REWARD_COMPONENTS received [] (list)"]),
        ({"REWARD_COMPONENTS": '[{"type": "nope"}]'}, ['REWARD_COMPONENTS[0]', 'option "type" received "nope"', '"numeric_match"']),
        ({"REWARD_COMPONENTS": '["numeric_match"]'}, ["REWARD_COMPONENTS[0] received \"numeric_match\" (str)", "expected an object"]),
        ({"REWARD_COMPONENTS": '[{"type": "numeric_match", "wieght": 0.5}]'}, ['option "wieght"', "allowed options:", "weight"]),
        ({"REWARD_COMPONENTS": '[{"type": "numeric_match", "weight": 0.7, "tolerance": "tiny"}]'},
         ['REWARD_COMPONENTS[0] (type "numeric_match"): option "tolerance" received "tiny" (str)', "finite number >= 0"]),
        ({"REWARD_COMPONENTS": '[{"type": "numeric_match", "weight": 1.5}]'}, ['option "weight" received 1.5', "between 0 and 1"]),
        ({"REWARD_COMPONENTS": '[{"type": "numeric_match", "weight": 0.7}, {"type": "format", "weight": 0.6}]'},
         ["weights add up to 1.3", "at most 1"]),
        ({"REWARD_COMPONENTS": '[{"type": "regex", "weight": 0.5}]'}, ['option "pattern"', "required"]),
        ({"REWARD_COMPONENTS": '[{"type": "regex", "weight": 0.5, "pattern": "("}]'}, ["REWARD_COMPONENTS[0]", "does not compile"]),
        ({"REWARD_COMPONENTS": '[{"type": "format", "weight": 0.5}, {"type": "format", "weight": 0.5}]'},
         ['REWARD_COMPONENTS[1]', 'option "name" received "format"', 'set "name"']),
        ({"REWARD_COMPONENTS": '[{"type": "json_valid", "schema": {"type": "object", "pattern": "x"}}]'},
         ['option "schema"', "schema.pattern", "only the keywords"]),
        ({"REWARD_COMPONENTS": '[{"type": "anti_gaming", "checks": ["echo", "lies"]}]'}, ['option "checks"', '"repetition"']),
        ({"REWARD_COMPONENTS": '[{"type": "multiple_choice", "choices": "AB1"}]'}, ["REWARD_COMPONENTS[0]", "distinct ASCII letters"]),
        ({"REWARD_CONTRACT": "bedrock"}, ["REWARD_CONTRACT received 'bedrock'", '"open-weights"', '"nova"']),
    ],
)
def test_bad_configuration_fails_with_a_clear_message(env, fragments):
    with pytest.raises(C.RewardConfigError) as info:
        H.handler_from_env(env)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_bad_configuration_fails_the_cold_start_in_the_lambda_layout():
    """``import lambda_src.reward.handler`` from the asset root, as AWS Lambda does."""
    env = dict(os.environ, REWARD_COMPONENTS='[{"type": "numeric_match", "weight": "high"}]')
    env.pop("PYTHONPATH", None)
    code = "import lambda_src.reward.handler"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "RewardConfigError" in proc.stderr and 'option "weight" received "high"' in proc.stderr
    env["REWARD_COMPONENTS"] = '[{"type": "exact_match", "weight": 1}]'
    code += "; import json; print(json.dumps(lambda_src.reward.handler.handler({'batch': [{'messages': [{'role': 'assistant', 'content': 'Paris'}], 'reference_answer': 'paris'}]}, None)))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(json.loads(proc.stdout)["body"])
    assert body[0]["aggregate_reward_score"] == 1.0


def test_defaults_and_weight_sharing():
    comps = C.components_from_env({})
    assert [(c.type_name, c.weight, c.metric_type) for c in comps] == [
        ("numeric_match", 0.7, "Reward"), ("format", 0.1, "Reward"), ("anti_gaming", 0.2, "Reward")]
    comps = C.build_components([{"type": "numeric_match", "weight": 0.5}, {"type": "format"}, {"type": "anti_gaming"},
                                {"type": "exact_match", "weight": 0}])
    assert [c.weight for c in comps] == [0.5, 0.25, 0.25, 0.0]
    assert comps[3].metric_type == "Metric"


def test_weighted_aggregate_and_clipping():
    comps = C.build_components([{"type": "numeric_match", "weight": 0.6}, {"type": "anti_gaming", "weight": 0.4, "veto": False}])
    scorer = Scorer(comps)
    assert scorer.aggregate((1.0, 1.0)) == 1.0
    assert scorer.aggregate((0.0, -1.0)) == -0.4
    assert scorer.aggregate((1.0, -1.0)) == 0.2  # without veto the penalty is just added
    assert scorer.aggregate((1.0, -1.0), vetoed=True) == -0.4  # with veto only the penalty counts
    heavy = Scorer(C.build_components([{"type": "format", "weight": 1.0}]))
    assert heavy.aggregate((5.0,)) == 1.0 and heavy.aggregate((-5.0,)) == -1.0  # clipped


def test_veto_option_changes_the_aggregate_of_a_gamed_sample():
    sample = {"messages": [{"role": "user", "content": "x" * 40}, {"role": "assistant", "content": "The answer is 5. " * 20}],
              "reference_answer": "5"}
    veto = H.RewardHandler(C.build_components([{"type": "numeric_match", "weight": 0.8}, {"type": "anti_gaming", "weight": 0.2}]),
                           contract="nova")
    no_veto = H.RewardHandler(C.build_components([{"type": "numeric_match", "weight": 0.8},
                                                  {"type": "anti_gaming", "weight": 0.2, "veto": False}]), contract="nova")
    assert veto([sample])[0]["aggregate_reward_score"] == pytest.approx(-0.1)
    assert no_veto([sample])[0]["aggregate_reward_score"] == pytest.approx(0.7)


# --------------------------------------------------------------------------------------------
# Extraction edge cases


@pytest.mark.parametrize(
    "text, value, how",
    [
        ("The answer is 42.", 42.0, "keyword"),
        ("the final answer is: 1,234,567 kg", 1234567.0, "keyword"),
        ("So the answer is $1,234.50!", 1234.5, "keyword"),
        ("Answer: **-3.5**", -3.5, "keyword"),
        ("ANSWER IS 12", 12.0, "keyword"),
        ("Thus the result equals 8", 8.0, "keyword"),
        ("the answers are 4 and 5", 4.0, "keyword"),
        ("x = 3, y = 4\nThe answer is 12/4 apples", 3.0, "keyword"),
        ("answer is \\frac{3}{4}", 0.75, "keyword"),
        ("answer is 3 / 4", 0.75, "keyword"),
        ("answer is 1e3", 1000.0, "keyword"),
        ("The answer is \u22127", -7.0, "keyword"),
        ("we get \\boxed{1,024} in total", 1024.0, "boxed"),
        ("\\boxed{\\dfrac{1}{8}}", 0.125, "boxed"),
        ("first \\boxed{3}, then corrected: \\boxed{ {4} }", 4.0, "boxed"),
        ("<|begin_of_solution|>It is 17 apples.<|end_of_solution|>", 17.0, "solution"),
        ("<|begin_of_solution|>So \\boxed{9}<|end_of_solution|> and later 10", 9.0, "boxed"),
        ("<|begin_of_solution|>The answer is 5", 5.0, "keyword"),
        ("Natalia sold 48 + 24 = 72 clips.\n#### 72", 72.0, "####"),
        ("<think>the answer is 5</think>The answer is 6", 6.0, "keyword"),
        ("<think>so it's 5</think>", 5.0, "last"),
        ("3 + 4 = 7 apples", 7.0, "="),
        ("I counted 3 red and 5 blue.", 5.0, "last"),
        ("Weights: 1,234 kg and 2,000 kg", 2000.0, "last"),
        ("pages 10-12", 12.0, "last"),
        ("H2O and CO2 only", None, None),
        ("no numbers at all", None, None),
        ("", None, None),
    ],
)
def test_extract_number(text, value, how):
    assert X.extract_number(text) == (value, how)


def test_total_without_connective_is_not_an_answer_marker():
    assert X.final_answer("So the total before giving any away is 48 + 144 = 192.") == (None, None)
    assert X.final_answer("The total is 192.") == ("192.", "keyword")
    assert X.final_answer("answer the question: 5") == (None, None)
    assert X.final_answer("Reanswer is 5") == (None, None)  # keyword must start a word


@pytest.mark.parametrize(
    "content, text",
    [
        ("plain", "plain"),
        ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "a\nb"),
        ([{"text": "a"}, {"type": "image", "image": {"format": "png"}}, "b"], "a\nb"),
        ({"text": "dict"}, "dict"),
        ({"content": [{"text": "nested"}]}, "nested"),
        (42, None),
        (None, None),
        ([{"text": 5}], None),
        ([3], None),
        ({"image": "x"}, None),
    ],
)
def test_content_text(content, text):
    assert X.content_text(content) == text


def test_last_number_matches_the_reference_definition():
    for text in ["1,234,567 then 8", "12,34", "1.2.3", "1e5x", "x9", "−4 and −5", "a 1,234", "9," * 300 + " 7 end"]:
        found = X.NUMBER_RE.findall(text.replace("\u2212", "-"))
        assert X.last_number(text) == (X.to_float(found[-1]) if found else None), text


def test_normalize_answer():
    assert X.normalize_answer("  **Paris.**  ") == "paris"
    assert X.normalize_answer("New   York\nCity!") == "new york city"
    assert X.normalize_answer("$42$") == "42"


# --------------------------------------------------------------------------------------------
# Components one by one


def view(response, prompt="", truth=None):
    return C.SampleView(response, prompt, C.GroundTruth(tuple(truth)) if truth else None)


def one(spec):
    return C.build_components([spec])[0]


def test_numeric_match_tolerances():
    exact = one({"type": "numeric_match", "weight": 1})
    assert exact.score(view("The answer is 0.3", truth=["0.300002"])) == 0.0
    assert exact.score(view("The answer is 0.3", truth=["0.3000001"])) == 1.0
    loose = one({"type": "numeric_match", "weight": 1, "tolerance": 0.5})
    assert loose.score(view("The answer is 10.4", truth=["10"])) == 1.0
    assert loose.score(view("The answer is 10.6", truth=["10"])) == 0.0
    rel = one({"type": "numeric_match", "weight": 1, "tolerance": 0, "relative_tolerance": 0.01})
    assert rel.score(view("The answer is 1005", truth=["1000"])) == 1.0
    assert rel.score(view("The answer is 1011", truth=["1000"])) == 0.0
    assert exact.score(view("The answer is 5", truth=["4", "5"])) == 1.0  # alternatives
    with pytest.raises(C.SampleError) as info:
        exact.score(view("The answer is 5", truth=["five"]))
    assert info.value.code == "ground_truth_not_numeric"


def test_exact_match_modes():
    norm = one({"type": "exact_match", "weight": 1})
    assert norm.score(view("Answer: Paris.", truth=["paris"])) == 1.0
    assert norm.score(view("The capital is Paris.", truth=["Paris"])) == 0.0
    assert norm.score(view("  PARIS ", truth=["Paris"])) == 1.0
    strict = one({"type": "exact_match", "weight": 1, "normalize": False})
    assert strict.score(view("PARIS", truth=["Paris"])) == 0.0
    assert strict.score(view(" Paris\n", truth=["Paris"])) == 1.0
    contains = one({"type": "exact_match", "weight": 1, "contains": True, "target": "response"})
    assert contains.score(view("I believe it is New York, clearly.", truth=["new york"])) == 1.0
    assert contains.score(view("I believe it is New Yorkshire.", truth=["new york"])) == 0.0


@pytest.mark.parametrize(
    "response, letter",
    [
        ("The answer is (B).", "B"),
        ("answer: c", "C"),
        ("Answer: D) Bern", "D"),
        ("**C**", "C"),
        ("Option E", "E"),
        ("\\boxed{A}", "A"),
        ("Rome is (A), Paris is (B). So Paris.", "B"),
        ("the answer is a city", None),  # the article "a" is not a choice
        ("I would say F", None),
        ("", None),
    ],
)
def test_multiple_choice_letter(response, letter):
    mc = one({"type": "multiple_choice", "weight": 1})
    assert mc.chosen(view(response)) == letter


def test_multiple_choice_custom_choices_and_bad_truth():
    mc = one({"type": "multiple_choice", "weight": 1, "choices": "ABCDEFGH"})
    assert mc.score(view("The answer is (G)", truth=["G"])) == 1.0
    with pytest.raises(C.SampleError) as info:
        mc.score(view("The answer is (G)", truth=["Paris"]))
    assert info.value.code == "ground_truth_not_a_choice"


def test_regex_component():
    rx = one({"type": "regex", "weight": 1, "pattern": r"^\d{3}-\d{4}$", "flags": "m"})
    assert rx.score(view("call\n555-1234\nnow")) == 1.0
    assert rx.score(view("call 555-1234 now")) == 0.0
    neg = one({"type": "regex", "weight": 1, "pattern": "(?i)as an ai", "expect": "no_match"})
    assert neg.score(view("As an AI, I cannot")) == 0.0 and neg.score(view("Sure.")) == 1.0
    gt = one({"type": "regex", "weight": 1, "pattern": r"Final: (\w+)", "match_ground_truth": True})
    assert gt.needs_ground_truth
    assert gt.score(view("Final: Paris", truth=["paris"])) == 1.0
    assert gt.score(view("Final: Rome", truth=["paris"])) == 0.0


def test_json_schema_subset():
    schema = {"type": "object", "required": ["tags"], "additionalProperties": False,
              "properties": {"tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 1},
                             "n": {"type": ["integer", "null"], "maximum": 3}}}
    C.check_schema(schema)
    assert C.conforms({"tags": ["a"]}, schema)
    assert C.conforms({"tags": ["a", "b"], "n": None}, schema)
    assert C.conforms({"tags": ["b"], "n": 3}, schema)
    assert not C.conforms({"tags": []}, schema)
    assert not C.conforms({"tags": ["c"]}, schema)
    assert not C.conforms({"tags": ["a"], "n": 4}, schema)
    assert not C.conforms({"tags": ["a"], "n": 1.5}, schema)
    assert not C.conforms({"tags": ["a"], "extra": 1}, schema)
    assert not C.conforms({"n": 1}, schema)
    assert not C.conforms({"tags": [True]}, {"properties": {"tags": {"items": {"type": "integer"}}}})
    jv = one({"type": "json_valid", "weight": 1, "schema": schema, "partial_credit": 0.25})
    assert jv.score(view('{"tags": ["a"]}')) == 1.0
    assert jv.score(view('Result:\n```json\n{"tags": ["z"]}\n```')) == 0.25
    assert jv.score(view("{'tags': ['a']}")) == 0.0  # Python repr is not JSON
    strict = one({"type": "json_valid", "weight": 1, "extract": False})
    assert strict.score(view('Sure: {"a": 1}')) == 0.0 and strict.score(view(' [1, 2] ')) == 1.0


def test_format_markers_option():
    only_boxed = one({"type": "format", "weight": 1, "markers": ["boxed"]})
    assert only_boxed.score(view("so \\boxed{3}")) == 1.0
    assert only_boxed.score(view("The answer is 3")) == 0.0
    anything = one({"type": "format", "weight": 1})
    assert anything.score(view("The answer is 3")) == 1.0
    assert anything.score(view("The answer is")) == 0.0  # a marker with nothing after it
    assert anything.score(view("3")) == 0.0


PROMPT = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."


@pytest.mark.parametrize(
    "response, hits",
    [
        ("In May she sold 24, so 72 in all. The answer is 72.", []),
        ("", ["empty"]),
        ("   \n\t ", ["empty"]),
        (PROMPT + " The answer is 72.", ["echo"]),
        ("  " + PROMPT + "  ", ["echo"]),
        ("  " + PROMPT + " " * 160, ["echo", "repetition", "padding"]),
        ("sold clips to 48 of her friends in April", ["echo"]),  # a verbatim chunk of the prompt
        ("The answer is 72. " * 8, ["repetition"]),
        ("ha" * 200, ["repetition"]),
        ("The answer is 72." + "\n" * 20, ["padding"]),
        ("The answer is 72." + " " * 200, ["repetition", "padding"]),
        ("The answer is 72" + "." * 40 + " done", ["padding"]),
        ("The answer is 72\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b", ["padding"]),
        ("x" * 20001, ["repetition", "padding"]),
        ("Step 1: add. Step 2: add. Step 3: add. The answer is 72.", []),  # short repeats are fine
    ],
)
def test_anti_gaming_checks(response, hits):
    ag = one({"type": "anti_gaming", "weight": 0.2})
    assert list(ag.hits(response, PROMPT)) == hits


def test_anti_gaming_value_penalties_and_check_selection():
    ag = one({"type": "anti_gaming", "weight": 0.2, "penalties": {"repetition": 0.3}})
    v = view("The answer is 72. " * 8, PROMPT)
    assert ag.score(v) == pytest.approx(-0.3)
    assert v.vetoed and v.diagnostics == [("anti_gaming:repetition", 1.0)]
    assert ag.score(view("fine answer: 72", PROMPT)) == 1.0
    no_rep = one({"type": "anti_gaming", "weight": 0.2, "checks": ["empty", "echo"]})
    assert no_rep.score(view("The answer is 72. " * 8, PROMPT)) == 1.0
    zero = one({"type": "anti_gaming", "weight": 0.2, "penalties": {"empty": 0}})
    value = zero.score(view("", PROMPT))
    assert value == 0.0 and str(value) == "0.0"  # never -0.0
    assert one({"type": "anti_gaming", "weight": 0.2}).score(view("", PROMPT)) == -1.0


def test_ground_truth_shapes():
    scorer = Scorer(C.components_from_env({}))

    def truth(sample):
        gt = scorer.ground_truth(sample)
        return gt.answers if gt else None

    assert truth({"reference_answer": {"ground_truth": "5", "answer": "6"}}) == ("5",)
    assert truth({"reference_answer": {"sentiment": "positive"}}) == ("positive",)
    assert truth({"reference_answer": {"only": 3}}) == ("3",)
    assert truth({"reference_answer": '{"answer": "49"}'}) == ("49",)
    assert truth({"reference_answer": '"quoted"'}) == ("quoted",)
    assert truth({"reference_answer": "{not json}"}) == ("{not json}",)
    assert truth({"reference_answer": "[1, 2]"}) == ("[1, 2]",)  # a list answer stays text
    assert truth({"reference_answer": ["A", "B"]}) == ("A", "B")  # real lists are alternatives
    assert truth({"reference_answer": 2.5}) == ("2.5",)
    assert truth({"reference_answer": True}) == ("true",)
    assert truth({"reward_model": {"ground_truth": "7", "style": "rule"}}) == ("7",)
    assert truth({"reward_model": {"ground_truth": "", "style": "rule"}}) is None
    assert truth({"ground_truth": "8"}) == ("8",)
    assert truth({}) is None
    for bad in ({"reference_answer": {"a": 1, "b": 2}}, {"reward_model": "7"}, {"reference_answer": [{"a": 1}]}):
        with pytest.raises(C.SampleError) as info:
            scorer.ground_truth(bad)
        assert info.value.code == "invalid_ground_truth"
    # A cached bad ground truth raises a fresh exception each time (no growing traceback).
    errors = []
    for _ in range(2):
        with pytest.raises(C.SampleError) as info:
            scorer.ground_truth({"reference_answer": '{"a": 1, "b": 2}'})
        errors.append(info.value)
    assert errors[0] is not errors[1] and errors[1].code == "invalid_ground_truth"
    # Same answers share one GroundTruth (so derived values are computed once).
    assert scorer.ground_truth({"reference_answer": "9"}) is scorer.ground_truth({"reward_model": {"ground_truth": "9"}})


def test_unwrap_event_forms():
    batch = [{"id": 1}]
    assert H.unwrap_event({"batch": batch}) == (batch, "batch")
    assert H.unwrap_event({"input": batch}) == (batch, "input")
    assert H.unwrap_event({"body": json.dumps({"batch": batch})}) == (batch, "body")
    assert H.unwrap_event({"body": base64.b64encode(json.dumps({"input": batch}).encode()).decode(),
                           "isBase64Encoded": True}) == (batch, "body")
    assert H.unwrap_event(batch) == (batch, "list")
    # "batch" takes precedence over "body" and "input", as in the templates.
    assert H.unwrap_event({"batch": batch, "body": "junk", "input": []}) == (batch, "batch")
