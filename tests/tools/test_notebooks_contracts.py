"""What the generated notebooks teach and write besides the trainer code: ``rlaif`` as a technique
name, the RLAIF judge's reply contract, the RLVR reward contract of the model (Nova: bare lists)
and its reward function file, the model's license (never accepted on the user's behalf), and
file names that include the model."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import jinja2
import nbformat
import pytest

from sagemaker_finetuning.core.licenses import license_of
from sagemaker_finetuning.tools import notebooks as R
from sagemaker_finetuning.tools.notebooks import RenderError, render
from sagemaker_finetuning.tools.reward_check import check_reward_handler

# Real SageMakerPublicHub model ids; a fictitious one says so in its name.
META = "meta-textgeneration-llama-3-2-1b-instruct"
OPEN = "huggingface-reasoning-qwen3-06b"
GPT_OSS = "openai-reasoning-gpt-oss-20b"
NOVA = "nova-textgeneration-lite-v2"
FAKE = "fake-model-for-tests"
EVALUATOR_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/AIRegistry/JsonDoc/judge-v1/1.0.0"
JUDGE_CONTRACT = 'a JSON object with a numeric "score" between 0.0 and 1.0'
SAMPLES = Path(__file__).parents[2] / "templates" / "samples"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    """The reward checker never calls AWS; keep any SDK import off the network."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def markdown(rendered) -> str:
    return "\n".join(c.source for c in rendered.to_notebook().cells if c.cell_type == "markdown")


def code(rendered, kind: str = "notebook") -> str:
    return "\n\n".join(u.code for u in rendered.units(kind))


def test_the_real_model_ids_here_are_in_the_license_table():
    for model in (META, OPEN, GPT_OSS, NOVA):
        assert license_of(model) is not None, model
    assert license_of(FAKE) is None


# ---- rlaif as a technique name -------------------------------------------------------------


@pytest.mark.parametrize("options, template", [
    ({}, "rlaif-builtin"),
    ({"reward_prompt": "Builtin.Faithfulness"}, "rlaif-builtin"),
    ({"reward_prompt": EVALUATOR_ARN}, "rlaif-custom-prompt"),
    ({"judge_prompt_file": "prompts/mine.jinja"}, "rlaif-custom-prompt"),
])
@pytest.mark.parametrize("name", ["rlaif", "RLAIF", "Rlaif"])
def test_rlaif_picks_its_template(name, options, template):
    rendered = render(name, OPEN, use_case="Summaries", **options)
    assert rendered.technique == template and rendered.sdk_technique == "RLAIF"
    assert "trainer = RLAIFTrainer(" in rendered.code
    if "judge_prompt_file" in options:
        assert 'JUDGE_PROMPT_FILE = "prompts/mine.jinja"' in rendered.code and rendered.judge_prompt_file == "prompts/mine.jinja"


def test_every_technique_name_of_the_workflow_is_a_technique_here():
    from sagemaker_finetuning.core.schema_check import load_schema

    techniques = load_schema()["properties"]["technique"]["enum"]
    assert {t.lower() for t in techniques} <= set(R.TECHNIQUES)


@pytest.mark.parametrize("technique, options, needle", [
    ("sft", {"judge_prompt_file": "p.jinja"}, "judge prompt file applies to the RLAIF custom-prompt template only, not to sft"),
    ("rlaif-builtin", {"judge_prompt_file": "p.jinja"}, "not to rlaif-builtin"),
    ("rlaif-custom-prompt", {"judge_prompt_file": "p.jinja", "reward_prompt": EVALUATOR_ARN}, "not both"),
    ("rlaif-custom-prompt", {"judge_prompt_file": " "}, "expected a file path"),
])
def test_judge_prompt_file_errors(technique, options, needle):
    with pytest.raises(RenderError, match=re.escape(needle)):
        render(technique, OPEN, use_case="x", **options)


# ---- the RLAIF judge's reply contract ------------------------------------------------------


@pytest.mark.parametrize("technique, options, label", [
    ("rlaif-builtin", {}, "Judge"),
    ("rlaif-custom-prompt", {}, "Register Judge Prompt"),
    ("rlaif-custom-prompt", {"reward_prompt": EVALUATOR_ARN}, "Judge"),
    ("continued", {"continue_technique": "RLAIF", "previous_training_job": "job-1"}, "Judge"),
])
def test_rlaif_notebooks_explain_the_judge_contract_in_a_markdown_cell(technique, options, label):
    rendered = render(technique, OPEN, use_case="Summaries", **options)
    cells = [c.source for c in rendered.to_notebook().cells if c.cell_type == "markdown"]
    judge = [c for c in cells if re.match(rf"## \d+\. {label}\n", c)]
    assert len(judge) == 1, cells
    assert JUDGE_CONTRACT in judge[0] and '{"score": 0.8}' in judge[0]
    # The script says the same in the code's comments.
    assert 'JSON object with a numeric "score" between 0.0 and 1.0' in rendered.to_script()


def test_the_example_judge_prompt_follows_the_contract():
    from sagemaker_finetuning.rewards.judge_prompt import asks_for_json_score, check_prompt_template

    text = R.example_judge_prompt()
    assert asks_for_json_score(text) and check_prompt_template(text) >= {"prompt", "response"}
    assert "SCORE:" not in text and "0.0" in text and "1.0" in text
    shown = jinja2.Template(text).render(prompt="p", response="r")
    example = json.loads(re.search(r'\{"score".*\}', shown).group(0))
    assert 0.0 <= example["score"] <= 1.0


# ---- the RLVR reward contract and the reward function file -----------------------------------


def test_nova_rlvr_states_the_bare_list_contract():
    rendered = render("rlvr", NOVA, use_case="Math tutor")
    md, script = markdown(rendered), rendered.to_script()
    assert "receives a bare JSON list of samples and returns a bare list of results" in md
    assert "no statusCode/body envelope" in md
    assert "Nova contract: lambda_handler(event, context) receives a bare JSON list of samples" in script
    assert '"statusCode": 200' not in md + script


@pytest.mark.parametrize("options", [{}, {"reward_function": EVALUATOR_ARN}])
def test_open_weights_rlvr_states_the_envelope_contract(options):
    rendered = render("rlvr", OPEN, use_case="Math tutor", **options)
    md, script = markdown(rendered), rendered.to_script()
    assert '{"batch": [sample, ...]}' in md and '"statusCode": 200' in md
    assert "Open-weights contract" in script and "bare JSON list" not in md + script


def test_continued_nova_rlvr_states_the_bare_list_contract():
    rendered = render("continued", NOVA, use_case="Math tutor", continue_technique="RLVR", previous_training_job="job-1",
                      reward_function=EVALUATOR_ARN)
    assert "bare JSON list of samples" in markdown(rendered) and "bare JSON list of samples" in rendered.to_script()
    assert rendered.reward_function_file is None


@pytest.mark.parametrize("model, contract", [(OPEN, "open-weights"), (GPT_OSS, "open-weights"), (META, "open-weights"),
                                             (NOVA, "nova")])
def test_rlvr_writes_a_reward_function_with_the_right_contract(tmp_path, model, contract):
    rendered = render("rlvr", model, use_case="Math tutor")
    name = R.reward_file_name(model)
    assert rendered.reward_function_file == name == f"reward_{model.replace('-', '_')}.py"
    assert f"REWARD_FUNCTION_SOURCE = {json.dumps(name)}" in rendered.code
    files = rendered.write(tmp_path / rendered.default_filename())
    assert [f.name for f in files] == [rendered.default_filename(), name]
    source = (tmp_path / name).read_text()
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"json", "re"}  # standard library only: it runs as a plain Lambda
    assert f"({contract} contract)" in source
    samples = _samples(contract)
    report = check_reward_handler(f"{tmp_path / name}:lambda_handler", samples, contract=contract)
    assert report.ok, report.summary()
    assert report.scores == [1.0, 0.0, 1.0]
    other = "open-weights" if contract == "nova" else "nova"
    assert not check_reward_handler(f"{tmp_path / name}:lambda_handler", samples, contract=other).ok
    # An existing reward function is never overwritten.
    (tmp_path / name).write_text("# mine\n")
    assert [f.name for f in rendered.write(tmp_path / rendered.default_filename())] == [rendered.default_filename()]
    assert (tmp_path / name).read_text() == "# mine\n"


def _samples(contract: str) -> list[dict]:
    if contract == "nova":
        def sample(i, answer, reference):
            return {"id": f"n-{i}", "messages": [{"role": "user", "content": "What is 6 * 7?"},
                                                 {"role": "nova_assistant", "content": [{"type": "text", "text": answer}]}],
                    "reference_answer": reference}
        return [sample(0, "6 * 7 = 42", {"answer": "42"}), sample(1, "It is 41.", '{"answer": "42"}'),
                sample(2, "The answer is \\boxed{42}", "42")]
    lines = (SAMPLES / "rlvr.jsonl").read_text().splitlines()[:3]
    records = [json.loads(line) for line in lines]
    answers = [r["reward_model"]["ground_truth"] for r in records]
    replies = [f"The answer is {answers[0]}", "The answer is -1", f"So: {int(answers[2]):,}"]
    for record, reply in zip(records, replies, strict=True):
        record["prompt"] = record["prompt"] + [{"role": "assistant", "content": reply}]
    return records


def test_open_weights_reward_function_answers_a_bad_event_with_400(tmp_path):
    path = tmp_path / "reward.py"
    path.write_text(R.reward_function_code(OPEN))
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own generated code
    handler = namespace["lambda_handler"]
    reply = handler({"nothing": 1}, None)
    assert reply["statusCode"] == 400 and "error" in json.loads(reply["body"])
    body = json.dumps({"batch": [{"id": "x", "prompt": [{"role": "assistant", "content": "5"}], "reward_model": {"ground_truth": "5"}}]})
    assert json.loads(handler({"body": body}, None)["body"])[0]["aggregate_reward_score"] == 1.0
    nova: dict = {}
    exec(compile(R.reward_function_code(NOVA), "nova.py", "exec"), nova)  # noqa: S102
    assert "error" in nova["lambda_handler"]({"batch": []}, None)
    assert nova["lambda_handler"]([7], None) == [{"id": "sample-000", "aggregate_reward_score": 0.0, "metrics_list": []}]


def test_no_reward_file_with_a_registered_function_or_a_printed_script():
    rendered = render("rlvr", OPEN, use_case="Math tutor", reward_function=EVALUATOR_ARN)
    assert rendered.reward_function_file is None and "REWARD_FUNCTION_SOURCE" not in rendered.code


# ---- file names --------------------------------------------------------------------------------


def test_file_names_include_the_model_so_two_models_do_not_collide(tmp_path):
    names = set()
    for model in (OPEN, NOVA, META, "Fake.Model/For:Tests"):
        rendered = render("rlvr", model, use_case="Math tutor")
        names |= {f.name for f in rendered.write(tmp_path / rendered.default_filename())}
    assert names == {
        "math-tutor-v1-rlvr-huggingface-reasoning-qwen3-06b.ipynb", "reward_huggingface_reasoning_qwen3_06b.py",
        "math-tutor-v1-rlvr-nova-textgeneration-lite-v2.ipynb", "reward_nova_textgeneration_lite_v2.py",
        "math-tutor-v1-rlvr-meta-textgeneration-llama-3-2-1b-instruct.ipynb", "reward_meta_textgeneration_llama_3_2_1b_instruct.py",
        "math-tutor-v1-rlvr-fake-model-for-tests.ipynb", "reward_fake_model_for_tests.py",
    }
    assert render("sft", OPEN, model_package_group_name="g-v1").default_filename("script") == \
        "g-v1-sft-huggingface-reasoning-qwen3-06b.py"
    assert render("rlaif", OPEN, model_package_group_name="g-v1").default_filename() == \
        "g-v1-rlaif-builtin-huggingface-reasoning-qwen3-06b.ipynb"
    assert render("continued", OPEN, model_package_group_name="g-v1", continue_technique="DPO", previous_training_job="j",
                  round=3).default_filename() == "g-v1-continued-dpo-round3-huggingface-reasoning-qwen3-06b.ipynb"
    with pytest.raises(RenderError, match="mode 'pdf'"):
        render("sft", OPEN, use_case="x").default_filename("pdf")


# ---- licenses ----------------------------------------------------------------------------------


@pytest.mark.parametrize("technique", ["sft", "dpo", "rlvr", "rlaif", "rlaif-custom-prompt"])
def test_a_meta_notebook_shows_the_license_and_never_accepts_it(technique):
    rendered = render(technique, META, use_case="Support")
    sentence = license_of(META).sentence()
    assert license_of(META).gated and license_of(META).url in sentence
    for kind in ("notebook", "script"):
        text = code(rendered, kind)
        assert "ACCEPT_EULA = False" in text and "ACCEPT_EULA = True" not in text
        setup = text[: text.index("ACCEPT_EULA = False")]
        assert f"# Gated model. {sentence}" in setup
        assert "Change ACCEPT_EULA to True only if you accept it" in setup
    intro = rendered.to_notebook().cells[0].source
    assert sentence in intro and "change it to True only if you accept the license" in intro
    assert "ACCEPT_EULA = True" not in markdown(rendered) + rendered.to_script()


@pytest.mark.parametrize("model", [OPEN, GPT_OSS, NOVA])
@pytest.mark.parametrize("technique", ["sft", "rlvr", "rlaif"])
def test_other_notebooks_show_the_license_without_accept_eula(technique, model):
    if technique == "rlvr" or model != NOVA:
        rendered = render(technique, model, use_case="Support")
        sentence = license_of(model).sentence()
        everything = markdown(rendered) + rendered.to_script() + code(rendered)
        assert "ACCEPT_EULA" not in everything and "accept_eula" not in everything
        assert f"# {sentence}" in code(rendered) and sentence in rendered.to_notebook().cells[0].source
        assert license_of(model).url in everything


def test_nova_license_is_the_aws_service_terms():
    text = render("sft", NOVA, use_case="x").to_script()
    assert "This model is subject to the AWS Service Terms: https://aws.amazon.com/service-terms/" in text


def test_an_unknown_model_points_at_its_model_card():
    rendered = render("sft", FAKE, use_case="x")
    assert f"# The license of {FAKE} is shown on its SageMaker JumpStart model card." in rendered.code
    assert "ACCEPT_EULA" not in rendered.to_script()
    gated = render("sft", "meta-fake-model-for-tests", use_case="x")  # a meta- id is gated even when unknown
    assert "ACCEPT_EULA = False" in gated.code


def test_accepting_is_only_ever_the_callers_explicit_choice():
    rendered = render("sft", META, use_case="x", accept_eula=True)
    assert "ACCEPT_EULA = True" in rendered.code
    assert any("because you said you accept this license" in n for n in rendered.notes)
    with pytest.raises(RenderError, match="gated meta- models only"):
        render("sft", OPEN, use_case="x", accept_eula=True)
    continued = render("continued", META, use_case="x", previous_training_job="j")
    assert "ACCEPT_EULA" not in continued.to_script() + markdown(continued)
    assert license_of(META).sentence() in continued.code


def test_written_notebooks_validate(tmp_path):
    for technique in ("rlvr", "rlaif"):
        for path in render(technique, NOVA if technique == "rlvr" else OPEN, use_case="x").write(tmp_path / f"{technique}.ipynb"):
            if path.suffix == ".ipynb":
                nbformat.validate(nbformat.read(str(path), as_version=4))
