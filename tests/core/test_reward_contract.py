"""The reward-reply contract checker (sagemaker_finetuning.core.reward_contract) and the "bring your own
handler" checker (sagemaker_finetuning.tools.reward_check), including deliberately broken handlers."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sagemaker_finetuning.core import reward_contract as RC
from sagemaker_finetuning.lambda_src.reward import handler as H
from sagemaker_finetuning.lambda_src.reward.scoring import sample_id
from sagemaker_finetuning.tools import reward_check as T

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "reward"
HANDLER_PATH = REPO / "lambda_src" / "reward" / "handler.py"


def samples(n=4):
    out = []
    for i in range(n):
        out.append({
            "id": "s-%d" % i,
            "messages": [{"role": "user", "content": "What is %d + 1?" % i},
                         {"role": "assistant", "content": "The answer is %d." % (i + 1 if i % 2 == 0 else i)}],
            "reference_answer": {"answer": str(i + 1)},
        })
    return out


def result(i, score=0.5, **over):
    r = {"id": "s-%d" % i, "aggregate_reward_score": score,
         "metrics_list": [{"name": "m", "value": score, "type": "Reward"}]}
    r.update(over)
    return r


def envelope(results, status=200):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(results)}


# --------------------------------------------------------------------------------------------
# build_event / normalize_contract / expected_id


def test_build_event_shapes():
    s = samples(2)
    assert RC.build_event(s, "open-weights") == {"batch": s}
    assert RC.build_event(s, "nova") == s and RC.build_event(s, "nova") is not s
    assert RC.build_event(iter(s), "oss") == {"batch": s}
    with pytest.raises(ValueError, match="expected \"open-weights\" or \"nova\""):
        RC.build_event(s, "bedrock")


def test_expected_id_agrees_with_the_handler_id_rule():
    cases = [{"id": "a"}, {"id": 7}, {"id": ""}, {"id": None}, {}, "not a dict"]
    for i, sample in enumerate(cases):
        want = RC.expected_id(sample)
        got = sample_id(sample, i)
        assert (got == want) if want is not None else got == "sample-%03d" % i


# --------------------------------------------------------------------------------------------
# check_reply: good replies


def test_good_open_weights_reply():
    s = samples(4)
    report = RC.check_reply(s, envelope([result(i, score=v) for i, v in enumerate([-1, 0, 0.5, 1])]), "open-weights")
    assert report.ok and report.violations == [] and report.violation_count == 0
    assert report.sample_count == report.result_count == 4
    assert report.scores == [-1.0, 0.0, 0.5, 1.0]
    assert (report.score_min, report.score_mean, report.score_max) == (-1.0, 0.125, 1.0)
    assert [c for _, _, c in report.histogram] == [1, 0, 0, 0, 0, 1, 0, 1, 0, 1]
    assert report.histogram[0][:2] == (-1.0, -0.8) and report.histogram[-1][:2] == (0.8, 1.0)
    assert report.metric_counts == {"m": 4}
    assert report.warnings == []
    text = report.summary()
    assert "OK" in text and "samples sent: 4, results received: 4" in text and "[+0.8, +1.0]" in text


def test_good_nova_reply_and_samples_without_ids():
    s = [{"messages": []}, {"messages": []}]
    reply = [{"id": "sample-000", "aggregate_reward_score": 0.1, "metrics_list": []},
             {"id": "whatever-the-function-picks", "aggregate_reward_score": 0.2, "metrics_list": []}]
    report = RC.check_reply(s, reply, "nova")
    assert report.ok, report.violations
    assert report.to_dict()["scores"] == [0.1, 0.2]


# --------------------------------------------------------------------------------------------
# check_reply: each violation is named with index, id, field, received and expected


@pytest.mark.parametrize(
    "reply, contract, fragments",
    [
        ([result(0), result(1)], "open-weights", ["reply: received list (a bare list is the nova contract)", "expects an object"]),
        (envelope([result(0), result(1)]), "nova", ["received an open-weights envelope (statusCode 200)", "bare list"]),
        ({"error": "empty batch"}, "nova", ['the function answered an error: "empty batch"']),
        ("ok", "nova", ["reply: received string"]),
        (envelope({"error": "boom"}, status=400), "open-weights", ["reply.statusCode: received 400; expected 200", 'error: "boom"']),
        ({"statusCode": 200, "body": [result(0), result(1)]}, "open-weights", ["reply.body: received list", "a string holding a JSON list"]),
        ({"statusCode": 200, "body": "{oops"}, "open-weights", ["reply.body: not valid JSON"]),
        ({"statusCode": 200, "body": json.dumps({"results": []})}, "open-weights", ["reply.body: holds object", "expected a JSON list"]),
        ({"statusCode": "200", "body": "[]"}, "open-weights", ['reply.statusCode: received "200"; expected 200']),
        ([result(0)], "nova", ["received 1 results for 2 samples", "exactly one result per sample"]),
        ([result(0), result(1), result(1)], "nova", ["received 3 results for 2 samples", 'result 2: id "s-1" repeats result 1']),
        ([result(1), result(0)], "nova", ['result 0 (sample id "s-0"): id is "s-1"; expected "s-0", the id of sample 0 (that is the id of sample 1: results out of order?)']),
        ([result(0), result(1, id=1)], "nova", ['result 1 (sample id "s-1"): id is number 1; expected a non-empty string']),
        ([result(0), result(1, id="")], "nova", ["id is string \"\"; expected a non-empty string"]),
        ([result(0), result(1, aggregate_reward_score=1.5)], "nova", ['result 1 (sample id "s-1"): aggregate_reward_score is number 1.5; expected a finite number in [-1, 1]']),
        ([result(0), result(1, aggregate_reward_score=-1.01)], "nova", ["aggregate_reward_score is number -1.01"]),
        ([result(0), result(1, aggregate_reward_score=float("nan"))], "nova", ["aggregate_reward_score is number NaN"]),
        ([result(0), result(1, aggregate_reward_score="0.5")], "nova", ['aggregate_reward_score is string "0.5"']),
        ([result(0), result(1, aggregate_reward_score=True)], "nova", ["aggregate_reward_score is boolean true"]),
        ([result(0), {"id": "s-1", "metrics_list": []}], "nova", ["aggregate_reward_score is missing"]),
        ([result(0), {"id": "s-1", "aggregate_reward_score": 0}], "nova", ["metrics_list is missing"]),
        ([result(0), result(1, metrics_list={"m": 1})], "nova", ["metrics_list is object"]),
        ([result(0), result(1, metrics_list=[{"name": "m", "value": 1, "type": "Score"}])], "nova",
         ['result 1 (sample id "s-1"): metrics_list[0].type is "Score"; expected "Reward" or "Metric"']),
        ([result(0), result(1, metrics_list=[{"name": "", "value": 1, "type": "Metric"}])], "nova", ["metrics_list[0].name is string"]),
        ([result(0), result(1, metrics_list=[{"name": "m", "value": "1", "type": "Metric"}])], "nova", ['metrics_list[0].value is string "1"; expected a finite number']),
        ([result(0), result(1, metrics_list=[{"name": "m", "value": float("inf"), "type": "Metric"}])], "nova", ["metrics_list[0].value is number Infinity"]),
        ([result(0), result(1, metrics_list=["m"])], "nova", ['metrics_list[0] is string "m"']),
        ([result(0), "s-1"], "nova", ['result 1 (sample id "s-1"): received string "s-1"; expected an object']),
    ],
)
def test_violations(reply, contract, fragments):
    report = RC.check_reply(samples(2), reply, contract)
    assert not report.ok
    joined = "\n".join(report.violations)
    for fragment in fragments:
        assert fragment in joined, joined
    assert "FAILED" in report.summary()


def test_warnings_do_not_fail_the_check():
    s = samples(3)
    reply = {"statusCode": 200, "body": json.dumps([result(i, score=0.0, extra=1) for i in range(3)])}
    reply["body"] = json.dumps([dict(result(i, score=0.0), extra=1,
                                     metrics_list=[{"name": "error:missing_response", "value": 1, "type": "Metric"},
                                                   {"name": "error:missing_response", "value": 1, "type": "Metric"}])
                                for i in range(3)])
    report = RC.check_reply(s, reply, "open-weights")
    assert report.ok
    text = "\n".join(report.warnings)
    assert "reply.headers: missing" in text
    assert "keys outside the contract" in text and "extra" in text
    assert "every score is 0: the reward gives no learning signal" in text
    assert "appears twice" in text
    assert "error:missing_response (3)" in text


def test_violation_list_is_capped_but_counted():
    s = [{"id": "x%d" % i} for i in range(500)]
    reply = [{"id": "x%d" % i, "aggregate_reward_score": 9, "metrics_list": []} for i in range(500)]
    report = RC.check_reply(s, reply, "nova", max_violations=50)
    assert report.violation_count == 500 and len(report.violations) == 50
    assert "500 violations in all" in report.summary()


def test_histogram_edges():
    assert [c for _, _, c in RC.histogram([-1.0, -0.8, 0.0, 0.99999, 1.0])] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert sum(c for _, _, c in RC.histogram([])) == 0


# --------------------------------------------------------------------------------------------
# Our handler satisfies the contract it is checked against


@pytest.mark.parametrize("contract", ["open-weights", "nova"])
def test_our_handler_passes_the_checker_on_every_fixture(contract):
    names = [p for p in sorted(FIXTURES.glob("*.json")) if p.name != "error_events.json"]
    for path in names:
        fixture = json.loads(path.read_text())
        event = fixture["event"]
        batch = H.unwrap_event(event)[0]
        env = dict(fixture["env"], REWARD_CONTRACT=contract)
        reply = H.handler_from_env(env)(RC.build_event(batch, contract))
        report = RC.check_reply(batch, reply, contract)
        assert report.ok, (path.name, report.violations)


# --------------------------------------------------------------------------------------------
# sagemaker_finetuning.tools.reward_check: bring your own handler


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def dataset(tmp_path):
    return write_jsonl(tmp_path / "train.jsonl", samples(6))


def write_handler(tmp_path, body, name="my_reward.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


GOOD = """
    import json

    def lambda_handler(event, context):
        batch = event["batch"] if isinstance(event, dict) else event
        out = [{"id": s.get("id", "sample-%03d" % i), "aggregate_reward_score": 1.0 if "answer" in str(s) else 0.0,
                "metrics_list": [{"name": "present", "value": 1.0, "type": "Reward"}]} for i, s in enumerate(batch)]
        if isinstance(event, list):
            return out
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(out)}
"""

# A handler that is subtly wrong in several ways: scores above 1, ids lost, a made-up metric
# type, and it answers the open-weights envelope to Nova's bare list.
BROKEN = """
    import json

    def helper():
        return 2.0

    def handler(event, context):
        batch = event["batch"] if isinstance(event, dict) else event
        out = [{"id": "row-%d" % i, "aggregate_reward_score": helper(),
                "metrics_list": [{"name": "len", "value": 3, "type": "Score"}]} for i, s in enumerate(batch)]
        return {"statusCode": 200, "body": json.dumps(out)}
"""


def test_checker_accepts_a_good_handler_file(tmp_path, dataset):
    path = write_handler(tmp_path, GOOD)
    for contract in ("open-weights", "nova"):
        report = T.check_reward_handler(str(path), dataset, contract=contract)
        assert report.ok, report.violations
        assert report.sample_count == 6 and report.scores == [1.0] * 6
    assert T.check_reward_handler(path, dataset, sample_count=2).sample_count == 2


def test_checker_flags_a_broken_handler(tmp_path, dataset):
    path = write_handler(tmp_path, BROKEN)
    report = T.check_reward_handler("%s:handler" % path, dataset, contract="open-weights")
    assert not report.ok
    text = "\n".join(report.violations)
    assert 'result 0 (sample id "s-0"): id is "row-0"; expected "s-0"' in text
    assert "aggregate_reward_score is number 2.0; expected a finite number in [-1, 1]" in text
    assert 'metrics_list[0].type is "Score"' in text
    assert report.violation_count == 18  # 6 samples x (id, score, metric type)
    assert any("reply.headers: missing" in w for w in report.warnings)
    nova = T.check_reward_handler(path, dataset, contract="nova")  # default name: lambda_handler, then handler
    assert not nova.ok and "open-weights envelope" in nova.violations[0]


def test_checker_reports_handlers_that_raise_or_return_non_json(tmp_path, dataset):
    def raises(event, context):
        raise KeyError("batch")

    report = T.check_reward_handler(raises, dataset)
    assert not report.ok and report.violations == ["handler raised KeyError: 'batch'"]

    def returns_a_set(event, context):
        return {"statusCode": 200, "body": {1, 2}}

    report = T.check_reward_handler(returns_a_set, dataset)
    assert not report.ok and "not JSON-serialisable" in report.violations[0]


def test_checker_sends_a_json_copy_of_the_samples(dataset):
    seen = []

    def mutating(event, context):
        seen.append(event)
        for s in event["batch"]:
            s["id"] = "changed"
        return H.handler_from_env({})({"batch": [dict(s, id=None) for s in event["batch"]]})

    report = T.check_reward_handler(mutating, dataset)
    assert not report.ok  # ids are checked against the dataset, not the mutated event
    assert 'id is "sample-000"; expected "s-0"' in report.violations[0]


def test_checker_runs_our_packaged_handler_by_path(dataset):
    # A file inside a package is imported as part of it, so its relative imports work.
    report = T.check_reward_handler(str(HANDLER_PATH), dataset)
    assert report.ok, report.violations
    assert report.scores == [1.0, 0.3, 1.0, 0.3, 1.0, 0.3]
    assert set(report.metric_counts) == {"numeric_match", "format", "anti_gaming"}


def test_checker_loads_modules_and_datasets_in_several_forms(tmp_path):
    fn = T.load_handler("sagemaker_finetuning.lambda_src.reward.handler:handler")
    assert fn is H.handler
    assert T.load_handler("sagemaker_finetuning.lambda_src.reward.handler") is H.lambda_handler
    rows = samples(3)
    as_json = tmp_path / "d.json"
    as_json.write_text(json.dumps({"batch": rows}))
    assert T.load_samples(as_json) == rows
    assert T.load_samples(rows, sample_count=1) == rows[:1]
    messy = tmp_path / "d.jsonl"
    messy.write_text("\n" + json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    assert T.load_samples(messy) == rows[:2]


@pytest.mark.parametrize(
    "handler, data, fragment",
    [
        ("missing_file.py:fn", None, "does not exist"),
        ("no_such_module_xyz:fn", None, "cannot import module 'no_such_module_xyz'"),
        ("sagemaker_finetuning.lambda_src.reward.handler:nope", None, "defines no callable 'nope'"),
        (None, "missing.jsonl", "dataset: file"),
        (None, "bad_line", "line 2 is not valid JSON"),
        (None, "empty", "no samples"),
        (42, None, "expected a callable"),
    ],
)
def test_checker_load_errors(tmp_path, dataset, handler, data, fragment):
    (tmp_path / "bad_line.jsonl").write_text('{"id": 1}\n{oops\n')
    (tmp_path / "empty.jsonl").write_text("\n")
    handler = HANDLER_PATH if handler is None else handler
    if data in ("bad_line", "empty"):
        data = tmp_path / (data + ".jsonl")
    elif data is not None:
        data = tmp_path / data
    with pytest.raises(T.HandlerLoadError) as info:
        T.check_reward_handler(handler, data or dataset)
    assert fragment in str(info.value)


def test_checker_reports_import_failures(tmp_path, dataset):
    path = write_handler(tmp_path, "raise RuntimeError('no config')\n", name="crashy.py")
    with pytest.raises(T.HandlerLoadError, match="importing .*crashy.py failed: RuntimeError: no config"):
        T.check_reward_handler(path, dataset)


def test_main_exit_codes_and_output(tmp_path, dataset, capsys):
    good = write_handler(tmp_path, GOOD, name="good.py")
    broken = write_handler(tmp_path, BROKEN, name="broken.py")
    assert T.main([str(good), str(dataset)]) == 0
    assert "OK" in capsys.readouterr().out
    assert T.main([str(broken) + ":handler", str(dataset), "--contract", "nova", "--sample-count", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "open-weights envelope" in out
    assert T.main([str(good), str(dataset), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert T.main(["nowhere.py", str(dataset)]) == 2
    assert "error: handler: file" in capsys.readouterr().err


def test_module_entry_point_and_no_aws_cdk_needed(tmp_path, dataset):
    good = write_handler(tmp_path, GOOD, name="good.py")
    proc = subprocess.run([sys.executable, "-m", "sagemaker_finetuning.tools.reward_check", str(good), str(dataset)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "reward function contract check (open-weights): OK" in proc.stdout
    # reward_check.py itself imports no aws_cdk: load it by file, with aws_cdk made unimportable.
    code = textwrap.dedent(f"""
        import sys, types, importlib.util
        sys.modules["aws_cdk"] = None
        import sagemaker_finetuning.core.reward_contract  # noqa
        spec = importlib.util.spec_from_file_location(
            "sagemaker_finetuning.tools.reward_check", {str(REPO / "constructs" / "sagemaker_finetuning" / "tools" / "reward_check.py")!r})
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        print(mod.check_reward_handler({str(good)!r}, {str(dataset)!r}).ok)
    """)
    # sagemaker_finetuning/__init__.py may import aws_cdk: bypass it with a stub package.
    stub = textwrap.dedent(f"""
        import sys, types
        pkg = types.ModuleType("sagemaker_finetuning")
        pkg.__path__ = [{str(REPO / "constructs" / "sagemaker_finetuning")!r}]
        sys.modules["sagemaker_finetuning"] = pkg
        lam = types.ModuleType("sagemaker_finetuning.lambda_src")
        lam.__path__ = [{str(REPO / "lambda_src")!r}]
        sys.modules["sagemaker_finetuning.lambda_src"] = lam
    """)
    proc = subprocess.run([sys.executable, "-c", stub + code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
