"""JudgePrompt: a custom RLAIF judge prompt (Jinja), checked at synth, uploaded and registered."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable, Optional

import jinja2
import jinja2.meta
from aws_cdk import Annotations, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs import Construct
from sagemaker_finetuning.core import evaluators
from sagemaker_finetuning.registry.hub_evaluator import EvaluatorType, HubEvaluator, default_evaluator_name, validate_evaluator_name
from sagemaker_finetuning.rewards.judges import BuiltinJudgePrompt
from sagemaker_finetuning.storage.bucket import DataLocations
from sagemaker_finetuning.support import props
from sagemaker_finetuning.support.nag import Suppression, suppress

REQUIRED_PLACEHOLDERS = ("prompt", "response")
#: What the judge can be given besides the prompt and the policy's response.
ALLOWED_PLACEHOLDERS = ("prompt", "response", "reference", "reference_answer", "ground_truth", "system")
MAX_PROMPT_BYTES = 64 * 1024
#: What the RLAIF judge must reply, as the SageMaker AI agent plugin's dataset-evaluation guidance states it.
SCORE_CONTRACT = 'a JSON object with a numeric "score" between 0.0 and 1.0, e.g. {"score": 0.8}'
#: The id of the synth warning for a custom judge prompt that does not ask for that object.
SCORE_WARNING_ID = "sagemaker-finetuning:judgePromptScoreContract"
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_JSON_SCORE_KEY = re.compile(r'"score"')


def asks_for_json_score(text: str) -> bool:
    """A heuristic: does the judge prompt ask for a JSON object with a ``score`` key?

    True when the text, once its Jinja comments (``{# ... #}``) are removed, contains the word
    ``score`` in double quotes, the way a JSON key is written: ``{"score": 0.8}`` or
    ``a JSON object whose "score" is ...``. Case-sensitive (JSON keys are). It does not check the
    0.0-1.0 range, the word JSON, or what the judge really replies; ``SCORE: <n>``, ``score``
    without quotes and ``'score'`` do not count."""
    return bool(_JSON_SCORE_KEY.search(_JINJA_COMMENT.sub("", text)))


def check_prompt_template(text: str, *, required: Iterable[str] = REQUIRED_PLACEHOLDERS,
                          allowed: Iterable[str] = ALLOWED_PLACEHOLDERS, prop: str = "text", received: Any = None) -> set[str]:
    """Parse the Jinja template and check its placeholders; returns the placeholders used.

    A problem is an :class:`InvalidProp` naming ``prop`` and showing ``received`` (default: the text)."""
    shown = text if received is None else received
    if len(text.encode("utf-8")) > MAX_PROMPT_BYTES:
        raise props.InvalidProp(prop, shown, f"a judge prompt of at most {MAX_PROMPT_BYTES} bytes (it has {len(text.encode())})")
    try:
        ast = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise props.InvalidProp(prop, shown, f"a valid Jinja template (syntax error at line {exc.lineno}: {exc.message})") from None
    used = jinja2.meta.find_undeclared_variables(ast)
    missing = [p for p in required if p not in used]
    if missing:
        raise props.InvalidProp(prop, shown, f"a judge prompt that uses {', '.join('{{ ' + r + ' }}' for r in required)} "
                                f"(missing placeholder(s) {', '.join('{{ ' + m + ' }}' for m in missing)})")
    unknown = sorted(used - set(allowed))
    if unknown:
        raise props.InvalidProp(prop, shown, f"only the placeholders {', '.join(sorted(allowed))} "
                                f"(unknown placeholder(s) {', '.join(unknown)})")
    return used


class JudgePromptTemplate:
    """The text of a custom RLAIF judge prompt (Jinja), checked when it is created:
    ``JudgePromptTemplate.from_file("judge.jinja")`` or ``JudgePromptTemplate.from_text("...")``."""

    def __init__(self, text: str, source: str, *, prop: str = "text", received: Any = None) -> None:
        self.text, self.source = text, source
        self.placeholders = check_prompt_template(text, prop=prop, received=received)
        #: See :func:`asks_for_json_score`; :class:`JudgePrompt` warns at synth when False.
        self.asks_for_json_score = asks_for_json_score(text)

    @staticmethod
    def from_file(path: str) -> "JudgePromptTemplate":
        """A Jinja file (``{{ prompt }}`` and ``{{ response }}`` required)."""
        props.string("path", path)
        if not Path(path).is_file():
            raise props.InvalidProp("path", path, "an existing Jinja file")
        return JudgePromptTemplate(Path(path).read_text(encoding="utf-8"), repr(path), prop="path", received=path)

    @staticmethod
    def from_text(text: str) -> "JudgePromptTemplate":
        """The prompt itself."""
        props.string("text", text)
        return JudgePromptTemplate(text, "inline text")


class JudgePrompt(Construct):
    """Defines a custom RLAIF judge prompt: a Jinja template whose placeholders are checked at synth
    time, uploaded to the bucket (``<prompt_prefix><name>.jinja``) and registered as a SageMaker Hub
    ``RewardPrompt`` evaluator, exactly as SDK v3 ``Evaluator.create`` does.

    The judge must reply with a JSON object with a numeric ``score`` between 0.0 and 1.0: a prompt
    without a ``"score"`` JSON key (see :func:`asks_for_json_score`) gets a synth warning
    (``sagemaker-finetuning:judgePromptScoreContract``); it is not an error.

    :param bucket: the bucket the prompt is stored in (the training role must read ``prompt_prefix``).
    :param template: the prompt (``JudgePromptTemplate.from_file(path)`` or ``.from_text(text)``).
    :param prompt_prefix: Default: ``prompts/``.
    :param encryption_key: the bucket's KMS key, if any. Default: none.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    :param adopt_existing_evaluator: add versions to an evaluator of that name registered elsewhere
        (e.g. by SDK v3 ``Evaluator.create``) instead of failing the deployment; deletion still
        removes only the versions this resource imported. Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: s3.IBucket,
        template: JudgePromptTemplate,
        prompt_prefix: str = "prompts/",
        encryption_key: Optional[kms.IKey] = None,
        evaluator_name: Optional[str] = None,
        adopt_existing_evaluator: bool = False,
    ) -> None:
        super().__init__(scope, id)
        props.interface("bucket", bucket, "s3.IBucket")
        props.boolean("adopt_existing_evaluator", adopt_existing_evaluator)
        props.instance("template", template, JudgePromptTemplate, "JudgePromptTemplate.from_file(path) or JudgePromptTemplate.from_text(text)")
        props.prefix("prompt_prefix", prompt_prefix)
        props.interface("encryption_key", encryption_key, "kms.IKey", optional=True)
        self.placeholders = template.placeholders
        if not template.asks_for_json_score:
            Annotations.of(self).add_warning_v2(
                SCORE_WARNING_ID,
                f"the judge prompt ({template.source}) does not ask for {SCORE_CONTRACT}: its text has no \"score\" JSON key. "
                "The RLAIF judge's reply must be such an object; ask for it explicitly (see templates/prompts/judge_prompt.jinja).",
            )
        name = evaluator_name or default_evaluator_name(self, EvaluatorType.REWARD_PROMPT.name_prefix)
        validate_evaluator_name(name)
        self.prompt_key = f"{prompt_prefix}{name}.jinja"
        self.s3_uri = f"s3://{bucket.bucket_name}/{self.prompt_key}"
        self.evaluator = HubEvaluator(
            self, "Evaluator", evaluator_type=EvaluatorType.REWARD_PROMPT, reference=self.s3_uri, evaluator_name=name,
            description="RLAIF judge prompt", adopt_existing=adopt_existing_evaluator,
            prompt_text=template.text, prompt_bucket=bucket.bucket_name, prompt_key=self.prompt_key,
        )
        provider = HubEvaluator.provider(Stack.of(self))
        bucket.grant_put(provider, self.prompt_key)
        bucket.grant_delete(provider, self.prompt_key)
        if encryption_key is not None:
            encryption_key.grant_encrypt_decrypt(provider)
        suppress(provider, [Suppression(
            "AwsSolutions-IAM5", "Writing one prompt object: CDK's grant_put/grant_delete use object-action wildcards on that key.",
            ["Action::s3:Abort*", "Action::s3:DeleteObject*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*"],
        )])
        self.evaluator_arn: str = self.evaluator.evaluator_arn


class JudgePromptSource:
    """The pattern's default RLAIF judge prompt: ``JudgePromptSource.builtin(BuiltinJudgePrompt.SUMMARIZE)``,
    ``.from_file(path)`` / ``.from_text(text)`` (a :class:`JudgePrompt` is defined), or
    ``.from_evaluator_arn(arn)`` (a RewardPrompt evaluator registered elsewhere)."""

    def __init__(self, *, value: Optional[str], template: Optional[JudgePromptTemplate]) -> None:
        self._value, self._template = value, template

    @staticmethod
    def builtin(prompt: BuiltinJudgePrompt) -> "JudgePromptSource":
        props.instance("prompt", prompt, BuiltinJudgePrompt, "a BuiltinJudgePrompt (e.g. BuiltinJudgePrompt.SUMMARIZE)")
        return JudgePromptSource(value=prompt.reward_prompt, template=None)

    @staticmethod
    def from_file(path: str) -> "JudgePromptSource":
        return JudgePromptSource(value=None, template=JudgePromptTemplate.from_file(path))

    @staticmethod
    def from_text(text: str) -> "JudgePromptSource":
        return JudgePromptSource(value=None, template=JudgePromptTemplate.from_text(text))

    @staticmethod
    def from_evaluator_arn(evaluator_arn: str) -> "JudgePromptSource":
        props.string("evaluator_arn", evaluator_arn, pattern=evaluators.EVALUATOR_ARN_PATTERN,
                     expected="a RewardPrompt evaluator ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/JsonDoc/<name>/<version>")
        return JudgePromptSource(value=evaluator_arn, template=None)

    def bind(self, scope: Construct, id: str, locations: DataLocations) -> tuple[str, Optional[JudgePrompt]]:
        """The ``reward_prompt`` value executions default to, and the JudgePrompt defined for it (if any)."""
        if self._template is None:
            assert self._value is not None
            return self._value, None
        prompt = JudgePrompt(scope, id, bucket=locations.bucket, template=self._template,
                             prompt_prefix=locations.prompt_prefix, encryption_key=locations.encryption_key)
        return prompt.evaluator_arn, prompt
