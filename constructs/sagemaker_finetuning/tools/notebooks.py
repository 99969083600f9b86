"""Render the SageMaker Python SDK v3 fine-tuning templates into a notebook or a script.

    from sagemaker_finetuning.tools.notebooks import render, write

    rendered = render("sft", base_model="huggingface-reasoning-qwen3-06b", use_case="Customer Support Chatbot")
    rendered.model_package_group_name      # 'customer-support-chatbot-v1'
    rendered.default_filename("notebook")  # 'customer-support-chatbot-v1-sft-huggingface-reasoning-qwen3-06b.ipynb'
    print(rendered.to_script())            # a runnable Python script
    rendered.units("notebook")             # [Unit(number, label, code), ...]
    nb = rendered.to_notebook()            # an nbformat v4 notebook
    write("train.ipynb", "dpo", base_model=..., use_case=...)   # format from the suffix

Techniques: ``sft``, ``dpo``, ``rlvr``, ``rlaif`` (``rlaif-builtin``, or ``rlaif-custom-prompt``
when a judge prompt file or a RewardPrompt evaluator ARN is given), ``rlaif-builtin``,
``rlaif-custom-prompt``, ``continued``.

Rules the renderer enforces (the ones the plugin's finetuning skill states):

* ``ACCEPT_EULA`` / ``accept_eula=`` lines exist only for gated (``meta-``) models, next to the
  model's license sentence (:func:`sagemaker_finetuning.core.licenses.license_of`); acceptance is
  ``True`` only when the caller passes ``accept_eula=True``, never by default; continued
  customization never passes ``accept_eula``. Other models show the license sentence only.
* For Nova models (``nova`` in the id) every line touching ``max_epochs`` or
  ``lr_warmup_steps_ratio`` is dropped.
* ``MODEL_PACKAGE_GROUP_NAME`` matches ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
* RLVR states the reward Lambda contract of the model (Nova: a bare list of samples in, a bare
  list of results out; open-weights: ``{"batch": [...]}`` in, a statusCode/body envelope out) and,
  unless a registered function is given, writes ``reward_<model>.py`` from the reward template.
* RLAIF explains the judge's reply contract: a JSON object with a numeric ``score`` in 0.0-1.0.
* File names include the model (:func:`model_slug`), so two models never share a file.

Values reach the code as Python literals (``repr``), never as raw text (the license sentence, a
one-line comment built from the license table, is the one exception).
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import jinja2

from sagemaker_finetuning.core.constants import BUILTIN_JUDGE_PROMPT_ALIASES, BUILTIN_JUDGE_PROMPTS, JUDGE_MODEL_REGIONS, is_nova_model
from sagemaker_finetuning.core.evaluators import EVALUATOR_ARN
from sagemaker_finetuning.core.licenses import ModelLicense, license_of
from sagemaker_finetuning.core.naming import MAX_NAME, NAME_PATTERN, NAME_RE
from sagemaker_finetuning.templates import TEMPLATE_FILES
from sagemaker_finetuning.tools.metrics import metric_names_for

__all__ = [
    "TECHNIQUES",
    "RenderError",
    "Rendered",
    "Unit",
    "check_group_name",
    "group_name_from_use_case",
    "is_meta_model",
    "is_nova_model",
    "model_license",
    "model_slug",
    "render",
    "reward_file_name",
    "reward_function_code",
    "write",
]

#: A technique name that picks a template from the other options: ``rlaif`` (as ``finetune start``
#: and the workflow call the technique) is rlaif-builtin, or rlaif-custom-prompt with a judge
#: prompt file or a RewardPrompt evaluator ARN.
RLAIF = "rlaif"
TECHNIQUES = ("sft", "dpo", "rlvr", RLAIF, "rlaif-builtin", "rlaif-custom-prompt", "continued")
#: technique key -> SDK customization technique
TECHNIQUE_OF = {
    "sft": "SFT",
    "dpo": "DPO",
    "rlvr": "RLVR",
    RLAIF: "RLAIF",
    "rlaif-builtin": "RLAIF",
    "rlaif-custom-prompt": "RLAIF",
}
TITLES = {
    "SFT": "supervised fine-tuning (SFT)",
    "DPO": "direct preference optimization (DPO)",
    "RLVR": "reinforcement learning with verifiable rewards (RLVR)",
    "RLAIF": "reinforcement learning from AI feedback (RLAIF)",
}
GROUP_NAME_PATTERN = NAME_PATTERN
MAX_GROUP_NAME = MAX_NAME
MAX_EVALUATOR_NAME = 20
NOVA_ONLY_OMITTED = ("max_epochs", "lr_warmup_steps_ratio")
DEFAULT_JUDGE_PROMPT_FILE = "prompts/judge_prompt.jinja"
DEFAULT_JUDGE_PROMPT = "Builtin.Summarize"
REWARD_TEMPLATE = "reward_function.py.jinja"
SDK_PIN = "sagemaker>=3.7.1,<4.0"
#: What an RLAIF judge must reply (the SageMaker AI agent plugin's dataset-evaluation guidance).
JUDGE_REPLY_CONTRACT = 'a JSON object with a numeric "score" between 0.0 and 1.0, e.g. {"score": 0.8}'
#: The reward Lambda contract of each kind of model (sagemaker_finetuning.core.reward_contract).
REWARD_CONTRACTS = {
    "nova": "Nova reward function contract: the function receives a bare JSON list of samples and returns a bare list "
            'of results, one per sample and in the same order, each {"id", "aggregate_reward_score" (-1 to 1), '
            '"metrics_list"}; no statusCode/body envelope.',
    "open-weights": 'Open-weights reward function contract: the function receives {"batch": [sample, ...]} and returns '
                    '{"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "<JSON list of results>"}, '
                    'one result per sample and in the same order, each {"id", "aggregate_reward_score" (-1 to 1), "metrics_list"}.',
}

_GROUP_RE = NAME_RE
_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+\-]{0,2047}")
_S3_OR_ARN = re.compile(r"(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?|arn:aws[a-z\-]*:sagemaker:[^:]+:[0-9]{12}:hub-content/.+)")
_EVALUATOR_ARN = EVALUATOR_ARN
_REWARD_FUNCTION = re.compile(
    _EVALUATOR_ARN.pattern + r"|arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:[0-9]{12}:function:[a-zA-Z0-9\-_]+(:[a-zA-Z0-9\-_$]+)?"
)
_MLFLOW_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:mlflow-[a-zA-Z-]*/.+")
_ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::[0-9]{12}:role/.+")
_JOB_NAME = NAME_RE
_PACKAGE_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[^:]+:[0-9]{12}:model-package/.+")
_CELL = re.compile(r"^# Cell \d+: (.+?)\s*$")
_NOTEBOOK_ONLY = re.compile(r"\s*# NOTEBOOK_ONLY\s*$")
_SCRIPT_ONLY = re.compile(r"\s*# SCRIPT_ONLY\s*$")
_EULA_LINE = re.compile(r"ACCEPT_EULA|accept_eula")
_NOVA_LINE = re.compile("|".join(NOVA_ONLY_OMITTED))


class RenderError(ValueError):
    """A value the templates cannot be filled with; the message names it and what is expected."""


@dataclass(frozen=True)
class Unit:
    number: int
    label: str
    code: str


@dataclass
class Rendered:
    technique: str  # template key
    sdk_technique: str  # SFT / DPO / RLVR / RLAIF
    base_model: str
    model_package_group_name: str
    #: units with their ``# NOTEBOOK_ONLY`` / ``# SCRIPT_ONLY`` lines still marked
    raw_units: list[Unit]
    title: str
    notes: list[str] = field(default_factory=list)
    judge_prompt_file: str | None = None  # rlaif-custom-prompt: the prompt file the code reads
    #: RLVR: the reward function source the code registers (written from the reward template when missing)
    reward_function_file: str | None = None
    #: the default output file name without its suffix: ``<group>-<technique>-<model>``
    file_stem: str = ""
    #: unit label -> markdown explaining that unit, under its heading in a notebook (a script has the
    #: same facts in the code's comments)
    explanations: dict[str, str] = field(default_factory=dict)

    def default_filename(self, mode: str = "notebook") -> str:
        """``<group>-<technique>-<model>.ipynb`` (or ``.py``): the model is part of the name, so the
        files of two models never collide."""
        if mode not in ("notebook", "script"):
            raise RenderError(f"mode {mode!r}: expected notebook or script")
        return f"{self.file_stem}.{'ipynb' if mode == 'notebook' else 'py'}"

    def units(self, mode: str = "script") -> list[Unit]:
        """The units of one output kind ("script" or "notebook"), numbered from 1."""
        if mode not in ("notebook", "script"):
            raise RenderError(f"mode {mode!r}: expected notebook or script")
        keep, drop = (_NOTEBOOK_ONLY, _SCRIPT_ONLY) if mode == "notebook" else (_SCRIPT_ONLY, _NOTEBOOK_ONLY)
        out: list[Unit] = []
        for u in self.raw_units:
            lines = [keep.sub("", line) for line in u.code.split("\n") if not drop.search(line)]
            code = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
            if code.strip():
                out.append(Unit(len(out) + 1, u.label, code))
        return out

    @property
    def code(self) -> str:
        """All of the script's code, joined (what the script runs, without its docstring)."""
        return "\n\n".join(u.code for u in self.units("script")) + "\n"

    def to_script(self) -> str:
        doc = [self.title, ""] + self.notes + ["", f"Generated by `finetune generate` (sagemaker-finetuning). Needs {SDK_PIN}."]
        header = '"""' + "\n".join(doc).replace("\\", "\\\\").replace('"""', "\'\'\'") + '\n"""\n'
        parts = [header]
        for u in self.units("script"):
            parts.append(f"\n# Cell {u.number}: {u.label}\n{u.code}\n")
        return "".join(parts)

    def to_notebook(self):
        import nbformat
        from nbformat import v4

        nb = v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        intro = [f"# {self.title}", ""] + [f"- {n}" for n in self.notes]
        intro += ["", f"Generated by `finetune generate` (sagemaker-finetuning). Needs `{SDK_PIN}`; "
                  "run the cells in order (Jupyter with ipykernel)."]
        cells = [v4.new_markdown_cell("\n".join(intro), id="intro")]
        for u in self.units("notebook"):
            about = self.explanations.get(u.label)
            heading = f"## {u.number}. {u.label}" + (f"\n\n{about}" if about else "")
            cells.append(v4.new_markdown_cell(heading, id=f"cell-{u.number}-md"))
            cells.append(v4.new_code_cell(u.code, id=f"cell-{u.number}"))
        nb.cells = cells
        nbformat.validate(nb)
        return nb

    def write(self, path: str | Path, fmt: str | None = None) -> list[Path]:
        """Write a ``.ipynb`` or ``.py`` (``fmt`` overrides the suffix). Returns the files written:
        the output, plus next to it the files its code reads when they are missing (never
        overwritten): the example judge prompt, or the reward function from the reward template."""
        path = Path(path)
        kind = fmt or _format_from_suffix(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "notebook":
            import nbformat

            nbformat.write(self.to_notebook(), str(path))
        elif kind == "script":
            path.write_text(self.to_script(), encoding="utf-8")
        else:
            raise RenderError(f"output format {kind!r}: expected notebook or script")
        written = [path]
        companions: list[tuple[Path, Callable[[], str]]] = []
        if self.judge_prompt_file:
            companions.append((path.parent / self.judge_prompt_file, example_judge_prompt))
        if self.reward_function_file:
            companions.append((path.parent / self.reward_function_file,
                               lambda: reward_function_code(self.base_model, self.reward_function_file)))
        for companion, text in companions:
            if not companion.exists():
                companion.parent.mkdir(parents=True, exist_ok=True)
                companion.write_text(text(), encoding="utf-8")
                written.append(companion)
        return written


def _format_from_suffix(path: Path) -> str:
    if path.suffix == ".ipynb":
        return "notebook"
    if path.suffix == ".py":
        return "script"
    raise RenderError(f"output file {str(path)!r}: expected a .ipynb (notebook) or .py (script) name")


# --------------------------------------------------------------------------------------------
# Naming


def is_meta_model(model_id: str) -> bool:
    """Meta (Llama) models are gated: their id starts with ``meta-``."""
    return model_id.startswith("meta-")


def model_license(model_id: str) -> ModelLicense:
    """The model's license (:func:`sagemaker_finetuning.core.licenses.license_of`); for a model the
    table does not know, one without a link (gated when it is a ``meta-`` model)."""
    return license_of(model_id) or ModelLicense(model_id, is_meta_model(model_id), None, None)


def model_slug(model_id: str, sep: str = "-") -> str:
    """The model id as a file-name part: lowercase, every run of characters other than a-z and 0-9
    becomes ``sep``: ``meta-textgeneration-llama-3-2-1b-instruct`` stays as it is,
    ``model_slug("nova-textgeneration-lite-v2", "_")`` is ``nova_textgeneration_lite_v2``."""
    return re.sub(r"[^a-z0-9]+", sep, model_id.lower()).strip(sep) or "model"


def reward_file_name(model_id: str) -> str:
    """``reward_<model>.py`` (an importable module name, so a local test can import it)."""
    return f"reward_{model_slug(model_id, '_')}.py"


def check_group_name(name: str) -> str:
    """Return ``name`` if it is a valid model package group name, else raise RenderError."""
    if not isinstance(name, str) or not name:
        raise RenderError(f"model package group name {name!r}: expected 1-{MAX_GROUP_NAME} characters")
    if len(name) > MAX_GROUP_NAME:
        raise RenderError(
            f"model package group name {name!r} has {len(name)} characters; the limit is {MAX_GROUP_NAME}"
        )
    if not _GROUP_RE.fullmatch(name):
        raise RenderError(
            f"model package group name {name!r} does not match {GROUP_NAME_PATTERN} "
            "(letters, digits and single or repeated hyphens, starting and ending with a letter or digit)"
        )
    return name


def group_name_from_use_case(use_case: str, version: int = 1) -> str:
    """``"Customer Support Chatbot"`` -> ``"customer-support-chatbot-v1"``.

    Lowercase; every run of characters other than a-z and 0-9 becomes one hyphen; trimmed so the
    name with its ``-v<version>`` suffix fits 63 characters.
    """
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RenderError(f"version {version!r}: expected an integer >= 1")
    suffix = f"-v{version}"
    base = re.sub(r"[^a-z0-9]+", "-", (use_case or "").lower()).strip("-")
    base = base[: MAX_GROUP_NAME - len(suffix)].rstrip("-")
    if not base:
        raise RenderError(
            f"use case {use_case!r} has no letters or digits (a-z, 0-9) to build a model package group name from"
        )
    return check_group_name(base + suffix)


def _short_name(group: str, suffix: str, limit: int = MAX_EVALUATOR_NAME) -> str:
    base = group.lower()[: limit - len(suffix)].rstrip("-")
    return base + suffix


# --------------------------------------------------------------------------------------------
# Rendering

_ENV: jinja2.Environment | None = None


def _load_template(name: str) -> str:
    try:
        return (resources.files("sagemaker_finetuning.templates") / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def _environment() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(_load_template),
            line_statement_prefix="#%",
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
        )
        env.filters["py"] = _py_literal
        _ENV = env
    return _ENV


def _py_literal(value: Any) -> str:
    if isinstance(value, str):
        # JSON string syntax (ensure_ascii=False) is a valid Python literal of the same string.
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py_literal(v) for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} as a Python literal")


def example_judge_prompt() -> str:
    return _load_template(DEFAULT_JUDGE_PROMPT_FILE)


def reward_function_code(base_model: str, file_name: str | None = None) -> str:
    """The RLVR reward function source for ``base_model``, from the reward template: Nova models get
    the bare-list contract, other models the open-weights statusCode/body envelope."""
    nova = is_nova_model(base_model)
    ctx = {"base_model": base_model, "is_nova": nova, "contract": "nova" if nova else "open-weights",
           "file_name": file_name or reward_file_name(base_model)}
    try:
        return _environment().get_template(REWARD_TEMPLATE).render(**ctx)
    except jinja2.TemplateError as e:  # a template bug, not the caller's
        raise RuntimeError(f"template {REWARD_TEMPLATE} failed to render: {e}") from e


def _need(pattern: re.Pattern[str], value: Any, what: str, expected: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise RenderError(f"{what} {value!r}: expected {expected}")
    return value


def _hyperparameter_lines(hyperparameters: Mapping[str, Any] | None, nova: bool) -> list[str]:
    lines = []
    for name, value in (hyperparameters or {}).items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
            raise RenderError(f"hyperparameter name {name!r}: expected a Python identifier such as learning_rate")
        if nova and name in NOVA_ONLY_OMITTED:
            raise RenderError(f"hyperparameter {name!r} is not available for Nova models")
        if value is None or not isinstance(value, (bool, int, float, str)):
            raise RenderError(f"hyperparameter {name}={value!r}: expected a number, string or boolean")
        lines.append(f"trainer.hyperparameters.{name} = {_py_literal(value)}")
    return lines


def _judge_prompt(value: str | None) -> str:
    if value is None:
        return DEFAULT_JUDGE_PROMPT
    if _EVALUATOR_ARN.fullmatch(value):
        return value
    name = value[len("Builtin."):] if value.startswith("Builtin.") else value
    # The agent plugin's names (ChainOfThought, Evaluation) are the recipes' Cot / Evaluate.
    name = BUILTIN_JUDGE_PROMPT_ALIASES.get(name.lower(), name)
    for builtin in BUILTIN_JUDGE_PROMPTS:
        if name.lower() == builtin.lower():
            return f"Builtin.{builtin}"
    raise RenderError(
        f"reward prompt {value!r}: expected a built-in prompt ("
        + ", ".join(f"Builtin.{b}" for b in BUILTIN_JUDGE_PROMPTS)
        + ") or a RewardPrompt evaluator ARN (arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<version>)"
    )


def _judge_model(value: str | None) -> str:
    if value is None:
        return next(iter(JUDGE_MODEL_REGIONS))
    if value not in JUDGE_MODEL_REGIONS:
        raise RenderError(f"reward model {value!r}: expected one of {', '.join(JUDGE_MODEL_REGIONS)}")
    return value


def render(
    technique: str,
    base_model: str,
    *,
    use_case: str | None = None,
    model_package_group_name: str | None = None,
    version: int = 1,
    accept_eula: bool = False,
    training_dataset: str | None = None,
    role_arn: str | None = None,
    training_type: str = "LORA",
    hyperparameters: Mapping[str, Any] | None = None,
    mlflow_resource_arn: str | None = None,
    reward_function: str | None = None,
    reward_model_id: str | None = None,
    reward_prompt: str | None = None,
    judge_prompt_file: str | None = None,
    continue_technique: str = "SFT",
    previous_training_job: str | None = None,
    previous_model_package_arn: str | None = None,
    round: int = 2,  # noqa: A002 - the customization round, as the docs call it
) -> Rendered:
    """Fill one template. ``technique`` is one of :data:`TECHNIQUES` (any case).

    The group name comes from ``model_package_group_name`` or else from ``use_case``
    (``-v<version>`` appended). ``judge_prompt_file`` (rlaif-custom-prompt; default
    ``prompts/judge_prompt.jinja``) is the judge prompt the code registers, relative to the output.
    The result writes either output kind.
    """
    # The checks run in this order so that the first problem reported stays the same.
    technique = _template_key(technique, reward_prompt, judge_prompt_file)
    sdk_technique = _sdk_technique(technique, base_model, continue_technique)
    continued = technique == "continued"
    license_ = model_license(base_model)
    meta = is_meta_model(base_model) or license_.gated
    nova = is_nova_model(base_model)
    _check_eula(accept_eula, base_model, continued=continued, meta=meta)
    group = _group_name(model_package_group_name, use_case, version)
    _check_job_values(training_dataset, role_arn, mlflow_resource_arn, training_type, reward_function, round)

    ctx = _base_context(
        sdk_technique, base_model, group, training_type=training_type, is_meta=meta and not continued, is_nova=nova,
        accept_eula=accept_eula, training_dataset=training_dataset, role_arn=role_arn, mlflow_resource_arn=mlflow_resource_arn,
        hyperparameters=hyperparameters, reward_function=reward_function, previous_training_job=previous_training_job,
        previous_model_package_arn=previous_model_package_arn, round=round,
    )
    ctx["license_sentence"] = " ".join(license_.sentence().split())
    notes: list[str] = []
    explanations: dict[str, str] = {}
    prompt_file = _add_reward_settings(
        ctx, notes, explanations, technique, sdk_technique, group, continued=continued, reward_function=reward_function,
        reward_model_id=reward_model_id, reward_prompt=reward_prompt, judge_prompt_file=judge_prompt_file,
    )
    _add_continued_settings(
        ctx, notes, sdk_technique, group, continued=continued, previous_training_job=previous_training_job,
        previous_model_package_arn=previous_model_package_arn, round=round,
    )
    notes += _model_notes(license_, meta=meta, nova=nova, continued=continued, accept_eula=accept_eula)

    units = _split_units(_fill_template(technique, ctx), drop_eula=not ctx["is_meta"], drop_nova=nova)
    kind = "continued customization" if continued else "fine-tuning"
    stem = f"continued-{sdk_technique.lower()}-round{round}" if continued else technique
    rendered = Rendered(
        technique=technique,
        sdk_technique=sdk_technique,
        base_model=base_model,
        model_package_group_name=group,
        raw_units=units,
        title=f"{sdk_technique} {kind} of {base_model}",
        notes=[f"Model package group: {group}.", f"Technique: {TITLES[sdk_technique]}."] + notes,
        judge_prompt_file=prompt_file,
        reward_function_file=ctx["reward_function_file"],
        file_stem=f"{group}-{stem}-{model_slug(base_model)}",
        explanations=explanations,
    )
    _check_compiles(rendered)
    return rendered


# Steps of render(), in the order it runs them.


def _template_key(technique: str, reward_prompt: str | None, judge_prompt_file: str | None) -> str:
    """The template of a technique name: ``rlaif`` is rlaif-custom-prompt with a judge prompt file or
    a RewardPrompt evaluator ARN, else rlaif-builtin; the other names are template keys."""
    key = technique.strip().lower() if isinstance(technique, str) else technique
    if key != RLAIF:
        return key
    custom = judge_prompt_file is not None or (isinstance(reward_prompt, str) and _EVALUATOR_ARN.fullmatch(reward_prompt))
    return "rlaif-custom-prompt" if custom else "rlaif-builtin"


def _sdk_technique(technique: str, base_model: str, continue_technique: str) -> str:
    """Check the template key and the model id; return the SDK technique (SFT / DPO / RLVR / RLAIF)."""
    if technique not in TEMPLATE_FILES:
        raise RenderError(f"technique {technique!r}: expected one of {', '.join(TECHNIQUES)}")
    _need(_MODEL_RE, base_model, "base model", "a SageMaker Hub model id such as meta-textgeneration-llama-3-2-1b-instruct")
    if technique != "continued":
        return TECHNIQUE_OF[technique]
    sdk_technique = str(continue_technique).upper()
    if sdk_technique not in TITLES:
        raise RenderError(f"continue technique {continue_technique!r}: expected one of {', '.join(TITLES)}")
    return sdk_technique


def _check_eula(accept_eula: bool, base_model: str, *, continued: bool, meta: bool) -> None:
    """License acceptance is a plain bool, for a first-round meta- model only."""
    if accept_eula not in (True, False):
        raise RenderError(f"accept_eula {accept_eula!r}: expected true or false")
    if accept_eula and continued:
        raise RenderError("accept_eula: continued customization must not pass accept_eula (the first round accepted the license)")
    if accept_eula and not meta:
        raise RenderError(f"accept_eula applies to gated meta- models only, not to {base_model!r}")


def _group_name(model_package_group_name: str | None, use_case: str | None, version: int) -> str:
    """The model package group name: the one given, else the one derived from the use case."""
    if model_package_group_name:
        return check_group_name(model_package_group_name)
    if use_case:
        return group_name_from_use_case(use_case, version)
    raise RenderError("a model package group name or a use case sentence to derive it from is required")


def _check_job_values(
    training_dataset: str | None,
    role_arn: str | None,
    mlflow_resource_arn: str | None,
    training_type: str,
    reward_function: str | None,
    round: int,  # noqa: A002 - as in render()
) -> None:
    """The format of each optional value the training job is given."""
    if training_dataset is not None:
        _need(_S3_OR_ARN, training_dataset, "training dataset", "an s3:// URI or a hub-content DataSet ARN")
    if role_arn is not None:
        _need(_ROLE_ARN, role_arn, "role", "an IAM role ARN (arn:aws:iam::<account>:role/<name>)")
    if mlflow_resource_arn is not None:
        _need(_MLFLOW_ARN, mlflow_resource_arn, "MLflow resource", "an MLflow app or tracking server ARN")
    if training_type not in ("LORA", "FULL"):
        raise RenderError(f"training type {training_type!r}: expected LORA or FULL")
    if reward_function is not None:
        _need(_REWARD_FUNCTION, reward_function, "reward function", "a hub-content JsonDoc evaluator ARN or a Lambda function ARN")
    if not isinstance(round, int) or isinstance(round, bool) or round < 2:
        raise RenderError(f"round {round!r}: expected an integer >= 2")


def _base_context(
    sdk_technique: str,
    base_model: str,
    group: str,
    *,
    training_type: str,
    is_meta: bool,
    is_nova: bool,
    accept_eula: bool,
    training_dataset: str | None,
    role_arn: str | None,
    mlflow_resource_arn: str | None,
    hyperparameters: Mapping[str, Any] | None,
    reward_function: str | None,
    previous_training_job: str | None,
    previous_model_package_arn: str | None,
    round: int,  # noqa: A002 - as in render()
) -> dict[str, Any]:
    """The template variables every template gets; the reward and continued ones start as None."""
    return {
        "technique": sdk_technique,
        "technique_enum": f"CustomizationTechnique.{sdk_technique}",
        "training_type": training_type,
        "training_type_enum": f"TrainingType.{training_type}",
        "base_model": base_model,
        "model_package_group_name": group,
        "group_description": f"{sdk_technique} fine-tuning of {base_model}",
        "is_meta": is_meta,
        "is_nova": is_nova,
        "accept_eula": bool(accept_eula),
        "training_dataset": training_dataset,
        "role_arn": role_arn,
        "mlflow_resource_arn": mlflow_resource_arn,
        "hyperparameter_lines": _hyperparameter_lines(hyperparameters, is_nova),
        "metric_names": metric_names_for(sdk_technique),
        "reward_function": reward_function,
        "reward_function_file": None,
        "reward_contract": None,
        "license_sentence": None,
        "reward_model_id": None,
        "judge_prompt": None,
        "judge_prompt_arn": None,
        "judge_prompt_file": None,
        "evaluator_name": None,
        "previous_training_job": previous_training_job,
        "previous_model_package_arn": previous_model_package_arn,
        "round": round,
        "dataset_name": None,
    }


def _add_reward_settings(
    ctx: dict[str, Any],
    notes: list[str],
    explanations: dict[str, str],
    technique: str,
    sdk_technique: str,
    group: str,
    *,
    continued: bool,
    reward_function: str | None,
    reward_model_id: str | None,
    reward_prompt: str | None,
    judge_prompt_file: str | None,
) -> str | None:
    """Fill the RLVR / RLAIF variables of ``ctx`` and add their notes and explanations; reject reward
    options the technique does not take. Returns the judge prompt file the code reads, if any."""
    if judge_prompt_file is not None and technique != "rlaif-custom-prompt":
        raise RenderError(f"judge prompt file applies to the RLAIF custom-prompt template only, not to {technique}")
    prompt_file = None
    if sdk_technique == "RLVR":
        _add_reward_function(ctx, notes, explanations, group, continued=continued, reward_function=reward_function)
    if sdk_technique == "RLAIF":
        ctx["reward_model_id"] = _judge_model(reward_model_id)
        if technique == "rlaif-custom-prompt":
            prompt_file = _add_custom_judge_prompt(ctx, notes, group, reward_prompt, judge_prompt_file)
        else:
            ctx["judge_prompt"] = _judge_prompt(reward_prompt)
        explanations[_judge_label(ctx)] = _judge_explanation(ctx)
    elif reward_model_id is not None or reward_prompt is not None:
        raise RenderError(f"reward model / reward prompt apply to RLAIF only, not to {sdk_technique}")
    if reward_function is not None and sdk_technique != "RLVR":
        raise RenderError(f"reward function applies to RLVR only, not to {sdk_technique}")
    return prompt_file


def _add_reward_function(
    ctx: dict[str, Any], notes: list[str], explanations: dict[str, str], group: str, *, continued: bool,
    reward_function: str | None,
) -> None:
    """RLVR: the reward Lambda contract of the model and, without a registered function, the
    ``reward_<model>.py`` file the code registers."""
    contract = "nova" if ctx["is_nova"] else "open-weights"
    ctx["reward_contract"] = contract
    about = REWARD_CONTRACTS[contract]
    if reward_function is None:
        if continued:
            raise RenderError("reward function: continued RLVR needs the evaluator or Lambda ARN of the reward function")
        ctx["evaluator_name"] = _short_name(group, "-reward")
        ctx["reward_function_file"] = reward_file_name(ctx["base_model"])
        notes.append(f"Reward function: {ctx['reward_function_file']} next to this file (written from the reward template "
                     f"when missing, {contract} contract); change its score_sample() to your task.")
        about += (f"\n\n`{ctx['reward_function_file']}` (next to this notebook) follows it: change `score_sample()` to your "
                  f"task and keep `lambda_handler` as it is. `python {ctx['reward_function_file']}` tries it on two examples.")
        explanations["Register Reward Function"] = about
    else:
        notes.append(f"Reward function: the registered one must follow the {contract} contract.")
        explanations["Reward Function"] = about + "\n\nThe registered function must follow it."


def _judge_label(ctx: Mapping[str, Any]) -> str:
    return "Register Judge Prompt" if ctx["judge_prompt_file"] else "Judge"


def _judge_explanation(ctx: Mapping[str, Any]) -> str:
    """The judge's reply contract, for the RLAIF notebooks' judge cell."""
    text = (f"The judge, an Amazon Bedrock model (`REWARD_MODEL_ID`), scores each response with a judge prompt and "
            f"must reply with {JUDGE_REPLY_CONTRACT}: the service reads that score as the reward. ")
    if ctx["judge_prompt_file"]:
        return text + (f"`{ctx['judge_prompt_file']}` (next to this notebook) is registered as the judge prompt: a Jinja "
                       "template that uses `{{ prompt }}` and `{{ response }}` (and may use `{{ reference }}`). Whatever you "
                       'change in it, keep asking for that JSON object; a "SCORE: 7" line or a 1-10 scale is not what '
                       "the service parses.")
    if ctx["judge_prompt_arn"]:
        return text + 'The registered prompt must ask for that JSON object (not a "SCORE: 7" line or a 1-10 scale).'
    builtins = ", ".join(f"`Builtin.{b}`" for b in BUILTIN_JUDGE_PROMPTS)
    return text + (f"This notebook uses a built-in prompt ({builtins}), the service's own. A custom prompt "
                   "(`finetune generate rlaif-custom-prompt`) must ask for that JSON object itself; "
                   'a "SCORE: 7" line or a 1-10 scale is not what the service parses.')


def _add_custom_judge_prompt(
    ctx: dict[str, Any], notes: list[str], group: str, reward_prompt: str | None, judge_prompt_file: str | None
) -> str | None:
    """rlaif-custom-prompt: a RewardPrompt evaluator ARN, or else a prompt file the code registers.
    Returns the prompt file (None with an ARN)."""
    if reward_prompt is not None:
        if judge_prompt_file is not None:
            raise RenderError("reward prompt and judge prompt file: pass a RewardPrompt evaluator ARN or a judge prompt file, not both")
        ctx["judge_prompt_arn"] = _need(
            _EVALUATOR_ARN, reward_prompt, "reward prompt", "a RewardPrompt evaluator ARN (hub-content JsonDoc)"
        )
        return None
    if judge_prompt_file is None:
        judge_prompt_file = DEFAULT_JUDGE_PROMPT_FILE
    if not isinstance(judge_prompt_file, str) or not judge_prompt_file.strip():
        raise RenderError(f"judge prompt file {judge_prompt_file!r}: expected a file path")
    ctx["judge_prompt_file"] = judge_prompt_file
    ctx["evaluator_name"] = _short_name(group, "-judge")
    notes.append(f"Edit the judge prompt in {judge_prompt_file} ({{{{ prompt }}}} and {{{{ response }}}}); the judge must "
                 f"reply with {JUDGE_REPLY_CONTRACT}.")
    return judge_prompt_file


def _add_continued_settings(
    ctx: dict[str, Any],
    notes: list[str],
    sdk_technique: str,
    group: str,
    *,
    continued: bool,
    previous_training_job: str | None,
    previous_model_package_arn: str | None,
    round: int,  # noqa: A002 - as in render()
) -> None:
    """Continued customization: check what it starts from and name its dataset; other templates
    take no previous job or package."""
    if not continued:
        if previous_training_job is not None or previous_model_package_arn is not None:
            raise RenderError("previous training job / model package apply to the continued template only")
        return
    if previous_model_package_arn is not None:
        _need(_PACKAGE_ARN, previous_model_package_arn, "previous model package", "a model package ARN")
    elif previous_training_job is not None:
        _need(_JOB_NAME, previous_training_job, "previous training job", "a training job name")
    else:
        raise RenderError("continued customization needs the previous training job name or its output model package ARN")
    ctx["dataset_name"] = f"{group[:44].rstrip('-')}-{sdk_technique.lower()}-round{round}"
    notes.append("Continued customization: starts from the earlier output model package and registers "
                 "the new version in the same group (not re-created, no license flag).")


def _model_notes(license_: ModelLicense, *, meta: bool, nova: bool, continued: bool, accept_eula: bool) -> list[str]:
    """The model's license (with, for a gated model, what ACCEPT_EULA means) and what Nova models leave out."""
    sentence = " ".join(license_.sentence().split())
    if meta and not continued and accept_eula:
        notes = [f"Gated model: {sentence} ACCEPT_EULA is True because you said you accept this license."]
    elif meta and not continued:
        notes = [f"Gated model: {sentence} Read the license; ACCEPT_EULA stays False, change it to True only if you "
                 "accept the license (training fails without it). Nothing here accepts it for you."]
    else:
        notes = [f"License: {sentence}"]
    if nova:
        notes.append("Nova model: the epoch-count and warmup-ratio hyperparameters are not available and are left out.")
    return notes


def _fill_template(technique: str, ctx: Mapping[str, Any]) -> str:
    try:
        return _environment().get_template(TEMPLATE_FILES[technique]).render(**ctx)
    except jinja2.TemplateError as e:  # a template bug, not the caller's
        raise RuntimeError(f"template {TEMPLATE_FILES[technique]} failed to render: {e}") from e


def _check_compiles(rendered: Rendered) -> None:
    """Both output kinds must be valid Python, and every explanation must have its unit (a failure is a template bug)."""
    missing = set(rendered.explanations) - {u.label for u in rendered.raw_units}
    if missing:  # pragma: no cover - a template bug
        raise RuntimeError(f"template {TEMPLATE_FILES[rendered.technique]} has no unit {sorted(missing)} to explain")
    for kind in ("script", "notebook"):
        try:
            compile("\n\n".join(u.code for u in rendered.units(kind)), f"<{rendered.technique}-{kind}>", "exec")
        except SyntaxError as e:  # pragma: no cover - a template bug
            raise RuntimeError(f"template {TEMPLATE_FILES[rendered.technique]} rendered invalid Python: {e}") from e


def _split_units(text: str, *, drop_eula: bool, drop_nova: bool) -> list[Unit]:
    units: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        m = _CELL.match(line)
        if m:
            units.append((m.group(1), []))
            continue
        if (drop_eula and _EULA_LINE.search(line)) or (drop_nova and _NOVA_LINE.search(line)):
            continue
        if not units:
            if line.strip():
                raise RuntimeError(f"template text before the first '# Cell N: Label' marker: {line!r}")
            continue
        units[-1][1].append(line)
    return [Unit(i, label, "\n".join(lines)) for i, (label, lines) in enumerate(units, start=1)]


def write(path: str | Path, technique: str, base_model: str, *, fmt: str | None = None, **options: Any) -> list[Path]:
    """Render and write; the format is ``fmt`` or the suffix (.ipynb / .py)."""
    kind = fmt or _format_from_suffix(Path(path))
    return render(technique, base_model, **options).write(path, kind)
