"""Gap 1: Lambda code really runs (subprocess of sys.executable), with AWS's error contract."""

from __future__ import annotations

import base64
import json
import time

import pytest

from .helpers import ensure_role, wait_for, zip_bytes

HANDLER = '''
import json, os, time
import boto3

def ok(event, context):
    s3 = boto3.client("s3")
    return {
        "event": event,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "remaining": context.get_remaining_time_in_millis(),
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "env": {k: os.environ.get(k) for k in ("MY_SETTING", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_LAMBDA_FUNCTION_NAME", "AWS_ENDPOINT_URL")},
    }

def boom(event, context):
    print("about to fail")
    raise ValueError("bad input: " + str(event.get("x")))

def slow(event, context):
    time.sleep(30)

def write(event, context):
    boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["key"], Body=b"from-lambda")
    return None
'''


@pytest.fixture(scope="module")
def functions(client):
    lam, iam = client("lambda"), client("iam")
    role = ensure_role(iam)
    code = zip_bytes({"lambda_src/__init__.py": "", "lambda_src/workflow/__init__.py": "", "lambda_src/workflow/handler.py": HANDLER})
    for name, handler, timeout in (
        ("ok", "lambda_src.workflow.handler.ok", 10),
        ("boom", "lambda_src.workflow.handler.boom", 10),
        ("slow", "lambda_src.workflow.handler.slow", 1),
        ("write", "lambda_src.workflow.handler.write", 10),
        ("missing", "lambda_src.workflow.nowhere.fn", 10),
    ):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=timeout,
            Environment={"Variables": {"MY_SETTING": "42"}},
        )
    return lam


def test_invoke_runs_the_handler_with_context_env_and_endpoint(functions, emulator):
    resp = functions.invoke(FunctionName="ok", Payload=json.dumps({"x": 1}))
    assert "FunctionError" not in resp
    out = json.loads(resp["Payload"].read())
    assert out["event"] == {"x": 1}
    assert out["function_name"] == "ok"
    assert out["arn"].endswith(":function:ok")
    assert 0 < out["remaining"] <= 10_000
    assert "jumpstart-cache-prod-us-east-1" in out["buckets"]  # boto3 inside the handler reached the emulator
    assert out["env"] == {
        "MY_SETTING": "42",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "ok",
        "AWS_ENDPOINT_URL": emulator.endpoint_url,
    }


def test_exception_is_reported_like_aws(functions):
    resp = functions.invoke(FunctionName="boom", Payload=json.dumps({"x": 7}), LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    err = json.loads(resp["Payload"].read())
    assert err["errorMessage"] == "bad input: 7"
    assert err["errorType"] == "ValueError"
    assert any("handler.py" in frame for frame in err["stackTrace"])
    log = base64.b64decode(resp["LogResult"]).decode()
    assert "about to fail" in log and "SIMULATED" in log


def test_import_error_and_timeout(functions):
    resp = functions.invoke(FunctionName="missing", Payload=b"{}")
    assert resp["FunctionError"] == "Unhandled"
    assert json.loads(resp["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
    started = time.monotonic()
    resp = functions.invoke(FunctionName="slow", Payload=b"{}")
    assert time.monotonic() - started < 8
    err = json.loads(resp["Payload"].read())
    assert resp["FunctionError"] == "Unhandled"
    assert err["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in err["errorMessage"]


def test_event_invocation_returns_202_and_runs_later(functions, client):
    s3 = client("s3")
    s3.create_bucket(Bucket="lambda-out")
    resp = functions.invoke(
        FunctionName="write", InvocationType="Event", Payload=json.dumps({"bucket": "lambda-out", "key": "k"})
    )
    assert resp["StatusCode"] == 202
    wait_for(lambda: s3.list_objects_v2(Bucket="lambda-out").get("KeyCount", 0) == 1)
    assert s3.get_object(Bucket="lambda-out", Key="k")["Body"].read() == b"from-lambda"
    # returning None gives the JSON null payload
    resp = functions.invoke(FunctionName="write", Payload=json.dumps({"bucket": "lambda-out", "key": "k2"}))
    assert resp["Payload"].read() == b"null"
