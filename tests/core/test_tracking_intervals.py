"""The polling interval of TrackTrainingJob (core/tracking.next_tracking): the safety net when events are lost."""

from __future__ import annotations

import pytest

from sagemaker_finetuning.core.tracking import first_tracking, job_ended, json_safe, next_tracking

TIMEOUT = {"Error": "States.Timeout", "Cause": "The task timed out."}


def test_with_every_event_lost_the_interval_doubles_to_the_maximum_and_stays():
    tracking, waits = first_tracking(60, 900), []
    tracking = next_tracking(tracking, {"source": "launch"})
    for _ in range(8):
        waits.append(tracking["wait_seconds"])
        tracking = next_tracking(tracking, TIMEOUT)
    assert waits == [60, 120, 240, 480, 900, 900, 900, 900]


def test_an_event_keeps_the_interval_and_is_counted():
    tracking = next_tracking(first_tracking(60, 900) | {"wait_seconds": 480}, {"source": "event", "status": "InProgress"})
    assert tracking == {"wait_seconds": 480, "max_seconds": 900, "wakes": 1}


@pytest.mark.parametrize("wake", [None, "text", [], {"Error": "DynamoDb.InternalServerErrorException"}, {"source": "other"}])
def test_anything_but_an_event_or_the_launch_counts_as_no_event(wake):
    assert next_tracking(first_tracking(60, 900), wake)["wait_seconds"] == 120


def test_a_maximum_below_the_minimum_still_bounds_every_wait():
    assert next_tracking(first_tracking(60, 30), {"source": "launch"})["wait_seconds"] == 30


def test_ended_statuses_and_json_safe():
    assert [job_ended({"TrainingJobStatus": s}) for s in ("InProgress", "Stopping", "Completed", "Failed", "Stopped")] == [
        False, False, True, True, True]
    import datetime as dt
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert json_safe({"A": [when], "ResponseMetadata": {}}) == {"A": ["2026-01-01T00:00:00+00:00"]}
