"""JudgePrompt: a custom RLAIF judge prompt (Jinja), checked at synth, uploaded and registered."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import jinja2
import jinja2.meta
from aws_cdk import Stack
from constructs import Construct

from sagemaker_finetuning.support.nag import Suppression, suppress
from sagemaker_finetuning.storage.bucket import FineTuningBucket
from sagemaker_finetuning.registry.hub_evaluator import REWARD_PROMPT, HubEvaluator, default_evaluator_name, validate_evaluator_name

REQUIRED_PLACEHOLDERS = ("prompt", "response")
#: What the judge can be given besides the prompt and the policy's response.
ALLOWED_PLACEHOLDERS = ("prompt", "response", "reference", "reference_answer", "ground_truth", "system")
MAX_PROMPT_BYTES = 64 * 1024


def check_prompt_template(text: str, *, required: Iterable[str] = REQUIRED_PLACEHOLDERS,
                          allowed: Iterable[str] = ALLOWED_PLACEHOLDERS, source: str = "prompt") -> set[str]:
    """Parse the Jinja template and check its placeholders; returns the placeholders used."""
    try:
        ast = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"prompt_file: received {source} with a Jinja syntax error at line {exc.lineno} ({exc.message}); "
                         "expected a valid Jinja template") from exc
    used = jinja2.meta.find_undeclared_variables(ast)
    missing = [p for p in required if p not in used]
    if missing:
        raise ValueError(
            f"prompt_file: received {source} without placeholder(s) {', '.join('{{ ' + m + ' }}' for m in missing)}; "
            f"expected a judge prompt that uses {', '.join('{{ ' + r + ' }}' for r in required)}"
        )
    unknown = sorted(used - set(allowed))
    if unknown:
        raise ValueError(
            f"prompt_file: received {source} with unknown placeholder(s) {', '.join(unknown)}; "
            f"expected only {', '.join(sorted(allowed))}"
        )
    return used


class JudgePrompt(Construct):
    """Defines a custom RLAIF judge prompt: a Jinja file whose placeholders are checked at synth
    time, uploaded to the fine-tuning bucket (``prompts/<name>.jinja``) and registered as a
    SageMaker Hub ``RewardPrompt`` evaluator, exactly as SDK v3 ``Evaluator.create`` does.

    :param bucket: the fine-tuning bucket the prompt is stored in.
    :param prompt_file: path to the Jinja prompt (``{{ prompt }}`` and ``{{ response }}`` required).
    :param prompt_text: the prompt itself, instead of ``prompt_file``.
    :param evaluator_name: 1-20 characters. Default: derived from the construct path.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        bucket: FineTuningBucket,
        prompt_file: Optional[str] = None,
        prompt_text: Optional[str] = None,
        evaluator_name: Optional[str] = None,
    ) -> None:
        super().__init__(scope, id)
        if (prompt_file is None) == (prompt_text is None):
            raise ValueError("prompt_file: received " + ("both prompt_file and prompt_text" if prompt_file else "neither prompt_file nor prompt_text")
                             + "; expected exactly one of them")
        source = "inline text"
        if prompt_file is not None:
            path = Path(prompt_file)
            if not path.is_file():
                raise ValueError(f"prompt_file: received {prompt_file!r}; expected an existing Jinja file")
            prompt_text, source = path.read_text(encoding="utf-8"), repr(prompt_file)
        assert prompt_text is not None
        if len(prompt_text.encode("utf-8")) > MAX_PROMPT_BYTES:
            raise ValueError(f"prompt_file: received {source} of {len(prompt_text.encode())} bytes; expected at most {MAX_PROMPT_BYTES}")
        self.placeholders = check_prompt_template(prompt_text, source=source)
        name = evaluator_name or default_evaluator_name(self, "rp")
        validate_evaluator_name(name)
        self.prompt_key = f"{bucket.prompt_prefix}{name}.jinja"
        self.s3_uri = bucket.s3_uri(self.prompt_key)
        self.evaluator = HubEvaluator(
            self, "Evaluator", evaluator_type=REWARD_PROMPT, reference=self.s3_uri, evaluator_name=name,
            description="RLAIF judge prompt",
            prompt_text=prompt_text, prompt_bucket=bucket.bucket_name, prompt_key=self.prompt_key,
        )
        provider = HubEvaluator.provider(Stack.of(self))
        bucket.bucket.grant_put(provider, self.prompt_key)
        bucket.bucket.grant_delete(provider, self.prompt_key)
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant_encrypt_decrypt(provider)
        suppress(provider, [Suppression(
            "AwsSolutions-IAM5", "Writing one prompt object: CDK's grant_put/grant_delete use object-action wildcards on that key.",
            ["Action::s3:Abort*", "Action::s3:DeleteObject*", "Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*"],
        )])
        self.evaluator_arn: str = self.evaluator.evaluator_arn
