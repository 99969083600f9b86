"""RLAIF: judge enums (as SDK v3 lists them), JudgePrompt placeholder checks and registration resources."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

from sagemaker_finetuning import (
    BuiltinJudgePrompt,
    FineTuningBucket,
    JudgeModel,
    JudgePrompt,
    JudgePromptSource,
    JudgePromptTemplate,
    ServerlessFineTuning,
)
from sagemaker_finetuning.rewards.judge_prompt import SCORE_WARNING_ID, asks_for_json_score, check_prompt_template

GOOD = ("You are a strict grader.\nQuestion: {{ prompt }}\nAnswer: {{ response }}\n{% if reference %}Reference: {{ reference }}{% endif %}\n"
        'Reply with a JSON object {"score": <number between 0.0 and 1.0>}.')
#: The old style the service does not parse: a 1-10 scale on a "SCORE: <n>" line.
OLD_STYLE = "Question: {{ prompt }}\nAnswer: {{ response }}\nRate it from 1 to 10 on the last line, formatted as: SCORE: <n>"
SHIPPED_PROMPTS = sorted((Path(__file__).parents[2] / "templates" / "prompts").glob("*.jinja"))


def stack():
    return cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="us-west-2"))


def test_judge_models_match_sdk():
    from sagemaker.train.constants import _ALLOWED_REWARD_MODEL_IDS

    assert {m: list(JudgeModel(m).regions) for m in _ALLOWED_REWARD_MODEL_IDS} == _ALLOWED_REWARD_MODEL_IDS
    assert JudgeModel.QWEN3_235B_A22B_2507.is_offered_in("us-west-2")
    assert not JudgeModel.QWEN3_235B_A22B_2507.is_offered_in("us-east-1")
    assert JudgeModel.GPT_OSS_120B in JudgeModel.offered_in("eu-west-1")
    with pytest.raises(ValueError, match="model_id: received str 'anthropic.claude-3'; expected one of openai.gpt-oss-120b-1:0"):
        JudgeModel("anthropic.claude-3")


def test_builtin_prompts():
    """The basenames of the real recipes' judge_prompt_template files (cot.jinja, evaluate.jinja ...)."""
    assert BuiltinJudgePrompt.COT.reward_prompt == "Builtin.Cot"
    assert [p.name for p in (BuiltinJudgePrompt.SUMMARIZE, BuiltinJudgePrompt.FAITHFULNESS, BuiltinJudgePrompt.COT,
                             BuiltinJudgePrompt.EVALUATE, BuiltinJudgePrompt.GRADER)] == ["Summarize", "Faithfulness", "Cot", "Evaluate", "Grader"]
    with pytest.raises(ValueError, match="name: received str 'Helpfulness'"):
        BuiltinJudgePrompt("Helpfulness")


@pytest.mark.parametrize("text, message", [
    ("Rate {{ response }}", r"^text: received str 'Rate \{\{ response \}\}'; expected .*missing placeholder\(s\) \{\{ prompt \}\}"),
    ("Rate {{ prompt }} / {{ reply }} / {{ response }}", r"unknown placeholder\(s\) reply"),
    ("Rate {{ prompt }} {{ response }", r"expected a valid Jinja template \(syntax error at line 1"),
    ("{{ prompt }} {{ response }}" + "x" * 70000, r"at most 65536 bytes"),
])
def test_placeholder_validation(text, message):
    with pytest.raises(ValueError, match=message):
        check_prompt_template(text)


def test_judge_prompt_registration(tmp_path):
    path = tmp_path / "grader.jinja"
    path.write_text(GOOD)
    s = stack()
    bucket = FineTuningBucket(s, "Bucket")
    jp = JudgePrompt(s, "Judge", bucket=bucket.bucket, template=JudgePromptTemplate.from_file(str(path)), evaluator_name="grader-v1")
    assert jp.placeholders == {"prompt", "response", "reference"}
    t = Template.from_stack(s)
    t.has_resource_properties("Custom::SageMakerHubEvaluator", {
        "EvaluatorType": "RewardPrompt", "EvaluatorName": "grader-v1", "PromptText": GOOD,
        "PromptKey": "prompts/grader-v1.jinja", "PromptBucket": {"Ref": Match.string_like_regexp("Bucket")},
        "Reference": {"Fn::Join": ["", ["s3://", {"Ref": Match.string_like_regexp("Bucket")}, "/prompts/grader-v1.jinja"]]},
    })
    puts = [st for pol in t.find_resources("AWS::IAM::Policy").values() for st in pol["Properties"]["PolicyDocument"]["Statement"]
            if "s3:PutObject" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])]
    assert puts and all("prompts/grader-v1.jinja" in str(st["Resource"]) for st in puts)


def test_judge_prompt_bad_inputs(tmp_path):
    s = stack()
    bucket = FineTuningBucket(s, "Bucket")
    with pytest.raises(ValueError, match="path: received str '/nope.jinja'; expected an existing Jinja file"):
        JudgePromptTemplate.from_file("/nope.jinja")
    with pytest.raises(ValueError, match=r"template: received None; expected JudgePromptTemplate.from_file\(path\)"):
        JudgePrompt(s, "B", bucket=bucket.bucket, template=None)
    with pytest.raises(ValueError, match=r"^text: received str 'Only \{\{ prompt \}\}'; expected .*\(missing placeholder\(s\) \{\{ response \}\}\)"):
        JudgePromptTemplate.from_text("Only {{ prompt }}")
    (tmp_path / "bare.jinja").write_text("Only {{ prompt }}")
    with pytest.raises(ValueError, match=r"^path: received str '.*bare.jinja'; expected .*missing placeholder"):
        JudgePromptTemplate.from_file(str(tmp_path / "bare.jinja"))
    with pytest.raises(ValueError, match=r"bucket: received a sagemaker_finetuning.FineTuningBucket; expected an s3.IBucket"):
        JudgePrompt(s, "D", bucket=bucket, template=JudgePromptTemplate.from_text(GOOD))


def test_pattern_with_judge_prompt_file(tmp_path):
    path = tmp_path / "grader.jinja"
    path.write_text(GOOD)
    s = stack()
    ft = ServerlessFineTuning(s, "FT", judge_model=JudgeModel.QWEN3_235B_A22B_2507, judge_prompt=JudgePromptSource.from_file(str(path)))
    t = Template.from_stack(s)
    t.resource_count_is("Custom::SageMakerHubEvaluator", 2)
    assert "JudgePromptEvaluatorArn" in ft.outputs() and ft.judge_prompt is not None
    env = [f["Properties"]["Environment"]["Variables"]["FINETUNE_SETTINGS"] for f in t.find_resources("AWS::Lambda::Function").values()
           if f["Properties"].get("Handler") == "lambda_src.workflow.handler.step"][0]
    assert "judge_prompt" in str(env) and "EvaluatorArn" in str(env)
    builtin = ServerlessFineTuning(stack(), "FT2", judge_prompt=JudgePromptSource.builtin(BuiltinJudgePrompt.SUMMARIZE))
    assert builtin.judge_prompt is None and "JudgePromptEvaluatorArn" not in builtin.outputs()


# ---- the judge's reply contract: a JSON object with a numeric "score" in 0.0-1.0 ---------------


def score_warnings(s: cdk.Stack) -> list[str]:
    return [str(w.entry.data) for w in Annotations.from_stack(s).find_warning("*", Match.string_like_regexp(".*"))
            if SCORE_WARNING_ID in str(w.entry.data)]


@pytest.mark.parametrize("text, asks", [
    (GOOD, True),
    ('Return only JSON: {"score": 0.8, "reasoning": "..."}', True),
    ('Answer with a JSON object whose "score" is between 0.0 and 1.0.', True),
    (OLD_STYLE, False),
    ("Give a score between 0 and 1 as JSON.", False),  # the key is not written as a JSON key
    ("Reply {'score': 0.5}", False),  # not JSON
    ('{# {"score": 1.0} #}Reply SCORE: <n>', False),  # only in a Jinja comment
    ('Reply {"Score": 0.5}', False),  # JSON keys are case-sensitive
])
def test_asks_for_json_score_heuristic(text, asks):
    assert asks_for_json_score(text) is asks


@pytest.mark.parametrize("path", SHIPPED_PROMPTS, ids=lambda p: p.name)
def test_shipped_prompts_ask_for_a_json_score_and_get_no_warning(path):
    text = path.read_text(encoding="utf-8")
    assert "SCORE:" not in text and "1 (useless" not in text and "10 (excellent" not in text
    assert "0.0" in text and "1.0" in text and asks_for_json_score(text)
    import jinja2

    assert '{"score": ' in jinja2.Template(text).render(prompt="p", response="r", reference="x")
    s = stack()
    bucket = FineTuningBucket(s, "Bucket")
    JudgePrompt(s, "Judge", bucket=bucket.bucket, template=JudgePromptTemplate.from_file(str(path)))
    assert score_warnings(s) == []


def test_a_prompt_without_the_json_score_warns_at_synth(tmp_path):
    s = stack()
    bucket = FineTuningBucket(s, "Bucket")
    template = JudgePromptTemplate.from_text(OLD_STYLE)
    assert template.asks_for_json_score is False
    JudgePrompt(s, "Judge", bucket=bucket.bucket, template=template)
    warnings = score_warnings(s)
    assert len(warnings) == 1
    assert 'does not ask for a JSON object with a numeric "score" between 0.0 and 1.0' in warnings[0]
    assert "inline text" in warnings[0]
    # The pattern's own JudgePrompt warns the same way; a warning, never an error.
    path = tmp_path / "old.jinja"
    path.write_text(OLD_STYLE)
    s2 = stack()
    ServerlessFineTuning(s2, "FT", judge_prompt=JudgePromptSource.from_file(str(path)))
    assert len(score_warnings(s2)) == 1 and "old.jinja" in score_warnings(s2)[0]
    assert Annotations.from_stack(s2).find_error("*", Match.string_like_regexp(".*judge prompt.*")) == []
