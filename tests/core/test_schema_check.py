"""``schema_check`` (the stdlib interpreter the Lambda uses) agrees with ``jsonschema`` on the input schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagemaker_finetuning.core.errors import InvalidInput
from sagemaker_finetuning.core.schema_check import iter_errors, load_schema, validate_execution_input

SCHEMA = load_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PROPS = SCHEMA["properties"]
ACCT = "123456789012"


def agree(value: Any) -> list[InvalidInput]:
    ours = list(iter_errors(value, SCHEMA))
    theirs = list(VALIDATOR.iter_errors(value))
    assert bool(ours) == bool(theirs), (
        f"schema_check says {'invalid' if ours else 'valid'} ({[str(e) for e in ours]}), "
        f"jsonschema says {'invalid' if theirs else 'valid'} ({[e.message for e in theirs]}) for {value!r}"
    )
    return ours


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# ----------------------------------------------------------------------------- hypothesis
json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3), max_leaves=6)

s3_uri = st.from_regex(r"\As3://[a-z0-9][a-z0-9.\-]{1,20}[a-z0-9](/[a-zA-Z0-9._/\-]{0,30})?\Z")
dataset_arn = st.builds(
    lambda part, region, hub, name, ver: f"arn:{part}:sagemaker:{region}:{ACCT}:hub-content/{hub}/DataSet/{name}/{ver}",
    st.sampled_from(["aws", "aws-cn", "aws-us-gov"]), st.sampled_from(["us-east-1", "eu-west-1"]),
    st.from_regex(r"\A[A-Za-z0-9]{1,8}\Z"), st.from_regex(r"\A[a-z0-9\-]{1,10}\Z"), st.from_regex(r"\A[0-9.]{1,6}\Z"),
)
group = st.from_regex(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z") | st.builds(
    lambda n: f"arn:aws:sagemaker:us-east-1:{ACCT}:model-package-group/{n}", st.from_regex(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,20}\Z")
)
reward_fn = st.builds(lambda n: f"arn:aws:lambda:us-east-1:{ACCT}:function:{n}", st.from_regex(r"\A[a-zA-Z0-9\-_]{1,20}(:[a-zA-Z0-9\-_$]{1,8})?\Z")) | st.builds(
    lambda n: f"arn:aws:sagemaker:us-east-1:{ACCT}:hub-content/H/JsonDoc/{n}/1.0.0", st.from_regex(r"\A[a-z0-9\-]{1,10}\Z")
)
mlflow = st.builds(lambda kind, n: f"arn:aws:sagemaker:us-east-1:{ACCT}:mlflow-{kind}/{n}", st.sampled_from(["app", "tracking-server"]), st.text(max_size=10))
hp_names = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z") | st.text(max_size=10)
hp_values = st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10) | st.booleans() | st.none() | st.lists(st.integers(), max_size=2)
tag_keys = st.text(min_size=0, max_size=130) | st.sampled_from(["aws:foo", "AWS:foo", "team", "xaws:", "a" * 128, "a" * 129])
tag_values = st.text(max_size=20) | st.just("v" * 257) | st.integers()

#: Per property: a strategy of values, valid and invalid mixed.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "technique": st.sampled_from(["SFT", "DPO", "RLVR", "RLAIF", "sft", "CPT", ""]) | json_scalars,
    "model": st.text(max_size=30) | st.just("x" * 2049) | st.just("") | json_scalars,
    "training_type": st.sampled_from(["LORA", "FULL", "lora", "QLORA"]) | json_scalars,
    "accept_eula": st.booleans() | json_scalars,
    "model_package_group": group | st.text(max_size=70) | json_scalars,
    "training_dataset": s3_uri | dataset_arn | st.text(max_size=30) | st.sampled_from(["s3://Bucket/x", "s3://ab", "s3://a..b/c"]) | json_scalars,
    "validation_dataset": s3_uri | dataset_arn | st.text(max_size=30) | json_scalars,
    "s3_output_path": s3_uri | st.just("s3://bucket/" + "k" * 1100) | st.text(max_size=30) | json_scalars,
    "disable_output_compression": st.booleans() | json_scalars,
    "hyperparameters": st.dictionaries(hp_names, hp_values, max_size=4) | st.just({f"p{i}": i for i in range(101)}) | json_scalars,
    "sequence_length": st.from_regex(r"\A[0-9]{1,3}K\Z") | st.sampled_from(["8k", "K", "8K ", "8KB"]) | json_scalars,
    "custom_reward_function": reward_fn | st.text(max_size=30) | json_scalars,
    "verify_reward_function": st.booleans() | json_scalars,
    "validate_dataset": st.sampled_from(["full", "sample", "off", "FULL", "none"]) | json_scalars,
    "reward_verification_samples": st.integers(-3, 60) | st.sampled_from([3.0, 3.5, True, False, "3"]) | json_scalars,
    "reward_model_id": st.text(max_size=20) | json_scalars,
    "reward_prompt": st.text(max_size=20) | json_scalars,
    "mlflow_resource_arn": mlflow | st.text(max_size=30) | json_scalars,
    "mlflow_experiment_name": st.text(max_size=10) | st.just("e" * 257) | json_scalars,
    "mlflow_run_name": st.text(max_size=10) | st.just("r" * 256) | json_scalars,
    "max_runtime_in_seconds": st.integers(-5, 10**6) | st.sampled_from([0, 1, 86400.0, 1.5, True, "60"]) | json_scalars,
    "training_job_name": st.from_regex(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z") | st.text(max_size=70) | json_scalars,
    "tags": st.dictionaries(tag_keys, tag_values, max_size=4) | st.just({f"k{i}": "v" for i in range(41)}) | json_scalars,
    "mode": st.sampled_from(["train", "evaluate", "Evaluate", ""]) | json_scalars,
    "budget": st.fixed_dictionaries({"max_tokens": st.integers(-5, 10**16) | json_scalars}) | st.dictionaries(st.text(max_size=5), json_scalars, max_size=2)
    | json_scalars,
    "evaluation": st.fixed_dictionaries({"type": st.sampled_from(["benchmark", "custom_scorer", "llm_as_judge", "other"]) | json_scalars}, optional={
        "benchmark": st.sampled_from(["mmlu", "math", ""]) | json_scalars,
        "dataset": s3_uri | st.text(max_size=10) | json_scalars,
        "evaluator": st.sampled_from(["prime_math", ""]) | reward_fn | json_scalars,
        "judge_model_id": st.sampled_from(["openai.gpt-oss-120b-1:0", ""]) | json_scalars,
        "metrics": st.lists(st.sampled_from(["Correctness", "Builtin.Helpfulness", ""]) | json_scalars, max_size=13) | json_scalars,
        "compare_to_base": st.booleans() | json_scalars,
        "gate": st.fixed_dictionaries({"metric": st.sampled_from(["accuracy", ""]) | json_scalars}, optional={
            "min": st.floats(allow_nan=False, allow_infinity=False) | json_scalars,
            "min_improvement_over_base": st.floats(allow_nan=False, allow_infinity=False) | json_scalars,
        }) | st.dictionaries(st.text(max_size=5), json_scalars, max_size=2) | json_scalars,
        "extra": json_scalars,
    }) | json_scalars,
    "sweep": st.fixed_dictionaries({"objective": st.fixed_dictionaries({"metric": st.sampled_from(["accuracy", ""]) | json_scalars}, optional={
        "goal": st.sampled_from(["maximize", "minimize", "max"]) | json_scalars}) | json_scalars}, optional={
        "hyperparameters": st.dictionaries(hp_names, st.lists(hp_values, max_size=3) | hp_values, max_size=3)
        | st.just({f"p{i}": [1] for i in range(21)}) | json_scalars,
        "configurations": st.lists(st.dictionaries(hp_names, hp_values, max_size=3) | json_scalars, max_size=3) | json_scalars,
        "max_concurrency": st.integers(-1, 1002) | st.sampled_from([2.0, 2.5, True, "2"]) | json_scalars,
        "tolerated_failure_percentage": st.floats(-1, 101) | st.sampled_from([True, "5"]) | json_scalars,
        "extra": json_scalars,
    }) | json_scalars,
}


def test_every_property_has_a_generator():
    assert set(VALUES) == set(PROPS)


@st.composite
def inputs(draw) -> Any:
    names = draw(st.lists(st.sampled_from(sorted(PROPS)), unique=True, max_size=len(PROPS)))
    value = {name: draw(VALUES[name]) for name in names}
    if draw(st.booleans()):  # usually carry the required fields
        value.setdefault("technique", draw(st.sampled_from(["SFT", "DPO", "RLVR", "RLAIF"])))
        value.setdefault("training_dataset", draw(s3_uri | dataset_arn))
    if draw(st.integers(0, 9)) == 0:
        value[draw(st.text(max_size=12))] = draw(json_scalars)  # maybe an unknown field
    return value


@given(inputs())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_schema_check_agrees_with_jsonschema(value):
    agree(value)


@given(st.one_of(json_values, st.dictionaries(st.text(max_size=10), json_values, max_size=4)))
@settings(max_examples=200, deadline=None)
def test_agrees_on_arbitrary_json(value):
    agree(value)


@pytest.mark.parametrize("name", sorted(PROPS))
@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_agrees_property_by_property(name, data):
    value = {"technique": "SFT", "training_dataset": "s3://bucket/train.jsonl", name: data.draw(VALUES[name])}
    agree(value)


# ----------------------------------------------------------------------------- hand-picked edges
BASE = {"technique": "SFT", "training_dataset": "s3://bucket/train.jsonl"}
EDGES = [
    ({}, False),
    ([], False),
    (None, False),
    ("SFT", False),
    (BASE, True),
    ({**BASE, "max_runtime_in_seconds": True}, False),  # bool is not an integer
    ({**BASE, "max_runtime_in_seconds": 5.0}, True),  # 5.0 is an integer in JSON Schema
    ({**BASE, "max_runtime_in_seconds": 5.5}, False),
    ({**BASE, "max_runtime_in_seconds": 0}, False),
    ({**BASE, "reward_verification_samples": 51}, False),
    ({**BASE, "reward_verification_samples": 50.0}, True),
    ({**BASE, "accept_eula": 1}, False),
    ({**BASE, "accept_eula": "true"}, False),
    ({**BASE, "unknown": 1}, False),
    ({**BASE, "Technique": "SFT"}, False),
    ({**BASE, "tags": {"aws:cost": "x"}}, False),
    ({**BASE, "tags": {"aws:": "x"}}, False),
    ({**BASE, "tags": {"AWS:cost": "x"}}, False),  # aws: in any case (AWS reserves the prefix case-insensitively)
    ({**BASE, "tags": {"Aws:cost": "x"}}, False),
    ({**BASE, "tags": {"xaws:cost": "x"}}, True),
    ({**BASE, "tags": {"": "x"}}, False),
    ({**BASE, "tags": {"k" * 129: "x"}}, False),
    ({**BASE, "tags": {"k": "v" * 257}}, False),
    ({**BASE, "tags": {"k": 1}}, False),
    ({**BASE, "tags": {f"k{i}": "v" for i in range(40)}}, True),
    ({**BASE, "tags": {f"k{i}": "v" for i in range(41)}}, False),
    ({**BASE, "hyperparameters": {"lr": True}}, True),
    ({**BASE, "hyperparameters": {"lr": None}}, False),
    ({**BASE, "hyperparameters": {"lr": [1]}}, False),
    ({**BASE, "hyperparameters": {"1lr": 1}}, False),
    ({**BASE, "hyperparameters": {f"p{i}": 1 for i in range(100)}}, True),
    ({**BASE, "hyperparameters": {f"p{i}": 1 for i in range(101)}}, False),
    ({**BASE, "sequence_length": "8k"}, True),  # normalized to 8K by the validation
    ({**BASE, "sequence_length": "008K"}, False),
    ({**BASE, "sequence_length": "0K"}, False),
    ({**BASE, "sequence_length": "4096"}, False),
    ({**BASE, "training_dataset": "s3://my-bucket"}, True),
    ({**BASE, "training_dataset": "s3://My-Bucket/x"}, False),
    ({**BASE, "training_dataset": "https://bucket.s3.amazonaws.com/x"}, False),
    ({**BASE, "training_dataset": f"arn:aws:sagemaker:us-east-1:{ACCT}:hub-content/H/DataSet/d/1.0.0"}, True),
    ({**BASE, "training_dataset": f"arn:aws:sagemaker:us-east-1:{ACCT}:hub-content/H/Model/d/1.0.0"}, False),
    ({**BASE, "s3_output_path": "s3://bucket/" + "k" * 1012}, True),
    ({**BASE, "s3_output_path": "s3://bucket/" + "k" * 1013}, False),
    ({**BASE, "model_package_group": "my_group"}, False),
    ({**BASE, "model_package_group": "a" * 63}, True),
    ({**BASE, "model_package_group": "a" * 64}, False),
    ({**BASE, "training_job_name": "-job"}, False),
    ({**BASE, "training_job_name": "job--1"}, True),
    ({**BASE, "custom_reward_function": f"arn:aws:lambda:us-east-1:{ACCT}:function:f:$LATEST"}, True),
    ({**BASE, "custom_reward_function": f"arn:aws:lambda:us-east-1:{ACCT}:function:f/x"}, False),
    ({**BASE, "mlflow_resource_arn": f"arn:aws:sagemaker:us-east-1:{ACCT}:mlflow-app/app-1"}, True),
    ({**BASE, "mlflow_resource_arn": f"arn:aws:sagemaker:us-east-1:{ACCT}:experiment/x"}, False),
    ({**BASE, "mlflow_experiment_name": ""}, False),
    ({**BASE, "reward_model_id": ""}, False),
    ({**BASE, "model": ""}, False),
    ({**BASE, "model": "m" * 2048}, True),
    ({**BASE, "model": "m" * 2049}, False),
    ({**BASE, "technique": "CPT"}, False),
    ({"technique": "SFT"}, False),
    ({"training_dataset": "s3://bucket/x"}, False),
]


@pytest.mark.parametrize(("value", "valid"), EDGES, ids=[str(i) for i in range(len(EDGES))])
def test_hand_picked_edges(value, valid):
    errors = agree(value)
    assert (not errors) == valid


def test_errors_name_the_field_the_value_and_the_expectation():
    errors = list(iter_errors({**BASE, "max_runtime_in_seconds": "60", "tags": {"aws:x": "y"}, "bogus": 1}, SCHEMA))
    by_field = {e.field: e for e in errors}
    assert "max_runtime_in_seconds" in by_field and '"60"' in str(by_field["max_runtime_in_seconds"])
    assert "integer" in by_field["max_runtime_in_seconds"].expected
    assert "tags.aws:x" in by_field and "not starting with aws: (in any case)" in by_field["tags.aws:x"].expected
    assert "bogus" in by_field and "known fields" in by_field["bogus"].expected
    with pytest.raises(InvalidInput, match="training_dataset"):
        validate_execution_input({"technique": "SFT"})


def test_every_pattern_has_words_for_people():
    """No raw regular expression reaches a person: every patterned node says what it expects in words."""
    missing = []

    def walk(node, where):
        if not isinstance(node, dict):
            return
        if "pattern" in node and "x-expected" not in node and where.split("/")[-1] != "not":
            missing.append(where)
        for key in ("properties",):
            for name, sub in node.get(key, {}).items():
                walk(sub, f"{where}/{name}")
        for key in ("additionalProperties", "propertyNames", "not"):
            walk(node.get(key), f"{where}/{key}")

    walk(SCHEMA, "#")
    assert not missing, missing
