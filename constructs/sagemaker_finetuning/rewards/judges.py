"""RLAIF judges: the Bedrock judge models SDK v3 allows (with their regions) and the built-in prompts."""

from __future__ import annotations

from typing import Tuple

from aws_cdk import Token

from sagemaker_finetuning.core.constants import BUILTIN_JUDGE_PROMPTS, JUDGE_MODEL_REGIONS
from sagemaker_finetuning.core.evaluation import LLMAJ_JUDGES
from sagemaker_finetuning.support.props import InvalidProp


class JudgeModel:
    """An Amazon Bedrock model offered as RLAIF judge (``sagemaker.train.constants._ALLOWED_REWARD_MODEL_IDS``)."""

    def __init__(self, model_id: str) -> None:
        if not isinstance(model_id, str) or model_id not in JUDGE_MODEL_REGIONS:
            raise InvalidProp("model_id", model_id, f"one of {', '.join(JUDGE_MODEL_REGIONS)}")
        self.model_id = model_id

    @property
    def regions(self) -> Tuple[str, ...]:
        """The regions that offer this judge."""
        return JUDGE_MODEL_REGIONS[self.model_id]

    def is_offered_in(self, region: str) -> bool:
        return region in self.regions

    @staticmethod
    def offered_in(region: str) -> list["JudgeModel"]:
        return [JudgeModel(m) for m, regions in JUDGE_MODEL_REGIONS.items() if region in regions]

    def require_offered_in(self, prop: str, region: str) -> "JudgeModel":
        """This judge, or an :class:`InvalidProp` naming ``prop`` when ``region`` (unless a token) does not offer it."""
        if not Token.is_unresolved(region) and not self.is_offered_in(region):
            offered = [j.model_id for j in JudgeModel.offered_in(region)]
            raise InvalidProp(prop, self, f"a judge offered in {region} ({', '.join(offered) or 'none: use another region'})")
        return self

    def __repr__(self) -> str:
        return f"JudgeModel({self.model_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JudgeModel) and other.model_id == self.model_id

    def __hash__(self) -> int:
        return hash(self.model_id)


JudgeModel.GPT_OSS_120B = JudgeModel("openai.gpt-oss-120b-1:0")  # type: ignore[attr-defined]
JudgeModel.GPT_OSS_20B = JudgeModel("openai.gpt-oss-20b-1:0")  # type: ignore[attr-defined]
JudgeModel.QWEN3_32B = JudgeModel("qwen.qwen3-32b-v1:0")  # type: ignore[attr-defined]
JudgeModel.QWEN3_CODER_30B_A3B = JudgeModel("qwen.qwen3-coder-30b-a3b-v1:0")  # type: ignore[attr-defined]
JudgeModel.QWEN3_CODER_480B_A35B = JudgeModel("qwen.qwen3-coder-480b-a35b-v1:0")  # type: ignore[attr-defined]
JudgeModel.QWEN3_235B_A22B_2507 = JudgeModel("qwen.qwen3-235b-a22b-2507-v1:0")  # type: ignore[attr-defined]


class EvaluationJudgeModel:
    """An Amazon Bedrock evaluator model for LLM-as-judge evaluations (built-in metrics): what SDK v3 accepts
    as ``evaluator_model`` (``core.evaluation.LLMAJ_JUDGES``). Not an RLAIF :class:`JudgeModel`."""

    def __init__(self, model_id: str) -> None:
        if not isinstance(model_id, str) or model_id not in LLMAJ_JUDGES:
            raise InvalidProp("model_id", model_id, f"one of {', '.join(LLMAJ_JUDGES)}")
        self.model_id = model_id

    def __repr__(self) -> str:
        return f"EvaluationJudgeModel({self.model_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EvaluationJudgeModel) and other.model_id == self.model_id

    def __hash__(self) -> int:
        return hash(self.model_id)


EvaluationJudgeModel.CLAUDE_HAIKU_4_5 = EvaluationJudgeModel("anthropic.claude-haiku-4-5-20251001-v1:0")  # type: ignore[attr-defined]
EvaluationJudgeModel.CLAUDE_SONNET_4_5 = EvaluationJudgeModel("anthropic.claude-sonnet-4-5-20250929-v1:0")  # type: ignore[attr-defined]
EvaluationJudgeModel.NOVA_PRO = EvaluationJudgeModel("amazon.nova-pro-v1:0")  # type: ignore[attr-defined]
EvaluationJudgeModel.NOVA_2_LITE = EvaluationJudgeModel("amazon.nova-2-lite-v1:0")  # type: ignore[attr-defined]
EvaluationJudgeModel.NOVA_PREMIER = EvaluationJudgeModel("amazon.nova-premier-v1:0")  # type: ignore[attr-defined]


class BuiltinJudgePrompt:
    """A built-in RLAIF judge prompt (``reward_prompt="Builtin.<Name>"``); no evaluator is needed."""

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or name not in BUILTIN_JUDGE_PROMPTS:
            raise InvalidProp("name", name, f"one of {', '.join(BUILTIN_JUDGE_PROMPTS)}")
        self.name = name

    @property
    def reward_prompt(self) -> str:
        """The value executions (and SDK v3's RLAIFTrainer) take as ``reward_prompt``."""
        return f"Builtin.{self.name}"

    def __repr__(self) -> str:
        return f"BuiltinJudgePrompt({self.name!r})"


BuiltinJudgePrompt.SUMMARIZE = BuiltinJudgePrompt("Summarize")  # type: ignore[attr-defined]
BuiltinJudgePrompt.FAITHFULNESS = BuiltinJudgePrompt("Faithfulness")  # type: ignore[attr-defined]
#: Chain-of-thought grading (``cot.jinja``; the agent plugin calls it ChainOfThought).
BuiltinJudgePrompt.COT = BuiltinJudgePrompt("Cot")  # type: ignore[attr-defined]
#: General evaluation (``evaluate.jinja``; the agent plugin calls it Evaluation).
BuiltinJudgePrompt.EVALUATE = BuiltinJudgePrompt("Evaluate")  # type: ignore[attr-defined]
#: PandaLM grader (``grader.jinja``): offered by the Nemotron recipes only.
BuiltinJudgePrompt.GRADER = BuiltinJudgePrompt("Grader")  # type: ignore[attr-defined]
