"""The ``finetune`` CLI: click's CliRunner, AWS through moto (never the network)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import nbformat
import pytest
from click.testing import CliRunner
from moto import mock_aws

from sagemaker_finetuning.cli import aws as A
from sagemaker_finetuning.cli import cli, main
from sagemaker_finetuning.core.schema_check import load_schema, problems

REGION = "us-east-1"
ACCOUNT = "123456789012"
FIX = Path(__file__).parents[1] / "fixtures"
# A machine that stays RUNNING whether moto only records executions or really runs them (as the
# local emulator's patched moto does, possibly earlier in the same test process).
DEFINITION = json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 900, "End": True}}})
SM_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:FineTuning"
GOOD = {"technique": "SFT", "training_dataset": "s3://my-bucket/train.jsonl"}
COMMANDS = ["start", "status", "watch", "list", "stop", "metrics", "generate", "validate-dataset", "doctor", "evaluate", "results"]


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "FINETUNE_STACK", "FINETUNE_STATE_MACHINE_ARN",
                "MLFLOW_TRACKING_URI", "AWS_REGION", "FINETUNE_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def aws():
    with mock_aws():
        yield
        sfn = boto3.client("stepfunctions", region_name=REGION)  # end any really-running execution
        for sm in sfn.list_state_machines()["stateMachines"]:
            for ex in sfn.list_executions(stateMachineArn=sm["stateMachineArn"], statusFilter="RUNNING")["executions"]:
                sfn.stop_execution(executionArn=ex["executionArn"])


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def one_error_line(result, needle: str, code: int | None = None):
    """The failure is one line on stderr naming the problem, non-zero exit, no traceback."""
    assert result.exit_code != 0 if code is None else result.exit_code == code, (result.exit_code, result.output)
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("finetune: error: ") and needle in err[0], err[0]
    assert "Traceback" not in result.output


def stack(with_outputs: bool = True):
    tpl = {"Resources": {"FineTuningStateMachine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
        "StateMachineName": "FineTuning", "DefinitionString": DEFINITION,
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/sfn"}}}}
    if with_outputs:
        tpl["Outputs"] = {"StateMachineArn": {"Value": {"Ref": "FineTuningStateMachine"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="SageMakerFineTuning", TemplateBody=json.dumps(tpl))


def describe(arn: str) -> dict:
    return boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)


def overlay(monkeypatch, fields: dict) -> dict:
    """Make DescribeExecution report ``fields`` (status, output, error...) on top of moto's answer;
    the dict can be changed while a command runs."""
    original = A.Aws.describe_execution

    def describe_execution(self, arn):
        return {**original(self, arn), **fields}

    monkeypatch.setattr(A.Aws, "describe_execution", describe_execution)
    return fields


# ---- help --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_useful_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"finetune {command}" in result.output
    assert len(result.output.splitlines()) > 8


def test_group_help_and_version():
    result = run("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output
    assert run("--version").output.startswith("finetune ")


def test_main_exits_with_the_code(capsys):
    with pytest.raises(SystemExit) as e:
        main(["start", "--no-such-flag"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "finetune: error: No such option '--no-such-flag'. (see 'finetune start --help')")


def test_usage_errors_are_one_line():
    one_error_line(run("status", "--bogus"), "No such option '--bogus'", code=2)
    one_error_line(run("generate"), "Missing argument 'TECHNIQUE'", code=2)
    one_error_line(run("generate", "ppo", "-m", "fake-model"), "'ppo' is not one of", code=2)
    one_error_line(run("validate-dataset", "x.jsonl"), "pass --technique", code=2)


# ---- start ---------------------------------------------------------------------------------


def test_the_cli_reports_every_problem_in_the_workflows_words():
    """One contract, one validator: the CLI prints the core's messages (the Lambda's), all of them."""
    found = [str(p) for p in problems({"technique": "PPO", "training_dataset": "http://x", "hyperparameters": {"lr": [1]},
                                       "reward_verification_samples": 99, "acept_eula": True, "tags": {"aws:x": "y"}})]
    text = "\n".join(found)
    assert 'technique: received "PPO"; expected one of "SFT", "DPO", "RLVR", "RLAIF"' in text
    assert 'training_dataset: received "http://x"; expected an s3:// URI such as s3://<bucket>/<prefix>/train.jsonl or a DataSet ARN' in text
    assert "^(" not in text and "[a-z" not in text, "messages carry words, not raw regular expressions"
    assert "hyperparameters.lr: received [1]; expected number or integer or string or boolean" in text
    assert "reward_verification_samples: received 99; expected integer >= 1 <= 50" in text
    assert "acept_eula: received true; expected no such field (did you mean 'accept_eula'?)" in text
    assert 'tags.aws:x: received "aws:x"; expected a tag key of 1-128 characters not starting with aws: (in any case)' in text
    assert len(found) == 6 and all("\n" not in line for line in found)
    assert str(problems({})[0]).startswith("technique: received null; expected a value (this field is required)")


def test_without_the_cli_extra_finetune_prints_what_to_install(tmp_path):
    """The console script without click (the 'cli' extra): one line, exit code 1, no traceback."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['click'] = None\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run([sys.executable, "-m", "sagemaker_finetuning.cli", "list"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "finetune: error: the command line needs the 'cli' extra (click is not installed): "
        "pip install 'sagemaker-finetuning-constructs[cli]'"
    ]


def test_start_rejects_bad_input_before_any_call(aws, tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"technique": "SFT", "training_dataset": "file.jsonl",
                                                   "epochs": 3}))
    result = run("start", "-i", "run.json")
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()
    assert err == [
        'finetune: error: invalid input: training_dataset: received "file.jsonl"; expected an s3:// URI such as '
        "s3://<bucket>/<prefix>/train.jsonl or a DataSet ARN arn:aws:sagemaker:<region>:<account>:hub-content/<hub>/DataSet/<name>/<version>",
        "finetune: error: invalid input: epochs: received 3; expected no such field (known fields: " + ", ".join(sorted(load_schema()["properties"])) + ")",
        "finetune: error: the execution input has 2 problem(s); nothing was started",
    ]
    # Nothing was looked up or started: there is no stack at all.


@pytest.mark.parametrize("content, needle", [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
])
def test_start_bad_input_file(tmp_path, content, needle):
    (tmp_path / "in.json").write_text(content)
    one_error_line(run("start", "-i", "in.json"), needle, code=1)
    one_error_line(run("start", "-i", "missing.json"), "cannot read input file missing.json", code=1)


def test_start_dry_run_merges_file_and_flags(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"technique": "DPO", "training_dataset": "s3://my-bucket/x.jsonl",
                                                   "hyperparameters": {"max_epochs": 1}}))
    result = run("start", "-i", "run.json", "-t", "sft", "-p", "learning_rate=2e-5", "-p", "note=hello",
                 "--tag", "team=ml", "--set", "verify_reward_function=false", "--accept-eula", "--dry-run")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc == {"technique": "SFT", "training_dataset": "s3://my-bucket/x.jsonl", "accept_eula": True,
                   "hyperparameters": {"max_epochs": 1, "learning_rate": 2e-5, "note": "hello"},
                   "tags": {"team": "ml"}, "verify_reward_function": False}


def test_start_finds_the_state_machine_from_the_stack_outputs(aws):
    stack(with_outputs=True)
    result = run("start", "-t", "SFT", "-d", "s3://my-bucket/train.jsonl", "--name", "run-1")
    assert result.exit_code == 0, result.output
    arn = result.stdout.strip()
    assert arn == f"arn:aws:states:{REGION}:{ACCOUNT}:execution:FineTuning:run-1"
    assert json.loads(describe(arn)["input"]) == GOOD
    assert "finetune watch" in result.stderr


def test_start_falls_back_to_the_stack_resources(aws):
    stack(with_outputs=False)  # as on the local emulator
    result = run("start", "-t", "SFT", "-d", "s3://my-bucket/train.jsonl")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"arn:aws:states:{REGION}:{ACCOUNT}:execution:FineTuning:")


def test_start_with_an_explicit_state_machine_and_no_stack(aws):
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name="Other", definition=DEFINITION,
                                   roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]
    result = run("start", "-t", "RLAIF", "-d", "s3://my-bucket/p.jsonl", "--state-machine-arn", arn, "--name", "x")
    assert result.exit_code == 0 and result.stdout.strip().endswith(":execution:Other:x")


def test_missing_stack_is_one_line(aws):
    one_error_line(run("start", "-t", "SFT", "-d", "s3://my-bucket/x.jsonl", "--stack", "Nope"),
                   "stack 'Nope' not found in us-east-1")
    one_error_line(run("list"), "stack 'SageMakerFineTuning' not found")


def test_start_validates_the_dataset_when_asked(aws):
    stack()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="my-bucket")
    s3.put_object(Bucket="my-bucket", Key="bad.jsonl", Body=b'{"prompt": "x"}\n')
    result = run("start", "-t", "SFT", "-d", "s3://my-bucket/bad.jsonl", "--validate-dataset")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == 'finetune: error: dataset: line 1: missing_field: "completion" is missing'
    assert "nothing was started" in result.stderr.splitlines()[-1]
    assert boto3.client("stepfunctions", region_name=REGION).list_executions(stateMachineArn=SM_ARN)["executions"] == []


def test_aws_errors_are_one_line(aws, monkeypatch):
    stack()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    one_error_line(run("list"), "no AWS credentials found")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    one_error_line(run("list", "--profile", "nope"), "AWS profile not found: nope")
    one_error_line(run("status", "arn:aws:states:us-east-1:123456789012:execution:FineTuning:none"),
                   "execution not found")
    one_error_line(run("status", "arn:aws:states:us-east-1:123456789012:stateMachine:X"),
                   "is not an execution ARN")


def test_unexpected_errors_have_no_traceback(aws, monkeypatch):
    def boom(self):
        raise RuntimeError("kaput")

    monkeypatch.setattr(A.Aws, "find_state_machine", boom)
    one_error_line(run("list"), "unexpected RuntimeError: kaput (set FINETUNE_DEBUG=1 for the traceback)")


# ---- list / status / stop ------------------------------------------------------------------


def _start(name: str) -> str:
    return boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=SM_ARN, name=name, input=json.dumps(GOOD))["executionArn"]


def test_list(aws):
    stack()
    result = run("list")
    assert result.exit_code == 0 and "no executions" in result.output
    for i in range(3):
        _start(f"run-{i}")
    result = run("list", "--json")
    data = json.loads(result.stdout)
    assert sorted(d["name"] for d in data) == ["run-0", "run-1", "run-2"]
    assert {d["status"] for d in data} == {"RUNNING"}
    result = run("list", "-n", "2")
    assert result.exit_code == 0 and "RUNNING" in result.output
    assert sum(f"run-{i}" in result.output for i in range(3)) == 2


def test_status_reads_the_job_name_from_the_output(aws, monkeypatch):
    stack()
    _start("run-1")
    overlay(monkeypatch, {"status": "SUCCEEDED",
                          "output": json.dumps({"training_job_name": "qwen-sft-abc", "model_package_arn": "x"})})
    jobs = {"qwen-sft-abc": {
        "TrainingJobName": "qwen-sft-abc", "TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
        "ProgressInfo": {"TotalStepCountPerEpoch": 10, "CurrentStep": 10, "CurrentEpoch": 3, "MaxEpoch": 3},
        "OutputModelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/support-v1/1",
        "MlflowDetails": {"MlflowRunId": "run123"}}}
    monkeypatch.setattr(A.Aws, "describe_training_job", lambda self, name: jobs.get(name))
    result = run("status", "run-1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["training_job_name"] == "qwen-sft-abc" and data["training_job_status"] == "Completed"
    assert data["progress"] == {"epoch": 3, "max_epoch": 3, "step": 10, "steps_per_epoch": 10, "done": 30, "total": 30}
    text = run("status").output  # the latest execution
    assert "qwen-sft-abc" in text and "Completed / Completed" in text and "epoch 3/3, step 10/10 (100%)" in text
    assert "model-package/support-v1/1" in text


def test_status_before_the_job_exists(aws):
    stack()
    _start("run-1")  # moto's history has no training job; the output is not JSON
    result = run("status", "run-1")
    assert result.exit_code == 0, result.output
    assert "(not started yet)" in result.output and "RUNNING" in result.output


def test_stop(aws):
    stack()
    arn = _start("run-1")
    result = run("stop", "run-1", input="n\n")
    assert result.exit_code == 130 and describe(arn)["status"] == "RUNNING"
    result = run("stop", "run-1", "--yes")
    assert result.exit_code == 0 and result.output.strip() == f"stopped {arn}"
    assert describe(arn)["status"] == "ABORTED"
    one_error_line(run("stop", "run-1", "--yes"), "already ended with status ABORTED")


# ---- watch ---------------------------------------------------------------------------------


def test_watch_shows_progress_until_the_end(aws, monkeypatch):
    stack()
    _start("run-1")
    ex = overlay(monkeypatch, {"output": None})
    states = [
        {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Starting"},
        {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
         "ProgressInfo": {"TotalStepCountPerEpoch": 10, "CurrentStep": 4, "CurrentEpoch": 1, "MaxEpoch": 2}},
        {"TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
         "ProgressInfo": {"TotalStepCountPerEpoch": 10, "CurrentStep": 5, "CurrentEpoch": 2, "MaxEpoch": 2}},
        {"TrainingJobStatus": "Completed", "SecondaryStatus": "Completed",
         "ProgressInfo": {"TotalStepCountPerEpoch": 10, "CurrentStep": 10, "CurrentEpoch": 2, "MaxEpoch": 2},
         "OutputModelPackageArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package/g/1"},
    ]

    def describe(self, name):
        assert name == "job-from-history"
        job = states.pop(0) if len(states) > 1 else states[0]
        if job["TrainingJobStatus"] == "Completed":
            ex["status"] = "SUCCEEDED"
        return job

    history = [{"type": "TaskSubmitted", "id": 3, "taskSubmittedEventDetails": {
        "resourceType": "sagemaker", "resource": "createTrainingJob.sync",
        "output": json.dumps({"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/job-from-history"})}}]
    monkeypatch.setattr(A.Aws, "history", lambda self, arn: iter(history))
    monkeypatch.setattr(A.Aws, "describe_training_job", describe)
    result = run("watch", "run-1", "--interval", "0")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "execution RUNNING, job job-from-history InProgress (Starting)" in out
    assert "InProgress (Training)" in out and "SUCCEEDED" in out
    assert "model-package/g/1" in out


def test_watch_fails_with_the_reason(aws, monkeypatch):
    stack()
    _start("run-1")
    overlay(monkeypatch, {"status": "FAILED", "error": "TrainingJobFailed", "cause": "ClientError: bad data at line 3"})
    monkeypatch.setattr(A.Aws, "history", lambda self, arn: iter([]))
    result = run("watch", "run-1", "--interval", "0")
    one_error_line(result, "execution FAILED: TrainingJobFailed ClientError: bad data at line 3")


@pytest.mark.parametrize("events, expected", [
    ([{"type": "TaskSucceeded", "taskSucceededEventDetails": {"resourceType": "sagemaker",
      "resource": "createTrainingJob.sync", "output": json.dumps({"TrainingJobName": "a-job"})}}], "a-job"),
    ([{"type": "TaskScheduled", "taskScheduledEventDetails": {"resourceType": "sagemaker",
      "resource": "createTrainingJob", "parameters": json.dumps({"TrainingJobName": "b-job", "x": 1})}}], "b-job"),
    ([{"type": "TaskStateExited", "stateExitedEventDetails": {"name": "CreateTrainingJob",
      "output": json.dumps({"Payload": {"training_job_name": "c-job"}})}}], "c-job"),
    ([{"type": "PassStateExited", "stateExitedEventDetails": {"output": "An output"}}], None),
    ([{"type": "TaskSucceeded", "taskSucceededEventDetails": {"resource": "createTrainingJob", "output": "{broken"}}], None),
    ([], None),
])
def test_job_name_from_history_is_defensive(events, expected):
    assert A.job_name_from_events(events) == expected


def test_progress_of():
    assert A.progress_of({}) is None
    assert A.progress_of({"ProgressInfo": {"MaxEpoch": 0, "TotalStepCountPerEpoch": 5}}) is None
    p = A.progress_of({"ProgressInfo": {"MaxEpoch": 2, "TotalStepCountPerEpoch": 5, "CurrentEpoch": 2, "CurrentStep": 1}})
    assert p["done"] == 6 and p["total"] == 10


# ---- generate / validate-dataset -----------------------------------------------------------


META = "meta-textgeneration-llama-3-2-1b-instruct"
QWEN = "huggingface-reasoning-qwen3-06b"
NOVA = "nova-textgeneration-lite-v2"


def test_generate_notebook_and_script(tmp_path):
    result = run("generate", "sft", "-m", META, "-u", "Customer Support Chatbot")
    assert result.exit_code == 0, result.output
    name = f"customer-support-chatbot-v1-sft-{META}.ipynb"
    assert result.stdout.strip() == name
    nb = nbformat.read(str(tmp_path / name), as_version=4)
    nbformat.validate(nb)
    assert "Gated model" in result.stderr and "https://huggingface.co/meta-llama/Llama-3.2-1B-Instruct" in result.stderr
    assert "ACCEPT_EULA = False" in "".join(c.source for c in nb.cells)
    one_error_line(run("generate", "sft", "-m", META, "-u", "Customer Support Chatbot"), f"{name} exists; pass --force", code=1)
    result = run("generate", "sft", "-m", META, "-u", "Customer Support Chatbot", "--force")
    assert result.exit_code == 0
    # Another model's notebook for the same use case gets its own name.
    result = run("generate", "sft", "-m", "fake-other-model", "-u", "Customer Support Chatbot")
    assert result.exit_code == 0 and result.stdout.strip() == "customer-support-chatbot-v1-sft-fake-other-model.ipynb"
    result = run("generate", "dpo", "-m", NOVA, "-g", "prefs-v2", "-o", "-",
                 "-p", "learning_rate=5e-6")
    assert result.exit_code == 0
    compile(result.stdout, "dpo.py", "exec")
    assert "max_epochs" not in result.stdout and "trainer.hyperparameters.learning_rate = 5e-06" in result.stdout


def test_generate_errors_are_one_line():
    one_error_line(run("generate", "sft", "-m", QWEN, "-g", "bad_name"),
                   "model package group name 'bad_name' does not match", code=1)
    one_error_line(run("generate", "sft", "-m", QWEN, "-u", "x", "--accept-eula"),
                   "gated meta- models only", code=1)
    one_error_line(run("generate", "sft", "-m", QWEN), "pass --use-case", code=2)
    one_error_line(run("generate", "continued", "-m", QWEN, "-g", "g-v1"),
                   "previous training job name", code=1)
    one_error_line(run("generate", "sft", "-m", QWEN, "-u", "x", "--judge-prompt-file", "j.jinja"),
                   "judge prompt file applies to the RLAIF custom-prompt template only", code=1)


def test_generate_custom_prompt_writes_the_example_prompt(tmp_path):
    result = run("generate", "rlaif-custom-prompt", "-m", QWEN, "-u", "Judge me",
                 "-o", "out/rlaif.py")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["out/rlaif.py", "out/prompts/judge_prompt.jinja"]
    prompt = (tmp_path / "out" / "prompts" / "judge_prompt.jinja").read_text()
    assert '{"score": ' in prompt and "SCORE:" not in prompt


def test_generate_takes_every_technique_finetune_start_takes():
    start = next(p for p in cli.commands["start"].params if p.name == "technique")
    generate = next(p for p in cli.commands["generate"].params if p.name == "technique")
    assert {c.lower() for c in start.type.choices} <= {c.lower() for c in generate.type.choices}
    for name in start.type.choices:
        result = run("generate", name, "-m", QWEN, "-g", "g-v1", "-o", "-")
        assert result.exit_code == 0, (name, result.output)


def test_generate_rlaif_picks_the_template(tmp_path):
    result = run("generate", "RLAIF", "-m", QWEN, "-g", "judged-v1", "--reward-prompt", "Builtin.Faithfulness")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [f"judged-v1-rlaif-builtin-{QWEN}.ipynb"]
    result = run("generate", "rlaif", "-m", QWEN, "-g", "judged-v1", "--judge-prompt-file", "judges/mine.jinja")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [f"judged-v1-rlaif-custom-prompt-{QWEN}.ipynb", "judges/mine.jinja"]


def test_generate_rlvr_writes_the_reward_function_per_model(tmp_path):
    nova = run("generate", "rlvr", "-m", NOVA, "-u", "Math tutor")
    qwen = run("generate", "rlvr", "-m", QWEN, "-u", "Math tutor")
    assert nova.exit_code == 0 and qwen.exit_code == 0, nova.output + qwen.output
    assert nova.stdout.split() == [f"math-tutor-v1-rlvr-{NOVA}.ipynb", "reward_nova_textgeneration_lite_v2.py"]
    assert qwen.stdout.split() == [f"math-tutor-v1-rlvr-{QWEN}.ipynb", "reward_huggingface_reasoning_qwen3_06b.py"]
    assert "(nova contract)" in (tmp_path / "reward_nova_textgeneration_lite_v2.py").read_text()
    assert "(open-weights contract)" in (tmp_path / "reward_huggingface_reasoning_qwen3_06b.py").read_text()
    assert "nova contract" in nova.stderr


def test_validate_dataset_local(tmp_path):
    ok = run("validate-dataset", str(FIX / "datasets" / "sft_valid.jsonl"), "-t", "sft")
    assert ok.exit_code == 0 and ok.stdout.strip().startswith("sft: 5 records (5 valid, 0 invalid)")
    bad = run("validate-dataset", str(FIX / "datasets" / "sft_invalid.jsonl"), "-t", "sft", "--max-errors", "2")
    assert bad.exit_code == 1
    lines = bad.stdout.splitlines()
    assert lines[0] == 'line 2: missing_field: "completion" is missing'
    assert lines[2] == "... and 8 more"
    assert lines[-1].startswith("sft: 10 records (2 valid, 8 invalid)")
    one_error_line(bad, "is not a valid sft dataset (10 problems)", code=1)
    js = run("validate-dataset", str(FIX / "datasets" / "nova_sft_valid.jsonl"), "-t", "SFT",
             "-m", "nova-textgeneration-lite-v2", "--json")
    assert js.exit_code == 0 and json.loads(js.stdout)["format"] == "nova-sft"
    one_error_line(run("validate-dataset", "nope.jsonl", "-f", "sft"), "no such file: nope.jsonl", code=1)
    one_error_line(run("validate-dataset", "x.jsonl", "-t", "RLAIF", "-m", "nova-lite"),
                   "no dataset format for Nova models", code=1)


def test_validate_dataset_s3(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="dpo.jsonl", Body=(FIX / "datasets" / "dpo_valid.jsonl").read_bytes())
    result = run("validate-dataset", "s3://data/dpo.jsonl", "-f", "dpo")
    assert result.exit_code == 0 and "2 records (2 valid" in result.stdout
    one_error_line(run("validate-dataset", "s3://data/none.jsonl", "-f", "dpo"), "no object at s3://data/none")


# ---- metrics -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_run(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_run", FIX / "mlflow" / "make_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    uri = "sqlite:///" + str(tmp_path_factory.mktemp("mlflow") / "mlflow.db")
    return uri, mod.make_run(uri, "DPO", epochs=2, steps_per_epoch=5)


def test_metrics_from_a_run_id(mlflow_run, tmp_path):
    uri, run_id = mlflow_run
    result = run("metrics", "--run-id", run_id, "--tracking-uri", uri, "--steps-per-epoch", "5", "--plot", "m.png")
    assert result.exit_code == 0, result.output
    assert "DPO metrics by epoch" in result.output and "rewards/margins" in result.output
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    js = json.loads(run("metrics", "--run-id", run_id, "--tracking-uri", uri, "--no-plot", "--json").stdout)
    assert [r["epoch"] for r in js["rows"]] == [1, 2] and js["plot"] is None
    one_error_line(run("metrics", "--run-id", "nope", "--tracking-uri", uri, "--no-plot"), "cannot read MLflow run 'nope'")
    one_error_line(run("metrics", "--run-id", run_id), "--run-id needs --tracking-uri", code=2)


def test_metrics_from_an_execution(aws, mlflow_run, monkeypatch, tmp_path):
    uri, run_id = mlflow_run
    stack()
    _start("run-1")
    overlay(monkeypatch, {"status": "SUCCEEDED", "output": json.dumps({"training_job_name": "dpo-job"})})
    job = {"TrainingJobName": "dpo-job", "TrainingJobStatus": "Completed",
           "MlflowConfig": {"MlflowResourceArn": uri}, "MlflowDetails": {"MlflowRunId": run_id},
           "ServerlessJobConfig": {"CustomizationTechnique": "DPO"},
           "ProgressInfo": {"TotalStepCountPerEpoch": 5, "MaxEpoch": 2, "CurrentEpoch": 2, "CurrentStep": 5}}
    monkeypatch.setattr(A.Aws, "describe_training_job", lambda self, name: job if name == "dpo-job" else None)
    result = run("metrics", "run-1")
    assert result.exit_code == 0, result.output
    assert "epochs from 5 steps per epoch" in result.output
    assert (tmp_path / "metrics-dpo-job.png").exists()
    one_error_line(run("metrics", "--job", "other"), "training job 'other' not found")
    job.pop("MlflowDetails")
    one_error_line(run("metrics", "--job", "dpo-job"), "has no MLflow run yet")
    job.pop("MlflowConfig")
    result = run("metrics", "--job", "dpo-job")
    one_error_line(result, "training job dpo-job has no MLflow run: it was launched without an MLflow resource")
    for hint in ("-c mlflowResourceArn=", "mlflow_resource_arn in the input", "/aws/sagemaker/TrainingJobs",
                 "--tracking-uri sqlite:///mlflow.db"):
        assert hint in result.stderr, hint


def test_help_text_mentions_real_examples():
    text = run("start", "--help").output
    assert re.search(r"finetune start -t SFT -d s3://", text)
    assert "JSON Schema" in text
