"""Gap 6: EventBridge delivers to Lambda and Step Functions targets (Input/InputPath/InputTransformer)."""

from __future__ import annotations

import json
import time

from .helpers import ensure_role, wait_for, zip_bytes

SINK = """
import json, uuid, boto3
def handler(event, context):
    kind = event.get("kind", "raw") if isinstance(event, dict) else "text"
    boto3.client("s3").put_object(Bucket="ev-sink", Key="%s/%s.json" % (kind, uuid.uuid4()), Body=json.dumps(event).encode())
"""


def sink_objects(s3, prefix: str) -> list:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="ev-sink", Prefix=prefix).get("Contents", [])]
    return [json.loads(s3.get_object(Bucket="ev-sink", Key=k)["Body"].read()) for k in keys]


def _ensure_sink(s3) -> None:
    if "ev-sink" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="ev-sink")


def test_lambda_sfn_and_sqs_targets_with_input_variants(client):
    s3, lam, events, sfn, sqs = client("s3"), client("lambda"), client("events"), client("stepfunctions"), client("sqs")
    _ensure_sink(s3)
    fn = lam.create_function(
        FunctionName="ev-sink", Runtime="python3.12", Role=ensure_role(client("iam")), Handler="sink.handler",
        Code={"ZipFile": zip_bytes({"sink.py": SINK})}, Timeout=10,
    )["FunctionArn"]
    machine = sfn.create_state_machine(
        name="echo", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    queue = sqs.create_queue(QueueName="ev-disabled")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    live = sqs.create_queue(QueueName="ev-live")["QueueUrl"]
    live_arn = sqs.get_queue_attributes(QueueUrl=live, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    pattern = json.dumps({"source": ["test.app"]})
    events.put_rule(Name="app", EventPattern=pattern)
    transformer = {
        "InputPathsMap": {"job": "$.detail.job", "status": "$.detail.status", "n": "$.detail.n"},
        "InputTemplate": '{"kind": "tx", "job": <job>, "n": <n>, "msg": "job <job> is <status>"}',
    }
    events.put_targets(
        Rule="app",
        Targets=[
            {"Id": "raw", "Arn": fn},
            {"Id": "const", "Arn": fn, "Input": json.dumps({"kind": "const", "fixed": True})},
            {"Id": "path", "Arn": fn, "InputPath": "$.detail"},
            {"Id": "tx", "Arn": fn, "InputTransformer": transformer},
            {"Id": "sfn", "Arn": machine, "InputPath": "$.detail"},
            {"Id": "sqs", "Arn": live_arn},  # moto's own targets still work next to ours
        ],
    )
    events.put_rule(Name="off", EventPattern=pattern, State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "q", "Arn": queue_arn}])

    started = time.monotonic()
    resp = events.put_events(
        Entries=[{"Source": "test.app", "DetailType": "Thing", "Detail": json.dumps({"kind": "path", "job": "j1", "status": "Done", "n": 3})}]
    )
    assert resp["FailedEntryCount"] == 0
    assert time.monotonic() - started < 3.0  # delivery is asynchronous (the handlers take longer)

    wait_for(lambda: all(sink_objects(s3, p) for p in ("raw/", "const/", "path/", "tx/")), timeout=15)
    (raw,) = sink_objects(s3, "raw/")
    assert raw["source"] == "test.app" and raw["detail"]["job"] == "j1" and raw["time"].endswith("Z")
    assert sink_objects(s3, "const/") == [{"kind": "const", "fixed": True}]
    assert sink_objects(s3, "path/") == [{"kind": "path", "job": "j1", "status": "Done", "n": 3}]
    assert sink_objects(s3, "tx/") == [{"kind": "tx", "job": "j1", "n": 3, "msg": "job j1 is Done"}]

    executions = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    (execution,) = executions
    detail = sfn.describe_execution(executionArn=execution["executionArn"])
    assert json.loads(detail["input"]) == {"kind": "path", "job": "j1", "status": "Done", "n": 3}

    assert wait_for(lambda: sqs.receive_message(QueueUrl=live).get("Messages"))
    assert sqs.receive_message(QueueUrl=queue).get("Messages") is None  # disabled rule delivers nothing


def test_schedule_rules_get_no_events_and_fire_on_demand(emulator, client):
    """moto matches every event to a rule without an event pattern; AWS runs a schedule rule's targets
    on the schedule only. The emulator has no schedule clock: ``fire_schedule`` runs one tick."""
    s3, lam, events = client("s3"), client("lambda"), client("events")
    _ensure_sink(s3)
    fn = lam.create_function(
        FunctionName="ev-sched", Runtime="python3.12", Role=ensure_role(client("iam")), Handler="sink.handler",
        Code={"ZipFile": zip_bytes({"sink.py": SINK})}, Timeout=10,
    )["FunctionArn"]
    events.put_rule(Name="every-30-min", ScheduleExpression="rate(30 minutes)")
    events.put_targets(Rule="every-30-min", Targets=[{"Id": "fn", "Arn": fn, "Input": json.dumps({"kind": "sched"})}])
    events.put_rule(Name="every-30-min-off", ScheduleExpression="rate(30 minutes)", State="DISABLED")
    events.put_targets(Rule="every-30-min-off", Targets=[{"Id": "fn", "Arn": fn, "Input": json.dumps({"kind": "off"})}])
    events.put_events(Entries=[{"Source": "test.other", "DetailType": "Thing", "Detail": "{}"}])
    time.sleep(1.0)
    assert sink_objects(s3, "sched/") == []
    fired = emulator.control.fire_schedule("every-30-min")
    assert fired["delivered"] == 1 and fired["event"]["detail-type"] == "Scheduled Event"
    assert fired["event"]["resources"] == [events.describe_rule(Name="every-30-min")["Arn"]]
    assert sink_objects(s3, "sched/") == [{"kind": "sched"}]  # delivered synchronously
    assert emulator.control.fire_schedule("every-30-min-off")["delivered"] == 0
    assert sink_objects(s3, "off/") == []
