"""Serverless evaluation: the facts, the checks of an input's ``evaluation`` block, and the gate.

Facts come from SageMaker Python SDK v3 (sagemaker-train 1.27.0, ``sagemaker/train/evaluate``):
the benchmarks and their metrics (``benchmark_evaluator._BENCHMARK_CONFIG``), the built-in custom
scorers (``custom_scorer_evaluator._BuiltInMetric``) and the Nova rules of both; and from the Amazon
Bedrock user guide (LLM-as-a-judge built-in metrics). Everything here is pure: no AWS call.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Mapping

from sagemaker_finetuning.core.constants import is_nova_model
from sagemaker_finetuning.core.errors import FineTuningInputError, InvalidInput

TYPES = ("benchmark", "custom_scorer", "llm_as_judge")
#: ServerlessJobConfig.EvaluationType of each type's (final) job.
EVALUATION_TYPES = {"benchmark": "BenchmarkEvaluation", "custom_scorer": "CustomScorerEvaluation", "llm_as_judge": "LLMAJEvaluation"}


@dataclass(frozen=True)
class Benchmark:
    metrics: tuple[str, ...]
    strategy: str
    #: None: any model; True: Nova models only; False: open-weight models only.
    nova: bool | None = None


#: sagemaker-train 1.27.0 benchmark_evaluator._BENCHMARK_CONFIG (metrics, strategy) and
#: _validate_benchmark_model_compatibility (mmmu: Nova only; llm_judge: not Nova).
BENCHMARKS: dict[str, Benchmark] = {
    "mmlu": Benchmark(("accuracy",), "zs_cot"),
    "mmlu_pro": Benchmark(("accuracy",), "zs_cot"),
    "bbh": Benchmark(("accuracy",), "fs_cot"),
    "gpqa": Benchmark(("accuracy",), "zs_cot"),
    "math": Benchmark(("exact_match",), "zs_cot"),
    "strong_reject": Benchmark(("deflection",), "zs"),
    "ifeval": Benchmark(("accuracy",), "zs"),
    "mmmu": Benchmark(("accuracy",), "zs_cot", nova=True),
    "llm_judge": Benchmark(("all",), "judge", nova=False),
}
#: custom_scorer_evaluator._BuiltInMetric: sent as the preset_reward_function hyperparameter.
BUILTIN_SCORERS = ("prime_math", "prime_code")
#: Amazon Bedrock built-in LLM-as-a-judge metrics (Builtin.<Name>), from
#: https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-metrics.html
JUDGE_METRICS = (
    "Correctness", "Completeness", "Faithfulness", "Helpfulness", "Coherence", "Relevance",
    "FollowingInstructions", "ProfessionalStyleAndTone", "Harmfulness", "Stereotyping", "Refusal",
)
DEFAULT_JUDGE_METRICS = ("Correctness", "Helpfulness")
#: Bedrock evaluator models for built-in metrics: what SDK v3 accepts as an LLM-as-judge evaluator_model
#: (it checks a service-maintained list, jumpstart-cache-prod-<region>/fmhMetadata/supported-llmaj-judge-models.json,
#: which is not public; this is the page its messages cite:
#: https://docs.aws.amazon.com/bedrock/latest/userguide/evaluation-judge.html#evaluation-judge-supported).
#: Not the RLAIF judges (sagemaker.train.constants._ALLOWED_REWARD_MODEL_IDS): SDK v3 refuses openai.gpt-oss-120b-1:0 here.
LLMAJ_JUDGES = (
    "amazon.nova-pro-v1:0", "amazon.nova-2-lite-v1:0", "amazon.nova-micro-v1:0", "amazon.nova-premier-v1:0",
    "anthropic.claude-3-5-sonnet-20240620-v1:0", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0",
    "anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-opus-4-5-20251101-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "meta.llama3-1-70b-instruct-v1:0", "mistral.mistral-large-2402-v1:0",
)


def judge_metric_name(metric: str) -> str:
    """``Builtin.Correctness`` / ``correctness`` -> ``Correctness`` (SDK v3 drops the prefix, any case)."""
    bare = metric[8:] if metric.lower().startswith("builtin.") else metric
    return next((m for m in JUDGE_METRICS if m.lower() == bare.lower()), bare)


def produced_metrics(evaluation: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The metric names an evaluation reports, or None when its evaluator decides (custom scorers)."""
    kind = evaluation.get("type")
    if kind == "benchmark":
        bench = BENCHMARKS.get(str(evaluation.get("benchmark")))
        return bench.metrics if bench else ()
    if kind == "llm_as_judge":
        return tuple(judge_metric_name(m) for m in evaluation.get("metrics") or DEFAULT_JUDGE_METRICS)
    return None


def _did_you_mean(value: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    return f" (did you mean {next(k for k in known if k.lower() == close[0])!r}?)" if close else ""


def check_block(evaluation: Mapping[str, Any], model_id: str | None) -> list[FineTuningInputError]:
    """What the block asks that no evaluation type offers (the stack-level checks are the caller's)."""
    kind = evaluation["type"]
    wanted = {"benchmark": ("benchmark",), "custom_scorer": ("dataset",), "llm_as_judge": ("dataset",)}[kind]
    found: list[FineTuningInputError] = [
        InvalidInput(f"evaluation.{key}", None, f"a value: a {kind} evaluation needs one") for key in wanted if not evaluation.get(key)
    ]
    unused = {"benchmark": ("dataset", "evaluator", "judge_model_id", "metrics"), "custom_scorer": ("benchmark", "judge_model_id", "metrics"),
              "llm_as_judge": ("benchmark", "evaluator")}[kind]
    found += [InvalidInput(f"evaluation.{key}", evaluation[key], f"no value: a {kind} evaluation does not use it") for key in unused if key in evaluation]
    if kind == "benchmark" and evaluation.get("benchmark"):
        found += _benchmark_problems(str(evaluation["benchmark"]), model_id)
    if kind == "llm_as_judge":
        found += _judge_metric_problems(evaluation.get("metrics") or ())
        if model_id and is_nova_model(model_id):
            found.append(InvalidInput("evaluation.type", kind, "benchmark or custom_scorer for a Nova model (SDK v3 runs LLM-as-judge for "
                                      "Nova through InspectAI on Bedrock, which this workflow does not)"))
    found += _gate_problems(evaluation)
    return found


def _benchmark_problems(name: str, model_id: str | None) -> list[FineTuningInputError]:
    bench = BENCHMARKS.get(name)
    if bench is None:
        return [InvalidInput("evaluation.benchmark", name, f"one of {', '.join(BENCHMARKS)}{_did_you_mean(name, tuple(BENCHMARKS))}")]
    if model_id and bench.nova is not None and bench.nova != is_nova_model(model_id):
        side = "Nova" if bench.nova else "open-weight (non-Nova)"
        return [InvalidInput("evaluation.benchmark", name, f"a benchmark offered for {model_id}: {name} is for {side} models only")]
    return []


def _judge_metric_problems(metrics: Any) -> list[FineTuningInputError]:
    found: list[FineTuningInputError] = []
    for i, metric in enumerate(metrics):
        if judge_metric_name(metric) not in JUDGE_METRICS:
            found.append(InvalidInput(f"evaluation.metrics[{i}]", metric, "a Bedrock built-in judge metric: "
                                      f"{', '.join(JUDGE_METRICS)}{_did_you_mean(metric.removeprefix('Builtin.'), JUDGE_METRICS)}"))
    if len({judge_metric_name(m) for m in metrics}) != len(metrics):
        found.append(InvalidInput("evaluation.metrics", list(metrics), "each metric once"))
    return found


def _gate_problems(evaluation: Mapping[str, Any]) -> list[FineTuningInputError]:
    gate = evaluation.get("gate")
    if not gate:
        return []
    found: list[FineTuningInputError] = []
    produced = produced_metrics(evaluation)
    if produced is not None and gate["metric"] not in produced:
        found.append(InvalidInput("evaluation.gate.metric", gate["metric"],
                                  f"a metric this evaluation reports: {', '.join(produced) or 'none'}{_did_you_mean(gate['metric'], produced)}"))
    if "min" not in gate and "min_improvement_over_base" not in gate:
        found.append(InvalidInput("evaluation.gate", dict(gate), "a threshold: min, min_improvement_over_base or both"))
    if "min_improvement_over_base" in gate and not evaluation.get("compare_to_base"):
        found.append(InvalidInput("evaluation.gate.min_improvement_over_base", gate["min_improvement_over_base"],
                                  "no value unless compare_to_base is true (the base model must be evaluated too)"))
    return found


# ----------------------------------------------------------------------------- the gate
@dataclass(frozen=True)
class GateVerdict:
    passed: bool
    #: For the model package's ApprovalDescription and the execution's error: metric, value, threshold.
    description: str


def judge_gate(gate: Mapping[str, Any] | None, fine_tuned: Mapping[str, float], base: Mapping[str, float] | None) -> GateVerdict | None:
    """The gate's verdict on the metrics (None: no gate, the package stays PendingManualApproval).
    A metric the evaluation did not report fails the gate, naming the metrics it did report."""
    if not gate:
        return None
    metric = gate["metric"]
    value = fine_tuned.get(metric)
    if value is None or not math.isfinite(value):
        return GateVerdict(False, f"{metric} was not reported (reported: {', '.join(sorted(fine_tuned)) or 'none'})")
    reasons, checks = [], []
    if "min" in gate:
        checks.append(f"{metric} {value:.4g} >= {gate['min']:g}")
        if value < gate["min"]:
            reasons.append(f"{metric} {value:.4g} is below the minimum {gate['min']:g}")
    if "min_improvement_over_base" in gate:
        base_value = (base or {}).get(metric)
        if base_value is None:
            reasons.append(f"the base model's {metric} was not reported")
        else:
            delta = value - base_value
            checks.append(f"{metric} +{delta:.4g} over base {base_value:.4g} >= +{gate['min_improvement_over_base']:g}")
            if delta < gate["min_improvement_over_base"]:
                reasons.append(f"{metric} {value:.4g} improves on the base model's {base_value:.4g} by {delta:+.4g}, "
                               f"less than the required {gate['min_improvement_over_base']:+g}")
    if reasons:
        return GateVerdict(False, "Evaluation gate failed: " + "; ".join(reasons))
    return GateVerdict(True, "Evaluation gate passed: " + "; ".join(checks))


# ----------------------------------------------------------------------------- results
def metrics_from_results(document: Mapping[str, Any]) -> dict[str, float]:
    """A ``results_*.json`` document's metrics, read as SDK v3 reads them (show_results_utils
    ``_extract_metrics_from_results``): ``results.all``, else the first non-empty nested dict
    (``custom|gen_qa_gen_qa|0``); only the numbers (stderr entries included, as reported)."""
    results = document.get("results") if isinstance(document, Mapping) else None
    if not isinstance(results, Mapping):
        return {}
    chosen = results.get("all") if isinstance(results.get("all"), Mapping) and results.get("all") else None
    if chosen is None:
        chosen = next((v for v in results.values() if isinstance(v, Mapping) and v), {})
    return {str(k): float(v) for k, v in chosen.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def metrics_from_judge(document: Mapping[str, Any]) -> dict[str, float]:
    """``bedrock_llm_judge_results.json``: ``results.<metric>.score`` per metric (show_results_utils)."""
    results = document.get("results") if isinstance(document, Mapping) else None
    if not isinstance(results, Mapping):
        return {}
    out = {}
    for name, entry in results.items():
        score = entry.get("score") if isinstance(entry, Mapping) else None
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            out[judge_metric_name(str(name))] = float(score)
    return out


def compare(fine_tuned: Mapping[str, float] | None, base: Mapping[str, float] | None) -> dict[str, float]:
    """Fine-tuned minus base, for the metrics both report."""
    if not fine_tuned or not base:
        return {}
    return {k: round(fine_tuned[k] - base[k], 10) for k in sorted(fine_tuned) if k in base}


def package_metadata(evaluation_type: str, fine_tuned: Mapping[str, float], base: Mapping[str, float] | None,
                     verdict: GateVerdict | None) -> dict[str, str]:
    """CustomerMetadataProperties for the model package (at most 50 entries of 256-character values)."""
    meta = {"evaluation:type": evaluation_type}
    meta.update({f"evaluation:{k}": f"{v:.6g}" for k, v in sorted(fine_tuned.items())[:20]})
    meta.update({f"evaluation:base:{k}": f"{v:.6g}" for k, v in sorted((base or {}).items())[:20]})
    if verdict is not None:
        meta["evaluation:gate"] = ("passed" if verdict.passed else "failed")
    return {k[:128]: v[:256] for k, v in meta.items()}
