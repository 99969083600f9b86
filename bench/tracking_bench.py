"""How many Step Functions state transitions does tracking a job cost, and how fast is completion noticed?

1. Runs the real synthesized state machine on the offline emulator (SIMULATED training) with short
   polling intervals, counts the states entered, and checks them against a model of the loop read
   from the definition (events delivered, and events lost so only the polling safety net works).
2. Extrapolates the validated model to a 24 h job with the default intervals (1 min doubling to
   15 min), next to a naive fixed 60 s Wait/Describe loop, side by side.
3. Measures detection latency (job Completed -> execution SUCCEEDED) with and without events.
Run: .venv/bin/python bench/tracking_bench.py   (about a minute)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "cdk_app"))
warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)

MIN_POLL, MAX_POLL = 1, 4
PRICE_PER_TRANSITION = 0.025 / 1000  # Standard workflows, us-east-1 list price


def loop_model(events: list[float], end: float, lo: float, hi: float, overhead: float = 0.0) -> dict[str, int]:
    """States entered by the tracking loop, simulated on the definition's rules.

    Time 0 is the first WaitForJobEvent. Every cycle is two states: WaitForJobEvent, then
    TrackTrainingJob (describe, next interval), whether an event inside the current wait woke it or
    the wait timed out; after a timeout the interval doubles up to ``hi``. Events that arrive while
    no wait is registered (during ``overhead``) are lost. The first Track after ``end`` marks the
    job ended, and the next WaitForJobEvent is refused at once (one more state; JobStatus? and what
    follows are in the fixed part).
    """
    t, wait, states, wakes, timeouts = 0.0, lo, 0, 0, 0
    pending = sorted(e for e in events if e >= 0)
    while True:
        states += 2
        pending = [e for e in pending if e >= t]
        if pending and pending[0] < t + wait:
            t = pending.pop(0) + overhead
            wakes += 1
        else:
            t += wait + overhead
            wait = min(wait * 2, hi)
            timeouts += 1
        if t >= end:
            return {"loop_transitions": states + 1, "wakes": wakes, "timeouts": timeouts}


def previous_loop_model(events: list[float], end: float, lo: float, hi: float, overhead: float = 0.0) -> int:
    """The loop before TrackTrainingJob (up to commit 1993f44), for the before/after line: an event
    cost WaitForJobEvent, DescribeTrainingJob, JobStatus? (3 states); a timeout added BackOffPolling,
    IntervalAboveMaximum? and, when the doubled interval was capped, CapPollInterval (5 or 6). That
    model matched the emulator within a few percent at the time; its Describe + JobStatus? once were
    in the fixed part, as TrackTrainingJob + JobStatus? are now, so the refused wait is taken off."""
    t, wait, states = 0.0, lo, 0
    pending = sorted(e for e in events if e >= 0)
    while t < end:
        pending = [e for e in pending if e >= t]
        if pending and pending[0] < t + wait:
            t, states = pending.pop(0) + overhead, states + 3
        else:
            t, states = t + wait + overhead, states + 5 + (1 if wait * 2 > hi else 0)
            wait = min(wait * 2, hi)
    return states


def _cycle_overhead(events: list[dict]) -> float:
    """Median seconds from a WaitForJobEvent exit to the next WaitForJobEvent entry (TrackTrainingJob
    and bookkeeping): the time no wait is registered."""
    exits = [e["timestamp"] for e in events if e["type"] == "TaskStateExited" and e.get("stateExitedEventDetails", {}).get("name") == "WaitForJobEvent"]
    enters = [e["timestamp"] for e in events if e["type"] == "TaskStateEntered" and e.get("stateEnteredEventDetails", {}).get("name") == "WaitForJobEvent"]
    gaps = [(n - x).total_seconds() for x, n in zip(exits, enters[1:], strict=False)]
    return statistics.median(gaps) if gaps else 0.0


def fixed_overhead(definition: dict) -> int:
    """States entered once per run outside the loop (happy path, no RLVR verification)."""
    once = ["ReceiveInput", "ValidateInput", "Mode?", "ResolveBaseModel", "CheckDatasets", "ListDatasetParts",
            "FanOutDatasetValidation?", "ValidateDatasetParts",
            "MergeDatasetValidation", "PlanTrainingJob", "VerifyReward?", "RecordExecutionJob", "MlflowConfigured?",
            "CreateTrainingJob", "TrackTrainingJob", "JobStatus?", "SummarizeResult", "EvaluateModel?", "TrainingJobCompleted"]
    assert all(s in definition["States"] for s in once)
    # + the Map's one iteration for a dataset of one part (its ValidateDatasetPart task)
    return len(once) + 1


def main() -> int:
    import aws_cdk as cdk
    from app import build_app
    from conftest import resolve_definition  # tests/conftest.py helper

    from sagemaker_finetuning_emulator import Emulator
    from sagemaker_finetuning_emulator.demo import deploy_assembly, stack_outputs, upload_samples

    outdir = Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    app = build_app(cdk.App(outdir=str(outdir), context={"minPollSeconds": str(MIN_POLL), "maxPollSeconds": str(MAX_POLL)}))
    assembly = app.synth()
    definition = resolve_definition(assembly.get_stack_by_name("SageMakerFineTuning").template)
    overhead = fixed_overhead(definition)
    rows, cycles, latencies = [], [], {"events": [], "polling only": []}
    with Emulator(port=0, job_seconds=3) as emu:
        kw = emu.client_kwargs()
        cl = {n: boto3.client(n, **kw) for n in ("s3", "cloudformation", "ssm", "stepfunctions", "sagemaker")}
        deploy_assembly(cl, outdir)
        out = stack_outputs(cl["cloudformation"])
        uris = upload_samples(cl["s3"], out["BucketName"])
        sfn, sm = cl["stepfunctions"], cl["sagemaker"]
        for mode in ("events", "polling only"):
            for duration in (6, 12, 20):
                name = f"bench-{mode.split()[0]}-{duration}-{int(time.time())}"
                if mode == "polling only":
                    emu.control.suppress_events(name)
                arn = sfn.start_execution(stateMachineArn=out["StateMachineArn"], name=name, input=json.dumps({
                    "technique": "SFT", "training_dataset": uris["sft"], "training_job_name": name,
                    "tags": {"sim:duration-seconds": str(duration)}}))["executionArn"]
                while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
                    time.sleep(0.2)
                assert desc["status"] == "SUCCEEDED", desc
                events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                entered = [e for e in events if e["type"].endswith("StateEntered")]
                job = sm.describe_training_job(TrainingJobName=name)
                names = [e["stateEnteredEventDetails"]["name"] for e in entered]
                timeouts = sum(e["type"] == "TaskTimedOut" for e in events)
                wakes = names.count("WaitForJobEvent") - timeouts - 1  # the last one is refused: the job ended
                end = job["TrainingEndTime"]
                waits = [e for e in events if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "WaitForJobEvent"]
                origin = waits[0]["timestamp"]
                cycle = _cycle_overhead(events)
                changes = [(t["StartTime"] - origin).total_seconds() for t in job.get("SecondaryStatusTransitions", [])]
                model = loop_model(changes if mode == "events" else [], (end - origin).total_seconds(), MIN_POLL, MAX_POLL, cycle)
                predicted = overhead + model["loop_transitions"]
                latencies[mode].append((desc["stopDate"] - end).total_seconds())
                rows.append((mode, duration, len(entered), predicted, wakes, timeouts, model["timeouts"]))
                cycles.append(cycle)
    print(f"measured on the emulator (min/max poll {MIN_POLL}/{MAX_POLL} s; SIMULATED jobs)")
    print(f"{'mode':13} {'job s':>6} {'states entered':>15} {'model':>6} {'event wakes':>12} {'poll timeouts':>14} {'model':>6}")
    for r in rows:
        print(f"{r[0]:13} {r[1]:>6} {r[2]:>15} {r[3]:>6} {r[4]:>12} {r[5]:>14} {r[6]:>6}")
    errors = [abs(r[2] - r[3]) / r[2] for r in rows]
    print(f"model vs measured states: max deviation {max(errors):.0%}")
    print("\ndetection latency (job Completed -> execution SUCCEEDED), seconds:")
    for mode, values in latencies.items():
        print(f"  {mode:13} min {min(values):.2f}  median {statistics.median(values):.2f}  max {max(values):.2f}  (n={len(values)})")

    day = 86400
    # A serverless job's status changes: Starting, Downloading, Training (after ~10 min), Uploading, Completed.
    changes = [0, 120, 600, day - 600, day]
    print(f"\n24 h job, default intervals (1 min doubling to 15 min), cycle overhead {statistics.median(cycles):.2f} s as measured,")
    print("priced at $0.025 per 1000 state transitions:")
    median_cycle = statistics.median(cycles)
    with_events = overhead + loop_model(changes, day, 60, 900, median_cycle)["loop_transitions"]
    without = overhead + loop_model([], day, 60, 900, median_cycle)["loop_transitions"]
    before_events = overhead + previous_loop_model(changes, day, 60, 900, median_cycle)
    before_without = overhead + previous_loop_model([], day, 60, 900, median_cycle)
    noticed = statistics.median(latencies["events"])
    print(f"  {'transitions for the whole run':38} {'before':>6} -> {'now':>4}  cost now")
    print(f"  {'events delivered (5 status changes)':38} {before_events:6d} -> {with_events:4d}  ${with_events * PRICE_PER_TRANSITION:.4f}"
          f"  completion noticed in ~{noticed:.1f} s")
    print(f"  {'all events lost (polling only)':38} {before_without:6d} -> {without:4d}  ${without * PRICE_PER_TRANSITION:.4f}"
          "  completion noticed within 900 s")
    naive = overhead + (day // 60) * 3
    ours = with_events
    print(f"  {'naive fixed 60 s Wait/Describe/Choice':38} {naive:6d} transitions  ${naive * PRICE_PER_TRANSITION:.4f}  worst-case detection 60 s")
    print(f"  ratio naive / ours: {naive / ours:.1f}x fewer transitions with events + adaptive polling")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main())
