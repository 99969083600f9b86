"""The generated notebooks and scripts: they compile, validate, and use SDK v3 names that exist.

Every technique x notebook/script x (meta, open non-meta, Nova) model is rendered; the code is
parsed with ``ast`` and checked against the installed SageMaker Python SDK v3: every imported
name exists, and every keyword passed to a constructor, a classmethod (``DataSet.create``...),
``trainer.train()`` and other typed calls is a parameter of it; attribute reads on typed
objects (``training_job.mlflow_details.mlflow_run_id``) exist on the SDK's models.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import typing

import nbformat
import pytest

from sagemaker_finetuning.tools import notebooks as R
from sagemaker_finetuning.tools.notebooks import RenderError, group_name_from_use_case, render


@pytest.fixture(autouse=True, scope="module")
def _aws_env():
    """SDK v3 creates boto3 clients at import time: it needs a region and (fake) credentials,
    never a call. Set for this module only."""
    with pytest.MonkeyPatch.context() as mp:
        for var, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "testing"),
                           ("AWS_SECRET_ACCESS_KEY", "testing")):
            if not os.environ.get(var):
                mp.setenv(var, value)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


# Real SageMakerPublicHub model ids (a gated Meta model, an open one, Nova 2.0 Lite).
META = "meta-textgeneration-llama-3-2-1b-instruct"
OPEN = "huggingface-reasoning-qwen3-06b"
NOVA = "nova-textgeneration-lite-v2"
MODELS = {"meta": META, "open": OPEN, "nova": NOVA}
EVALUATOR_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hub-content/AIRegistry/JsonDoc/math-reward/1.0.0"

#: (template, extra render options) -- the continued template once per trainer
CASES = [
    ("sft", {}),
    ("dpo", {}),
    ("rlvr", {}),
    ("rlvr", {"reward_function": EVALUATOR_ARN}),
    ("rlaif-builtin", {"reward_prompt": "Builtin.Faithfulness"}),
    ("rlaif-custom-prompt", {}),
    ("rlaif-custom-prompt", {"reward_prompt": EVALUATOR_ARN}),
    ("rlaif", {}),
    ("rlaif", {"reward_prompt": EVALUATOR_ARN}),
    ("continued", {"continue_technique": "SFT", "previous_training_job": "qwen-sft-20250101"}),
    ("continued", {"continue_technique": "DPO", "previous_model_package_arn":
                   "arn:aws:sagemaker:us-east-1:123456789012:model-package/support-v1/1"}),
    ("continued", {"continue_technique": "RLVR", "previous_training_job": "job-1", "reward_function": EVALUATOR_ARN}),
    ("continued", {"continue_technique": "RLAIF", "previous_training_job": "job-1"}),
]


def _case_id(case):
    t, opts = case
    extra = "-".join(f"{k}" for k in opts if k not in ("previous_training_job",))
    return f"{t}{'-' + opts['continue_technique'] if 'continue_technique' in opts else ''}" + (
        f"[{extra}]" if extra and "continue_technique" not in opts else "")


def _render(case, model_key, **more):
    technique, opts = case
    return render(technique, MODELS[model_key], use_case="Customer Support Chatbot", **opts, **more)


def _notebook_code(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _outputs(case, model_key, **more) -> dict[str, str]:
    """Both output kinds of one case: {"script": text, "notebook": joined code cells}."""
    rendered = _render(case, model_key, **more)
    script = rendered.to_script()
    nb = rendered.to_notebook()
    nbformat.validate(nb)
    return {"script": script, "notebook": _notebook_code(nb), "markdown": "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown")}


# --------------------------------------------------------------------------------------------
# SDK oracle


def _unwrap(annotation):
    """Optional[X] / Union[X, None] -> X (a class), else None."""
    if inspect.isclass(annotation):
        return annotation
    for arg in typing.get_args(annotation):
        if inspect.isclass(arg) and arg is not type(None):
            return arg
    return None


def _has_attr(cls, attr: str) -> bool:
    fields = getattr(cls, "model_fields", None) or {}
    if attr in fields or hasattr(cls, attr):
        return True
    try:
        return attr in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def _attr_type(cls, attr: str):
    fields = getattr(cls, "model_fields", None) or {}
    if attr in fields:
        return _unwrap(fields[attr].annotation)
    return None


def _params(fn) -> tuple[set[str], bool]:
    sig = inspect.signature(fn)
    names = {p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    return names, var_kw


def _allowed_kwargs(fn, cls=None) -> tuple[set[str], bool]:
    names, var_kw = _params(fn)
    if var_kw and cls is not None:
        # **kwargs of a trainer go to BaseTrainer.__init__: only its parameters are real.
        from sagemaker.train.base_trainer import BaseTrainer

        if issubclass(cls, BaseTrainer):
            base, _ = _params(BaseTrainer.__init__)
            return names | base, False
    return names, var_kw


class SdkChecker(ast.NodeVisitor):
    """Resolve names against the installed SDK and collect every mismatch."""

    def __init__(self):
        self.names: dict[str, object] = {}  # imported name -> object
        self.types: dict[str, type] = {}  # variable -> class
        self.problems: list[str] = []
        self.calls_checked = 0

    # imports --------------------------------------------------------------------------------
    def visit_Import(self, node):
        for alias in node.names:
            try:
                mod = importlib.import_module(alias.name)
            except ImportError as e:
                self.problems.append(f"import {alias.name}: {e}")
                continue
            self.names[(alias.asname or alias.name).split(".")[0]] = mod

    def visit_ImportFrom(self, node):
        try:
            mod = importlib.import_module(node.module)
        except ImportError as e:
            self.problems.append(f"from {node.module}: {e}")
            return
        for alias in node.names:
            if not hasattr(mod, alias.name):
                self.problems.append(f"from {node.module} import {alias.name}: no such name")
            else:
                self.names[alias.asname or alias.name] = getattr(mod, alias.name)

    # types of variables ---------------------------------------------------------------------
    def visit_Assign(self, node):
        self.generic_visit(node)
        cls = self._type_of(node.value)
        if cls is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.types[target.id] = cls

    def _type_of(self, value):
        if isinstance(value, ast.Call):
            f = value.func
            if isinstance(f, ast.Name) and inspect.isclass(self.names.get(f.id)):
                return self.names[f.id]
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                owner = self.names.get(f.value.id)
                if inspect.isclass(owner) and f.attr in ("create", "get"):
                    return owner
                if f.attr == "train" and f.value.id in self.types:
                    from sagemaker.core.resources import TrainingJob

                    return TrainingJob
        return None

    def _resolve(self, node):
        """The class of an expression made of a typed name and attribute reads, or None."""
        if isinstance(node, ast.Name):
            return self.types.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self._resolve(node.value)
            if owner is not None:
                if not _has_attr(owner, node.attr):
                    self.problems.append(f"{ast.unparse(node)}: {owner.__name__} has no attribute {node.attr!r}")
                    return None
                return _attr_type(owner, node.attr)
        return None

    def visit_Attribute(self, node):
        self._resolve(node)
        self.generic_visit(node)

    # calls ----------------------------------------------------------------------------------
    def visit_Call(self, node):
        f = node.func
        target = cls = None
        if isinstance(f, ast.Name) and callable(self.names.get(f.id)):
            target = self.names[f.id]
            if inspect.isclass(target):
                cls, target = target, target.__init__
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            owner = self.names.get(f.value.id) if f.value.id in self.names else self.types.get(f.value.id)
            if inspect.isclass(owner) or inspect.ismodule(owner):
                if not hasattr(owner, f.attr):
                    self.problems.append(f"{ast.unparse(f)}: no such attribute")
                else:
                    target = getattr(owner, f.attr)
        if target is not None and not inspect.isbuiltin(target):
            try:
                allowed, any_kw = _allowed_kwargs(target, cls)
            except (TypeError, ValueError):
                allowed, any_kw = set(), True
            self.calls_checked += 1
            for kw in node.keywords:
                if kw.arg is not None and not any_kw and kw.arg not in allowed:
                    self.problems.append(f"{ast.unparse(f)}(): unknown keyword {kw.arg!r}")
        self.generic_visit(node)


def sdk_problems(code: str) -> tuple[list[str], SdkChecker]:
    checker = SdkChecker()
    checker.visit(ast.parse(code))
    return checker.problems, checker


# --------------------------------------------------------------------------------------------
# The matrix


@pytest.mark.parametrize("model_key", sorted(MODELS))
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_rendered_code_compiles_validates_and_matches_the_sdk(case, model_key):
    out = _outputs(case, model_key)
    technique, opts = case
    continued = technique == "continued"
    for kind in ("script", "notebook"):
        code = out[kind]
        compile(code, f"<{technique}-{model_key}-{kind}>", "exec")
        problems, checker = sdk_problems(code)
        assert problems == [], f"{kind}: {problems}"
        assert checker.calls_checked >= 5
        # The trainer is built from the right class and launched with train().
        trainer_cls = {"SFT": "SFTTrainer", "DPO": "DPOTrainer", "RLVR": "RLVRTrainer", "RLAIF": "RLAIFTrainer"}[
            opts.get("continue_technique") or R.TECHNIQUE_OF[technique]]
        assert f"trainer = {trainer_cls}(" in code
        assert "training_job = trainer.train(wait=True)" in code
        assert ('MODEL_PACKAGE_GROUP_NAME = "customer-support-chatbot-v1"' in code)
        if continued:
            assert "ModelPackageGroup.create" not in code
            assert "model=PREVIOUS_MODEL_PACKAGE_ARN" in code
        else:
            assert f'BASE_MODEL = "{MODELS[model_key]}"' in code

    # EULA: only meta-, never accepted unless asked, never in continued customization.
    all_text = out["script"] + out["notebook"] + out["markdown"]
    if model_key == "meta" and not continued:
        for kind in ("script", "notebook"):
            assert "ACCEPT_EULA = False" in out[kind]
            assert "accept_eula=ACCEPT_EULA," in out[kind]
    else:
        assert "ACCEPT_EULA" not in all_text and "accept_eula" not in all_text
    assert "ACCEPT_EULA = True" not in all_text

    # Nova: nothing touches max_epochs / lr_warmup_steps_ratio.
    if model_key == "nova":
        assert "max_epochs" not in all_text and "lr_warmup_steps_ratio" not in all_text
    else:
        assert "max_epochs" in out["script"]
        sdk_t = opts.get("continue_technique") or R.TECHNIQUE_OF[technique]
        assert ("lr_warmup_steps_ratio" in out["script"]) == (sdk_t in ("SFT", "DPO"))


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "continued"], ids=lambda c: c[0])
def test_accepting_the_eula_is_explicit(case):
    out = _outputs(case, "meta", accept_eula=True)
    for kind in ("script", "notebook"):
        assert "ACCEPT_EULA = True" in out[kind]
        assert "accept_eula=ACCEPT_EULA," in out[kind]
        assert sdk_problems(out[kind])[0] == []


def test_units_are_numbered_cells_with_labels():
    r = render("sft", OPEN, use_case="Customer Support Chatbot")
    script = r.to_script()
    numbers = [int(n) for n in re.findall(r"^# Cell (\d+): ", script, re.M)]
    assert numbers == list(range(1, len(r.units()) + 1))
    labels = [u.label for u in r.units()]
    assert labels[:5] == ["Imports", "Setup & Credentials", "Model Package Group",
                          "Register Training Dataset", "Configure Trainer"]
    assert "Training Metrics" in labels
    nb = r.to_notebook()
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == len(r.units("notebook")) and len(md) == len(r.units("notebook")) + 1
    assert md[1].source == "## 1. Imports"
    assert not any(c.source.startswith("# Cell") for c in code)
    assert nb.nbformat == 4
    # Deterministic output: the same inputs give the same notebook.
    assert nbformat.writes(nb) == nbformat.writes(render("sft", OPEN, use_case="Customer Support Chatbot").to_notebook())


def test_notebook_only_lines():
    r = render("dpo", OPEN, model_package_group_name="x-v1")
    nb_code = _notebook_code(r.to_notebook())
    script = r.to_script()
    assert "%pip install" in nb_code and "NOTEBOOK_ONLY" not in nb_code
    assert "%pip install" not in script and "NOTEBOOK_ONLY" not in script


def test_values_become_python_literals():
    tricky = "s3://my-bucket/data/it's \"quoted\" \\ path.jsonl"
    r = render("sft", OPEN, use_case="Support", training_dataset=tricky,
               hyperparameters={"learning_rate": 2e-5, "global_batch_size": 32, "note": "a\"b"})
    tree = ast.parse(r.code)
    values = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
              for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
    assert values["TRAINING_DATA_S3"] == tricky
    assert "trainer.hyperparameters.learning_rate = 2e-05" in r.code
    assert "trainer.hyperparameters.global_batch_size = 32" in r.code
    assert 'trainer.hyperparameters.note = "a\\"b"' in r.code


def test_rlaif_builtin_prompt_names_are_normalised():
    code = render("rlaif-builtin", OPEN, use_case="Summaries", reward_prompt="faithfulness").code
    assert 'JUDGE_PROMPT = "Builtin.Faithfulness"' in code
    # The agent plugin's names are the recipes' cot.jinja / evaluate.jinja.
    assert 'JUDGE_PROMPT = "Builtin.Cot"' in render("rlaif", OPEN, use_case="x", reward_prompt="Builtin.ChainOfThought").code
    assert 'JUDGE_PROMPT = "Builtin.Evaluate"' in render("rlaif", OPEN, use_case="x", reward_prompt="evaluation").code
    assert 'REWARD_MODEL_ID = "openai.gpt-oss-120b-1:0"' in code


# --------------------------------------------------------------------------------------------
# Group names


@pytest.mark.parametrize("use_case, expected", [
    ("Customer Support Chatbot", "customer-support-chatbot-v1"),
    ("  SQL -> text (v2)!  ", "sql-text-v2-v1"),
    ("Résumé screening", "r-sum-screening-v1"),
    ("A" * 100, "a" * 60 + "-v1"),
])
def test_group_name_from_use_case(use_case, expected):
    name = group_name_from_use_case(use_case)
    assert name == expected
    assert len(name) <= 63 and re.fullmatch(R.GROUP_NAME_PATTERN, name)


def test_group_name_version_and_truncation_keep_the_pattern():
    name = group_name_from_use_case("x" * 58 + " tail", version=12)
    assert name.endswith("-v12") and len(name) <= 63 and "--" not in name
    assert re.fullmatch(R.GROUP_NAME_PATTERN, name)


@pytest.mark.parametrize("bad, needle", [
    ("-leading", "does not match"),
    ("trailing-", "does not match"),
    ("under_score", "does not match"),
    ("x" * 64, "64 characters; the limit is 63"),
])
def test_bad_group_names_are_rejected_clearly(bad, needle):
    with pytest.raises(RenderError, match=re.escape(needle)):
        render("sft", OPEN, model_package_group_name=bad)


def test_use_case_without_letters_is_rejected():
    with pytest.raises(RenderError, match="no letters or digits"):
        render("sft", OPEN, use_case="!!! ???")


# --------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("kwargs, needle", [
    ({"technique": "ppo"}, "technique 'ppo': expected one of"),
    ({"accept_eula": True}, "gated meta- models only"),
    ({"base_model": "bad model id"}, "base model 'bad model id'"),
    ({"hyperparameters": {"bad-name": 1}}, "hyperparameter name 'bad-name'"),
    ({"training_dataset": "/local/file.jsonl"}, "expected an s3:// URI"),
    ({"reward_prompt": "Builtin.Summarize"}, "apply to RLAIF only"),
    ({"training_type": "QLORA"}, "expected LORA or FULL"),
])
def test_render_errors_name_the_problem(kwargs, needle):
    args = {"technique": "sft", "base_model": OPEN, "use_case": "Support"} | kwargs
    with pytest.raises(RenderError, match=re.escape(needle)):
        render(args.pop("technique"), args.pop("base_model"), **args)


def test_nova_rejects_epoch_hyperparameters():
    with pytest.raises(RenderError, match="not available for Nova"):
        render("sft", NOVA, use_case="Support", hyperparameters={"max_epochs": 3})


def test_continued_rules():
    with pytest.raises(RenderError, match="must not pass accept_eula"):
        render("continued", META, use_case="Support", previous_training_job="j", accept_eula=True)
    with pytest.raises(RenderError, match="previous training job name"):
        render("continued", OPEN, use_case="Support")
    with pytest.raises(RenderError, match="continued RLVR needs"):
        render("continued", OPEN, use_case="Support", continue_technique="RLVR", previous_training_job="j")
    with pytest.raises(RenderError, match="continue technique"):
        render("continued", OPEN, use_case="Support", continue_technique="PPO", previous_training_job="j")


def test_bad_reward_prompt_and_judge():
    with pytest.raises(RenderError, match="Builtin.Summarize"):
        render("rlaif-builtin", OPEN, use_case="x", reward_prompt="Builtin.Nope")
    with pytest.raises(RenderError, match="reward model 'gpt-4'"):
        render("rlaif-builtin", OPEN, use_case="x", reward_model_id="gpt-4")


# --------------------------------------------------------------------------------------------
# Writing files


def test_write_notebook_and_script(tmp_path):
    nb_path, = R.write(tmp_path / "out" / "train.ipynb", "dpo", OPEN, use_case="Support Bot")
    nb = nbformat.read(str(nb_path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    py_path, = R.write(tmp_path / "train.py", "sft", META, use_case="Support Bot")
    text = py_path.read_text()
    compile(text, str(py_path), "exec")
    assert text.startswith('"""SFT fine-tuning of ' + META)
    with pytest.raises(RenderError, match="expected a .ipynb"):
        R.write(tmp_path / "train.txt", "sft", OPEN, use_case="x")


def test_write_custom_prompt_adds_the_example_prompt(tmp_path):
    files = R.write(tmp_path / "rlaif.py", "rlaif-custom-prompt", OPEN, use_case="Support Bot")
    assert [f.name for f in files] == ["rlaif.py", "judge_prompt.jinja"]
    prompt = (tmp_path / "prompts" / "judge_prompt.jinja").read_text()
    assert "{{ prompt }}" in prompt and "{{ response }}" in prompt
    # Rendering the example prompt as Jinja works (the SDK renders it the same way).
    import jinja2

    assert "hello" in jinja2.Template(prompt).render(prompt="hello", response="world")
    # An existing prompt is never overwritten.
    (tmp_path / "prompts" / "judge_prompt.jinja").write_text("mine {{ prompt }} {{ response }}")
    files = R.write(tmp_path / "rlaif.py", "rlaif-custom-prompt", OPEN, use_case="Support Bot")
    assert [f.name for f in files] == ["rlaif.py"]
    assert (tmp_path / "prompts" / "judge_prompt.jinja").read_text().startswith("mine")


def test_every_template_parses_as_jinja():
    env = R._environment()
    from sagemaker_finetuning.templates import TEMPLATE_FILES

    for name in list(TEMPLATE_FILES.values()) + ["_setup.py.jinja", "_group_and_dataset.py.jinja", "_tail.py.jinja", "_trainer_args.py.jinja"]:
        env.parse(R._load_template(name))


def test_metric_names_in_the_notebook_match_the_metrics_module():
    from sagemaker_finetuning.tools.metrics import TECHNIQUE_METRICS

    code = render("dpo", OPEN, use_case="x").code
    assert f"METRIC_NAMES = {json.dumps(list(TECHNIQUE_METRICS['DPO']))}" in code


def test_the_sdk_oracle_catches_mistakes():
    """The checker above is only worth something if it fails on wrong names."""
    good = render("rlvr", OPEN, use_case="Math", reward_function=EVALUATOR_ARN).code
    assert sdk_problems(good)[0] == []
    for wrong, needle in [
        (good.replace("custom_reward_function=", "reward_function="), "unknown keyword 'reward_function'"),
        (good.replace("trainer.train(wait=True)", "trainer.train(wait=True, block=True)"), "unknown keyword 'block'"),
        (good.replace("import RLVRTrainer", "import RLVRTrainer, PPOTrainer"), "PPOTrainer: no such name"),
        (good.replace("mlflow_details.mlflow_run_id", "mlflow_details.run_identifier"), "no attribute 'run_identifier'"),
        (good.replace("DataSet.create(", "DataSet.make_new("), "DataSet.make_new: no such attribute"),
        (good.replace("model_package_group_name=MODEL_PACKAGE_GROUP_NAME)", "group_name=MODEL_PACKAGE_GROUP_NAME)"),
         "unknown keyword 'group_name'"),
        (good.replace("role=ROLE_ARN,", "role=ROLE_ARN, execution_role=ROLE_ARN,"), "unknown keyword 'execution_role'"),
    ]:
        assert wrong != good
        problems = sdk_problems(wrong)[0]
        assert any(needle in p for p in problems), (needle, problems)
