"""Simulated serverless evaluation jobs (JobType=Evaluation): lifecycle, events, result files, metrics.

The result files are read back with SageMaker Python SDK v3's own reader
(``sagemaker.train.common_utils.show_results_utils``), pointed at the emulator's S3.
"""

from __future__ import annotations

import json
import re
import types
from typing import Any

import boto3
import pytest

from sagemaker_finetuning_emulator import patch_sagemaker_jobs
from sagemaker_finetuning_emulator.control import ControlError

from .helpers import ACCOUNT, BASE_MODEL_ARN, REGION, ROLE_ARN, drain_queue, wait_for

BUCKET = "eval-data"
OUT = f"s3://{BUCKET}/evals"
MLFLOW = {"MlflowResourceArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:mlflow-app/app-1", "MlflowExperimentName": "evals"}
MMLU = {"task": "mmlu", "strategy": "zs_cot", "evaluation_metric": "accuracy"}
JUDGE = "anthropic.claude-3-5-sonnet-20240620-v1:0"
PROMPTS = ("What is 2+2?", "Name the capital of France.", "Say hello.")
TERMINAL = ("Completed", "Failed", "Stopped")
STAMPED_RESULTS = r"results_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{6}\.json"


def eval_job(name: str, evaluation_type: str = "BenchmarkEvaluation", hyper: dict[str, str] | None = None,
             group: str | None = None, source: str | None = None, tags: dict[str, str] | None = None,
             data: bool = False) -> dict[str, Any]:
    """A CreateTrainingJob request shaped like SDK v3's evaluation pipeline steps."""
    tags = {"sim:duration-seconds": "0.3", **(tags or {})}
    req: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": ROLE_ARN,
        "ServerlessJobConfig": {"BaseModelArn": BASE_MODEL_ARN, "AcceptEula": True, "JobType": "Evaluation",
                                "EvaluationType": evaluation_type},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "HyperParameters": dict(MMLU if hyper is None else hyper),
        "OutputDataConfig": {"S3OutputPath": OUT, "CompressionType": "NONE"},
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if group:  # the custom-model steps: {group, source}; base-model steps carry none (MLflow instead)
        req["ModelPackageConfig"] = {"ModelPackageGroupArn": group, **({"SourceModelPackageArn": source} if source else {})}
    else:
        req["MlflowConfig"] = dict(MLFLOW)
    if data:
        source_uri = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/dataset/"}
        req["InputDataConfig"] = [{"ChannelName": "train", "DataSource": {"S3DataSource": source_uri}}]
    return req


def judge_hyper(inference_uri: str, metrics: list[str] | None = None) -> dict[str, str]:
    hyper = {"judge_model_id": JUDGE, "inference_data_s3_path": inference_uri, "output_path": OUT,
             "max_new_tokens": "8192", "temperature": "0", "top_k": "-1", "top_p": "1.0"}
    if metrics is not None:
        hyper["llmaj_metrics"] = json.dumps(metrics)
    return hyper


def wait_terminal(sm: Any, *names: str) -> list[dict[str, Any]]:
    def poll(name: str) -> Any:
        described = sm.describe_training_job(TrainingJobName=name)
        return described if described["TrainingJobStatus"] in TERMINAL else None

    return [wait_for(lambda n=name: poll(n), timeout=10, interval=0.05) for name in names]


def keys_under(s3: Any, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def read(s3: Any, key: str) -> str:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()


def results_of(s3: Any, job: str) -> tuple[str, dict[str, Any]]:
    """The one results_*.json of a benchmark / custom-scorer job, at SDK v3's path."""
    (key,) = keys_under(s3, f"evals/{job}/")
    assert re.fullmatch(rf"evals/{job}/output/output/None/eval_results/{STAMPED_RESULTS}", key), key
    return key, json.loads(read(s3, key))


def pipeline_execution(steps: dict[str, str]) -> Any:
    """What SDK v3's reader uses of an EvaluationPipelineExecution: s3_output_path and the steps' jobs."""
    found = [
        types.SimpleNamespace(step_name=step, metadata=types.SimpleNamespace(
            training_job=types.SimpleNamespace(arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}")))
        for step, job in steps.items()
    ]
    return types.SimpleNamespace(s3_output_path=OUT, _pipeline_execution=types.SimpleNamespace(get_all_steps=lambda: iter(found)))


@pytest.fixture(scope="module")
def sm(client):
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    body = "".join(json.dumps({"prompt": p, "response": "x"}) + "\n" for p in PROMPTS)
    s3.put_object(Bucket=BUCKET, Key="dataset/eval.jsonl", Body=body.encode())
    return client("sagemaker")


@pytest.fixture(scope="module")
def s3(client, sm):
    return client("s3")


@pytest.fixture(scope="module")
def fine_tuned(sm) -> tuple[str, str]:
    """(group ARN, the fine-tuned model package an evaluation's SourceModelPackageArn names)."""
    group = sm.create_model_package_group(ModelPackageGroupName="eval-models")["ModelPackageGroupArn"]
    package = sm.create_model_package(
        ModelPackageGroupName="eval-models",
        InferenceSpecification={"Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/llm:1"}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]},
    )["ModelPackageArn"]
    return group, package


@pytest.fixture
def sdk_reader(emulator, monkeypatch):
    """SDK v3's results reader, its ``boto3.client("s3")`` aimed at the emulator."""
    reader = pytest.importorskip("sagemaker.train.common_utils.show_results_utils")
    for key, value in emulator.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a fresh default session reads the variables above
    return reader


@pytest.fixture(scope="module")
def eval_events(client):
    """An SQS queue receiving the state changes of jobs named ev-*."""
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName="eval-job-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"],
               "detail": {"TrainingJobName": [{"prefix": "ev-"}]}}
    events.put_rule(Name="eval-jobs", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="eval-jobs", Targets=[{"Id": "q", "Arn": queue_arn}])
    return sqs, url


def test_benchmark_of_fine_tuned_and_base_model_one_tag_set(sm, s3, fine_tuned, sdk_reader, capsys):
    group, package = fine_tuned
    tags = {"sim:metrics": "accuracy=0.82", "sim:base-metrics": "accuracy=0.61"}  # the same tags on both jobs
    sm.create_training_job(**eval_job("bench-custom", group=group, source=package, tags=tags))
    sm.create_training_job(**eval_job("bench-base", tags=tags))
    custom, base = wait_terminal(sm, "bench-custom", "bench-base")
    for described in (custom, base):
        assert described["TrainingJobStatus"] == "Completed" and "OutputModelPackageArn" not in described
        assert "ProgressInfo" not in described
    assert custom["ModelPackageConfig"] == {"ModelPackageGroupArn": group, "SourceModelPackageArn": package}
    # no model package registered: the group still holds only the fine-tuned one
    assert [p["ModelPackageArn"] for p in sm.list_model_packages(ModelPackageGroupName="eval-models")["ModelPackageSummaryList"]] == [package]
    assert keys_under(s3, "evals/bench-custom/output/model") == []

    _, custom_doc = results_of(s3, "bench-custom")
    _, base_doc = results_of(s3, "bench-base")
    assert custom_doc["results"]["all"]["accuracy"] == 0.82 and base_doc["results"]["all"]["accuracy"] == 0.61
    assert set(custom_doc["results"]["all"]) == {"accuracy", "accuracy_stderr"}
    assert custom_doc["config_general"]["source_model_package_arn"] == package

    assert sdk_reader._extract_metrics_from_results(custom_doc)["accuracy"] == 0.82
    sdk_reader._show_benchmark_results(pipeline_execution({"EvaluateCustomModel": "bench-custom", "EvaluateBaseModel": "bench-base"}))
    shown = capsys.readouterr().out
    assert "82.00%" in shown and "61.00%" in shown


def test_default_metrics_are_deterministic_per_job_name(sm, s3, fine_tuned):
    group, package = fine_tuned
    math_hyper = {"task": "math", "strategy": "zs_cot", "evaluation_metric": "exact_match"}
    scorer_hyper = {"task": "gen_qa", "strategy": "gen_qa", "evaluation_metric": "all", "preset_reward_function": "prime_math"}
    sm.create_training_job(**eval_job("dflt-math", hyper=math_hyper, group=group, source=package))
    sm.create_training_job(**eval_job("dflt-mmlu", hyper={"task": "mmlu"}))
    sm.create_training_job(**eval_job("dflt-scorer", "CustomScorerEvaluation", scorer_hyper, group=group, source=package))
    only_metrics = {"sim:metrics": "accuracy=0.7 f1=0.25"}  # a base-model job without sim:base-metrics uses sim:metrics
    sm.create_training_job(**eval_job("dflt-tagged", tags=only_metrics))
    assert all(d["TrainingJobStatus"] == "Completed" for d in wait_terminal(sm, "dflt-math", "dflt-mmlu", "dflt-scorer", "dflt-tagged"))

    math_all = results_of(s3, "dflt-math")[1]["results"]["all"]
    assert set(math_all) == {"exact_match", "exact_match_stderr"}
    assert math_all["exact_match"] == patch_sagemaker_jobs.simulated_metric_value("dflt-math", "exact_match")
    assert 0.5 <= math_all["exact_match"] <= 0.9 and 0.005 <= math_all["exact_match_stderr"] <= 0.03
    mmlu_all = results_of(s3, "dflt-mmlu")[1]["results"]["all"]
    assert mmlu_all["accuracy"] == patch_sagemaker_jobs.simulated_metric_value("dflt-mmlu", "accuracy")

    scorer = results_of(s3, "dflt-scorer")[1]["results"]
    assert list(scorer) == ["custom|gen_qa_gen_qa|0"]  # no "all": SDK v3 falls back to the first nested dict
    reward = scorer["custom|gen_qa_gen_qa|0"]["aggregate_reward_score"]
    assert reward == patch_sagemaker_jobs.simulated_metric_value("dflt-scorer", "aggregate_reward_score")
    assert results_of(s3, "dflt-tagged")[1]["results"]["all"] == {
        "accuracy": 0.7, "accuracy_stderr": patch_sagemaker_jobs.simulated_metric_value("dflt-tagged", "accuracy_stderr", 0.005, 0.03),
        "f1": 0.25, "f1_stderr": patch_sagemaker_jobs.simulated_metric_value("dflt-tagged", "f1_stderr", 0.005, 0.03),
    }
    # the value is a function of the job name (and metric) only
    assert patch_sagemaker_jobs.simulated_metric_value("dflt-math", "exact_match") == math_all["exact_match"]
    assert patch_sagemaker_jobs.parse_metrics("a=1 b=-0.5") == {"a": 1.0, "b": -0.5}


def run_inference(sm: Any, name: str, folder: str, group: str | None = None, source: str | None = None) -> str:
    """An LLMAJ inference job (BenchmarkEvaluation, task=inference_only); its inference_output.jsonl URI."""
    hyper = {"name": folder, "task": "inference_only"}
    sm.create_training_job(**eval_job(name, hyper=hyper, group=group, source=source, data=True))
    return f"{OUT}/{name}/output/output/{folder}/eval_results/inference_output.jsonl"


def test_llm_as_judge_inference_then_judge(sm, s3, fine_tuned, sdk_reader):
    group, package = fine_tuned
    custom_uri = run_inference(sm, "inf-custom", "CustomInference", group, package)
    base_uri = run_inference(sm, "inf-base", "BaseInference")
    assert [d["TrainingJobStatus"] for d in wait_terminal(sm, "inf-custom", "inf-base")] == ["Completed"] * 2
    lines = [json.loads(line) for line in read(s3, custom_uri.split(f"{BUCKET}/", 1)[1]).splitlines()]
    assert [sdk_reader._parse_prompt(line["prompt"]) for line in lines] == list(PROMPTS)  # from the input dataset
    assert all(sdk_reader._parse_response(line["modelResponses"][0]["response"]).startswith("SIMULATED") for line in lines)

    tags = {"sim:metrics": "Correctness=0.9 Helpfulness=0.8", "sim:base-metrics": "Correctness=0.6 Helpfulness=0.7"}
    metrics = ["Builtin.Correctness", "Helpfulness"]
    sm.create_training_job(**eval_job("judge-custom", "LLMAJEvaluation", judge_hyper(custom_uri, metrics), group, package, tags))
    sm.create_training_job(**eval_job("judge-base", "LLMAJEvaluation", judge_hyper(base_uri, metrics), tags=tags))
    assert [d["TrainingJobStatus"] for d in wait_terminal(sm, "judge-custom", "judge-base")] == ["Completed"] * 2

    execution = pipeline_execution({})
    custom_aggregate, custom_bedrock = sdk_reader._download_bedrock_aggregate_json(execution, "judge-custom")
    base_aggregate, base_bedrock = sdk_reader._download_bedrock_aggregate_json(execution, "judge-base")
    assert custom_bedrock != base_bedrock and re.fullmatch(r"[a-z0-9](-*[a-z0-9]){0,62}", custom_bedrock)
    assert custom_aggregate["job_name"] == custom_bedrock
    assert custom_aggregate["results"]["Correctness"]["score"] == 0.9 and base_aggregate["results"]["Helpfulness"]["score"] == 0.7
    assert set(custom_aggregate["results"]["Correctness"]) >= {"score", "std_deviation", "total_evaluations"}
    assert custom_aggregate["results"]["Correctness"]["total_evaluations"] == len(PROMPTS)
    assert keys_under(s3, "evals/judge-custom/") == [
        f"evals/judge-custom/output/output/{custom_bedrock}/eval_results/bedrock_llm_judge_results.json"]

    custom_examples = sdk_reader._download_llmaj_results_from_s3(execution, custom_bedrock)
    base_examples = sdk_reader._download_llmaj_results_from_s3(execution, base_bedrock)
    assert len(custom_examples) == len(PROMPTS)
    scores = [{s["metricName"]: s["result"] for s in e["automatedEvaluationResult"]["scores"]} for e in custom_examples]
    assert sum(s["Correctness"] for s in scores) / len(scores) == pytest.approx(0.9)
    assert sdk_reader._parse_prompt(custom_examples[0]["inputRecord"]["prompt"]) == PROMPTS[0]
    win_rates = sdk_reader._calculate_win_rates(custom_examples, base_examples)
    assert win_rates["custom_wins"] == len(PROMPTS) and win_rates["custom_win_rate"] == 1.0


def test_judge_default_metrics_come_from_llmaj_metrics(sm, s3):
    inference = "\n".join(json.dumps({"prompt": str([{"role": "user", "content": "hi"}]),
                                      "modelResponses": [{"response": json.dumps(["hello"]), "modelIdentifier": "model"}]})
                          for _ in range(4))
    s3.put_object(Bucket=BUCKET, Key="handmade/inference_output.jsonl", Body=inference.encode())
    uri = f"s3://{BUCKET}/handmade/inference_output.jsonl"
    sm.create_training_job(**eval_job("judge-dflt", "LLMAJEvaluation", judge_hyper(uri, ["Builtin.Faithfulness", "Coherence"])))
    sm.create_training_job(**eval_job("judge-none", "LLMAJEvaluation", judge_hyper(uri)))
    assert [d["TrainingJobStatus"] for d in wait_terminal(sm, "judge-dflt", "judge-none")] == ["Completed"] * 2
    bedrock, _ = patch_sagemaker_jobs.bedrock_job_names(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/judge-dflt")
    aggregate = json.loads(read(s3, f"evals/judge-dflt/output/output/{bedrock}/eval_results/bedrock_llm_judge_results.json"))
    assert list(aggregate["results"]) == ["Faithfulness", "Coherence"]
    faithfulness = aggregate["results"]["Faithfulness"]
    assert faithfulness["score"] == patch_sagemaker_jobs.simulated_metric_value("judge-dflt", "Faithfulness")
    assert faithfulness["total_evaluations"] == 4 and faithfulness["std_deviation"] > 0
    (none_key,) = [k for k in keys_under(s3, "evals/judge-none/") if k.endswith("bedrock_llm_judge_results.json")]
    assert list(json.loads(read(s3, none_key))["results"]) == list(patch_sagemaker_jobs.DEFAULT_JUDGE_METRICS)


def test_judge_without_inference_data_fails_clearly(sm, s3):
    missing = f"{OUT}/nobody/output/output/CustomInference/eval_results/inference_output.jsonl"
    sm.create_training_job(**eval_job("judge-orphan", "LLMAJEvaluation", judge_hyper(missing)))
    no_judge = {k: v for k, v in judge_hyper(missing).items() if k != "judge_model_id"}
    sm.create_training_job(**eval_job("judge-nojudge", "LLMAJEvaluation", no_judge))
    orphan, nojudge = wait_terminal(sm, "judge-orphan", "judge-nojudge")
    assert orphan["TrainingJobStatus"] == "Failed" and orphan["SecondaryStatus"] == "Failed"
    assert orphan["FailureReason"].startswith(f"SIMULATED: ClientError: The inference data {missing} given in hyperparameter "
                                              "inference_data_s3_path does not exist.")
    assert nojudge["FailureReason"] == "SIMULATED: ClientError: hyperparameter judge_model_id is required for an LLMAJEvaluation job."
    assert keys_under(s3, "evals/judge-orphan/") == []


def test_events_failure_and_stop_of_evaluation_jobs(sm, s3, eval_events):
    sqs, url = eval_events
    sm.create_training_job(**eval_job("ev-ok"))
    failing = {"sim:outcome": "Failed", "sim:failure-reason": "AlgorithmError: judge timed out", "sim:metrics": "accuracy=1"}
    sm.create_training_job(**eval_job("ev-bad", tags=failing))
    sm.create_training_job(**eval_job("ev-plain-bad", tags={"sim:outcome": "Failed"}))
    sm.create_training_job(**eval_job("ev-stop", tags={"sim:duration-seconds": "30"}))
    sm.stop_training_job(TrainingJobName="ev-stop")
    ok, bad, plain_bad, stopped = wait_terminal(sm, "ev-ok", "ev-bad", "ev-plain-bad", "ev-stop")
    assert [t["Status"] for t in ok["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert [t["StatusMessage"] for t in ok["SecondaryStatusTransitions"][:4]] == [
        "SIMULATED: Starting the serverless evaluation job", "SIMULATED: Downloading the evaluation data",
        "SIMULATED: Evaluating the model on benchmark mmlu", "SIMULATED: Uploading the evaluation results"]
    assert bad["TrainingJobStatus"] == "Failed" and bad["FailureReason"] == "SIMULATED: AlgorithmError: judge timed out"
    assert plain_bad["FailureReason"] == "SIMULATED: AlgorithmError: simulated evaluation failure (sim:outcome=Failed)"
    assert (stopped["TrainingJobStatus"], stopped["SecondaryStatus"]) == ("Stopped", "Stopped")
    for name in ("ev-bad", "ev-plain-bad", "ev-stop"):
        assert keys_under(s3, f"evals/{name}/") == [], name
    assert len(keys_under(s3, "evals/ev-ok/")) == 1

    def states(bodies: list[dict], name: str) -> list[tuple[str, str]]:
        return [(b["detail"]["TrainingJobStatus"], b["detail"]["SecondaryStatus"]) for b in bodies if b["detail"]["TrainingJobName"] == name]

    bodies = drain_queue(sqs, url, until=lambda b: ("Completed", "Completed") in states(b, "ev-ok")
                         and ("Stopped", "Stopped") in states(b, "ev-stop") and ("Failed", "Failed") in states(b, "ev-bad"))
    assert states(bodies, "ev-ok") == [("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training"),
                                       ("InProgress", "Uploading"), ("Completed", "Completed")]
    final = [b for b in bodies if b["detail"]["TrainingJobName"] == "ev-ok"][-1]
    assert final["detail"]["ServerlessJobConfig"]["JobType"] == "Evaluation" and "OutputModelPackageArn" not in final["detail"]
    assert states(bodies, "ev-stop")[-2:] == [("Stopping", "Stopping"), ("Stopped", "Stopped")]


def test_evaluation_requests_are_validated(client, fine_tuned):
    raw = client("sagemaker", raw=True)
    group, package = fine_tuned

    def refused(req: dict[str, Any]) -> str:
        with pytest.raises(raw.exceptions.ClientError) as err:
            raw.create_training_job(**req)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        return err.value.response["Error"]["Message"]

    bad_type = eval_job("val-1", "PairwiseEvaluation")
    assert "serverlessJobConfig.evaluationType" in refused(bad_type)
    no_type = eval_job("val-2")
    del no_type["ServerlessJobConfig"]["EvaluationType"]
    assert "EvaluationType is required when JobType is Evaluation" in refused(no_type)
    neither = eval_job("val-3")
    del neither["MlflowConfig"]
    assert refused(neither) == "MlflowExperimentName is required when ModelPackageGroupArn is not provided"
    assert "sim:metrics must hold space-separated name=value pairs" in refused(eval_job("val-4", tags={"sim:metrics": "accuracy:0.8"}))
    assert "sim:base-metrics" in refused(eval_job("val-5", tags={"sim:base-metrics": "accuracy=high"}))
    assert "does not exist" in refused(eval_job("val-6", group=group, source=package.rsplit("/", 1)[0] + "/99"))
    # accepted: a base-model evaluation with its group only (no MLflow), and every evaluation type
    raw.create_training_job(**eval_job("val-7", group=group))
    raw.create_training_job(**eval_job("val-8", "CustomScorerEvaluation", {"task": "gen_qa"}, group=group, source=package))


def test_control_api_sets_the_metrics_of_a_job(emulator, sm, s3):
    control = emulator.control
    control.set_metrics("ctl-eval", {"accuracy": 0.77, "exact_match": 0.5})  # before the job exists; wins over tags
    control.set_metrics("ctl-eval-str", "accuracy=0.33")
    sm.create_training_job(**eval_job("ctl-eval", tags={"sim:metrics": "accuracy=0.1"}))
    sm.create_training_job(**eval_job("ctl-eval-str"))
    wait_terminal(sm, "ctl-eval", "ctl-eval-str")
    assert results_of(s3, "ctl-eval")[1]["results"]["all"]["accuracy"] == 0.77
    assert results_of(s3, "ctl-eval-str")[1]["results"]["all"]["accuracy"] == 0.33
    view = control.job("ctl-eval")["Simulation"]["Evaluation"]
    assert view["Kind"] == "benchmark" and view["Metrics"] == {"accuracy": 0.77, "exact_match": 0.5}
    assert view["ResultUris"] == [f"s3://{BUCKET}/{results_of(s3, 'ctl-eval')[0]}"]
    with pytest.raises(ControlError) as err:
        control.set_metrics("ctl-eval", "accuracy")
    assert err.value.status == 400
    control.set_metrics("ctl-eval", None)
