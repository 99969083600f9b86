"""Sweeps, the pure side: configurations, the checks ValidateInput makes, each trial's input, the verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_finetuning.core import sweep_plan as SW
from sagemaker_finetuning.core.errors import FineTuningInputError, HyperparameterOutOfRange, SweepObjectiveUnavailable, SweepTooLarge
from sagemaker_finetuning.core.settings import StackSettings
from sagemaker_finetuning.core.validation import validate_input

SETTINGS = StackSettings(region="us-east-1", account="123456789012", partition="aws", role_arn="arn:aws:iam::123456789012:role/ft",
                         bucket="ft-bucket", model_package_group_name="grp", base_model="huggingface-reasoning-qwen3-06b")
MLFLOW = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1"
MMLU = {"type": "benchmark", "benchmark": "mmlu"}


def _input(sweep: dict, **extra) -> dict:
    return {"technique": "SFT", "training_dataset": "s3://ft-bucket/datasets/train.jsonl", "evaluation": MMLU,
            "sweep": {"objective": {"metric": "accuracy"}, **sweep}, **extra}


def _problems(inp: dict, settings: StackSettings = SETTINGS) -> list[FineTuningInputError]:
    with pytest.raises(FineTuningInputError) as caught:
        validate_input(inp, settings)
    return caught.value.problems


def test_a_grid_is_every_combination_the_first_name_varying_slowest():
    sweep = {"hyperparameters": {"learning_rate": [1e-5, 5e-5], "lora_rank": [8, 16, 32]}}
    configs = SW.configurations(sweep)
    assert SW.configuration_count(sweep) == len(configs) == 6
    assert configs[:3] == [{"learning_rate": 1e-5, "lora_rank": r} for r in (8, 16, 32)]
    assert configs[3] == {"learning_rate": 5e-5, "lora_rank": 8}


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), st.lists(st.integers(), min_size=1, max_size=4, unique=True),
                       min_size=1, max_size=4))
def test_a_grid_has_the_product_of_its_lists_and_no_configuration_twice(grid):
    configs = SW.configurations({"hyperparameters": grid})
    assert len(configs) == SW.configuration_count({"hyperparameters": grid})
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == len(configs)


def test_validate_fills_the_defaults_and_accepts_a_list_of_configurations():
    inp = validate_input(_input({"configurations": [{"learning_rate": 1e-5}, {"learning_rate": 5e-5, "lora_rank": 8}]}), SETTINGS)
    assert inp["sweep"]["max_concurrency"] == SW.DEFAULT_MAX_CONCURRENCY == 4
    assert inp["sweep"]["tolerated_failure_percentage"] == 50 and inp["sweep"]["objective"] == {"metric": "accuracy", "goal": "maximize"}


def test_a_grid_above_the_stack_cap_is_refused_by_name_without_building_it():
    grid = {f"h{i}": list(range(100)) for i in range(10)}  # 100^10 configurations: counted, never built
    [problem] = _problems(_input({"hyperparameters": grid}))
    assert isinstance(problem, SweepTooLarge) and "100000000000000000000 configurations" in str(problem)
    assert "at most 50 configurations (the stack's max_sweep_configurations)" in str(problem)
    small = StackSettings(**{**SETTINGS.__dict__, "max_sweep_configurations": 3})
    [problem] = _problems(_input({"hyperparameters": {"learning_rate": [1e-5, 5e-5], "lora_rank": [8, 16]}}), small)
    assert isinstance(problem, SweepTooLarge) and "at most 3" in str(problem)


@pytest.mark.parametrize("sweep, field, says", [
    ({}, "sweep", "exactly one of hyperparameters"),
    ({"hyperparameters": {"learning_rate": [1e-5]}, "configurations": [{"learning_rate": 1e-5}]}, "sweep", "exactly one of"),
    ({"hyperparameters": {}}, "sweep.hyperparameters", "at least one hyperparameter"),
    ({"configurations": [{"learning_rate": 1e-5}, {"learning_rate": 1e-5}]}, "sweep.configurations[1]", "different from configuration 0"),
    ({"hyperparameters": {"learning_rate": [1e-5, 1e-5]}}, "sweep.hyperparameters", "different from configuration 0"),
])
def test_shapes_a_schema_cannot_express_are_refused_by_name(sweep, field, says):
    problems = _problems(_input(sweep))
    assert any(p.field == field and says in str(p) for p in problems), [str(p) for p in problems]


def test_schema_errors_name_the_field():
    problems = _problems(_input({"hyperparameters": {"learning_rate": 1e-5}}))
    assert problems[0].field == "sweep.hyperparameters.learning_rate" and problems[0].expected == "array"
    problems = _problems(_input({"hyperparameters": {"learning_rate": [1e-5]}, "max_concurrency": 0}))
    assert problems[0].field == "sweep.max_concurrency"
    problems = _problems(_input({"hyperparameters": {"learning_rate": [1e-5]}}, ) | {"sweep": {"hyperparameters": {"lr": [1]}}})
    assert problems[0].field == "sweep.objective"


def test_a_sweep_without_evaluation_needs_mlflow_for_its_objective():
    inp = _input({"hyperparameters": {"learning_rate": [1e-5, 5e-5]}})
    del inp["evaluation"]
    [problem] = _problems(inp)
    assert isinstance(problem, SweepObjectiveUnavailable) and problem.field == "sweep.objective"
    assert "Add an evaluation block, or set the construct's mlflow_resource_arn" in str(problem)
    with_mlflow = StackSettings(**{**SETTINGS.__dict__, "mlflow_resource_arn": MLFLOW})
    ok = validate_input(inp, with_mlflow)
    assert SW.objective_source(ok) == "mlflow"


def test_the_objective_must_be_a_metric_the_evaluation_reports():
    problems = _problems(_input({"hyperparameters": {"learning_rate": [1e-5]}, "objective": {"metric": "exact_match"}}))
    assert problems[0].field == "sweep.objective.metric" and "a metric this evaluation reports: accuracy" in str(problems[0])


def test_a_sweep_refuses_a_fixed_job_name_and_mode_evaluate():
    problems = _problems(_input({"hyperparameters": {"learning_rate": [1e-5]}}, training_job_name="my-job"))
    assert any(p.field == "training_job_name" and "each configuration's job gets its own name" in str(p) for p in problems)
    evaluate = {"mode": "evaluate", "model": "huggingface-reasoning-qwen3-06b", "evaluation": MMLU,
                "sweep": {"hyperparameters": {"learning_rate": [1e-5]}, "objective": {"metric": "accuracy"}}}
    assert any(p.field == "sweep" and "mode evaluate trains nothing" in str(p) for p in _problems(evaluate))


def test_a_trial_is_the_input_with_its_configuration_no_sweep_no_budget_no_gate_no_second_validation():
    inp = validate_input(_input({"hyperparameters": {"lora_rank": [8, 16]}}, hyperparameters={"lora_rank": 32, "max_epochs": 2},
                                budget={"max_tokens": 10**9}) | {"evaluation": {**MMLU, "gate": {"metric": "accuracy", "min": 0.5}}}, SETTINGS)
    trial = SW.trial_input(inp, {"lora_rank": 8})
    assert trial["hyperparameters"] == {"lora_rank": 8, "max_epochs": 2}
    assert "sweep" not in trial and "budget" not in trial and "gate" not in trial["evaluation"] and trial["validate_dataset"] == "off"
    assert inp["evaluation"]["gate"] == {"metric": "accuracy", "min": 0.5} and inp["hyperparameters"]["lora_rank"] == 32  # untouched
    validate_input(trial, SETTINGS)  # a trial is a valid single run


def test_each_trial_gets_its_own_mlflow_run_name_within_the_limit():
    mlflow = StackSettings(**{**SETTINGS.__dict__, "mlflow_resource_arn": MLFLOW})
    inp = validate_input(_input({"hyperparameters": {"lora_rank": [8, 16]}}, mlflow_run_name="lr-sweep"), mlflow)
    assert [SW.trial_input(inp, {"lora_rank": r}, i)["mlflow_run_name"] for i, r in enumerate((8, 16))] == ["lr-sweep-c0", "lr-sweep-c1"]
    long = validate_input(_input({"hyperparameters": {"lora_rank": [8]}}, mlflow_run_name="r" * 256), mlflow)
    name = SW.trial_input(long, {"lora_rank": 8}, 999)["mlflow_run_name"]
    assert len(name) == 256 and name.endswith("-c999")
    assert "mlflow_run_name" not in SW.trial_input(validate_input(_input({"hyperparameters": {"lora_rank": [8]}}), mlflow), {}, 3)


def test_an_error_of_a_configuration_keeps_its_name_and_says_which():
    error = SW.with_configuration(HyperparameterOutOfRange("hyperparameters.learning_rate", 0.5, "a number between 5e-07 and 0.0001"),
                                  1, {"learning_rate": 0.5})
    assert isinstance(error, HyperparameterOutOfRange)
    assert str(error).startswith('sweep configuration 1 {"learning_rate": 0.5}: hyperparameters.learning_rate: received 0.5')


def _trial(index: int, accuracy: float | None, failed: bool = False) -> SW.Trial:
    if failed:
        return SW.Trial(index, {"lr": index}, None, {"Error": "TrainingJobFailed", "Cause": "AlgorithmError: boom"})
    evaluation = {"model": {} if accuracy is None else {"accuracy": accuracy}}
    return SW.Trial(index, {"lr": index}, {"training_job_name": f"job-{index}", "evaluation": evaluation, "billable_token_count": 10}, None)


def test_the_best_is_by_goal_and_ties_go_to_the_first():
    objectives = {0: 0.5, 1: 0.9, 2: None, 3: 0.9, 4: 0.1}
    assert SW.best_index(objectives, "maximize") == 1 and SW.best_index(objectives, "minimize") == 4
    assert SW.best_index({0: None}, "maximize") is None


@pytest.mark.parametrize("failed, total, tolerated, fails", [(0, 4, 0, False), (1, 4, 0, True), (1, 4, 25, False), (2, 4, 25, True),
                                                             (4, 4, 100, False), (1, 3, 33.3, True), (1, 3, 33.34, False)])
def test_tolerated_failures_follow_step_functions_rule(failed, total, tolerated, fails):
    assert SW.too_many_failed(failed, total, tolerated) is fails


def test_a_row_reports_job_status_objective_tokens_and_the_error_message():
    ok = SW.row(_trial(0, 0.8), 0.8)
    assert ok["status"] == "Completed" and ok["training_job_name"] == "job-0" and ok["billable_token_count"] == 10 and ok["error"] is None
    bad = SW.row(SW.Trial(1, {}, None, {"Error": "InvalidInput", "Cause": json.dumps({"errorMessage": "hyperparameters.x: received 1"}),
                                        "training_job_name": "job-1"}), None)
    assert (bad["status"], bad["error"], bad["cause"], bad["training_job_name"]) == ("Failed", "InvalidInput", "hyperparameters.x: received 1", "job-1")
    assert SW.evaluation_objective(_trial(0, float("nan")).output, "accuracy") is None
    assert SW.evaluation_objective(_trial(0, 0.7).output, "accuracy") == 0.7 and SW.total_tokens([None, 3, 4]) == 7
