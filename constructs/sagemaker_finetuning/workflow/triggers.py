"""Triggers that start fine-tuning executions: a new dataset object (:class:`DatasetTrigger`, an
EventBridge rule on S3 ``Object Created``) or a schedule (:class:`ScheduleTrigger`, EventBridge
Scheduler) for periodic retraining.

Both start the state machine directly (no Lambda) with an execution input template that is checked
against ``execution_input.schema.json`` at synth, so a bad template fails ``cdk synth`` naming the
field instead of failing every triggered run in ``ValidateInput``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Optional, Sequence

from aws_cdk import Annotations, Names, Stack, TimeZone
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_stepfunctions as sfn

from constructs import Construct
from sagemaker_finetuning.core import schema_check
from sagemaker_finetuning.storage.bucket import FineTuningBucket
from sagemaker_finetuning.support import props

#: A value of the dataset field that satisfies the schema, standing in for the object's URI at synth.
PLACEHOLDER_URI = "s3://placeholder-bucket/placeholder/train.jsonl"
#: A training job name that satisfies the schema, standing in for the event-derived name at synth.
PLACEHOLDER_JOB_NAME = "trg00000000-17793124-05d4-b198-2fde-7ededc63b103"
#: The warning an imported bucket gets (its EventBridge notifications are not ours to switch on).
EVENT_BRIDGE_WARNING = "sagemaker-finetuning:bucketEventBridge"
_SUFFIX = r"[^*\\\x00-\x1f]{1,128}"


def dataset_fields() -> tuple[str, ...]:
    """The input fields that take a dataset URI (``training_dataset``, ``validation_dataset``): the
    ``*_dataset`` strings whose pattern accepts an ``s3://`` URI (not e.g. ``validate_dataset``)."""
    fields = schema_check.load_schema()["properties"].items()
    return tuple(sorted(name for name, spec in fields if name.endswith("_dataset") and spec.get("type") == "string"
                        and "pattern" in spec and re.search(spec["pattern"], PLACEHOLDER_URI)))


def check_input_template(prop: str, value: Any, filled: Mapping[str, str]) -> dict[str, Any]:
    """``value`` is an execution input once the trigger adds ``filled``: a JSON object that passes
    the execution-input schema. Values CDK resolves at deploy time (tokens) are not judged."""
    expected = 'a mapping: the execution input without the fields the trigger fills, e.g. {"technique": "SFT"}'
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise props.InvalidProp(prop, value, expected)
    template = dict(value)
    for name in filled:
        if name in template:
            raise props.InvalidProp(f"{prop}['{name}']", template[name], f"no value: the trigger sets {name} on every execution")
    try:
        json.dumps(template)
    except (TypeError, ValueError):
        raise props.InvalidProp(prop, value, "a JSON object (strings, numbers, booleans, lists, mappings)") from None
    found = [p for p in schema_check.problems({**template, **filled}) if not props.is_token(p.received)]
    if found:
        first, more = found[0], len(found) - 1
        extra = f" ({more} more: {'; '.join(str(p) for p in found[1:4])})" if more else ""
        raise props.InvalidProp(f"{prop}['{first.field}']", first.received, f"{first.expected}{extra}")
    return template


def _start_role(scope: Construct, service: str, state_machine: sfn.IStateMachine) -> iam.Role:
    """A role ``service`` assumes for this stack's account only, allowed to start ``state_machine`` only."""
    role = iam.Role(scope, "StartExecutionRole", assumed_by=iam.ServicePrincipal(service, conditions={
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account}}))
    state_machine.grant_start_execution(role)
    return role


def _escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


class DatasetTrigger(Construct):
    """Starts a fine-tuning execution when a new object lands under ``prefix`` of ``bucket``.

    An EventBridge rule matches S3 ``Object Created`` events of the bucket under the prefix (and
    ending in one of ``suffixes``) and starts ``state_machine`` through an input transformer with
    ``input`` plus the object's URI (``s3://<bucket>/<key>``) in ``dataset_field``; no Lambda runs.

    The bucket must send its events to EventBridge: a :class:`FineTuningBucket`'s bucket is switched
    on here; any other bucket (imported, or defined elsewhere in the app, which this library never
    modifies) gets a warning saying to enable it (``s3.Bucket(..., event_bridge_enabled=True)`` or
    ``aws s3api put-bucket-notification-configuration --notification-configuration '{"EventBridgeConfiguration": {}}'``).

    Idempotency: an EventBridge rule target cannot name the Step Functions execution (AWS::Events::Rule
    targets take no execution name; each delivery starts a new, uniquely named execution). With
    ``deduplicate=True`` the training job is named after the EventBridge event instead
    (``training_job_name: trg<8 hex of this construct>-<event id>``): a redelivered event (same event
    id) starts an execution that fails fast with ``TrainingJobNameInUse`` before any job is created,
    so it is never paid twice. A new upload of the same key is a new event and a new run.

    :param state_machine: the fine-tuning state machine (``ServerlessFineTuning.state_machine``).
    :param bucket: the bucket datasets land in.
    :param prefix: the key prefix to watch, e.g. ``datasets/nightly/`` (ends in ``/``).
    :param input: the execution input without ``dataset_field`` (and without ``training_job_name``
        when ``deduplicate``), checked against the execution-input schema at synth.
    :param dataset_field: the input field that gets the new object's URI: ``training_dataset`` or
        ``validation_dataset``. Default: ``training_dataset``.
    :param suffixes: only keys ending in one of these start a run; empty: every key under the
        prefix. Default: ``(".jsonl",)``.
    :param enabled: whether the rule is enabled. Default: True.
    :param deduplicate: name the training job after the EventBridge event (see above). Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine: sfn.IStateMachine,
        bucket: s3.IBucket,
        prefix: str,
        input: Mapping[str, Any],
        dataset_field: str = "training_dataset",
        suffixes: Sequence[str] = (".jsonl",),
        enabled: bool = True,
        deduplicate: bool = True,
    ) -> None:
        super().__init__(scope, id)
        props.interface("state_machine", state_machine, "sfn.IStateMachine")
        props.interface("bucket", bucket, "s3.IBucket")
        props.prefix("prefix", prefix)
        fields = dataset_fields()
        props.string("dataset_field", dataset_field, expected=f"one of {', '.join(fields)}")
        if dataset_field not in fields:
            raise props.InvalidProp("dataset_field", dataset_field, f"one of {', '.join(fields)}")
        suffix_list = props.sequence("suffixes", suffixes)
        for i, suffix in enumerate(suffix_list):
            props.string(f"suffixes[{i}]", suffix, pattern=_SUFFIX, expected="a key suffix such as '.jsonl' (1-128 characters, no '*' or '\\')")
        props.boolean("enabled", enabled)
        props.boolean("deduplicate", deduplicate)
        filled = {dataset_field: PLACEHOLDER_URI, **({"training_job_name": PLACEHOLDER_JOB_NAME} if deduplicate else {})}
        self.input_template = check_input_template("input", input, filled)
        self.state_machine, self.bucket, self.prefix, self.dataset_field = state_machine, bucket, prefix, dataset_field
        self.suffixes: tuple[str, ...] = tuple(suffix_list)
        self._event_bridge(bucket)
        self.role = _start_role(self, "events.amazonaws.com", state_machine)
        self.rule = events.Rule(
            self, "Rule",
            enabled=enabled,
            description=f"Starts a fine-tuning execution for each new object under {prefix}",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": self._key_filters()}},
            ),
        )
        self.rule.add_target(events_targets.SfnStateMachine(state_machine, input=self._target_input(deduplicate), role=self.role))

    def _key_filters(self) -> list[Any]:
        if not self.suffixes:
            return [{"prefix": self.prefix}]
        # prefix AND suffix is one wildcard pattern; several suffixes are alternatives (OR)
        return [{"wildcard": f"{_escape_wildcard(self.prefix)}*{_escape_wildcard(s)}"} for s in self.suffixes]

    def _target_input(self, deduplicate: bool) -> events.RuleTargetInput:
        uri = f"s3://{events.EventField.from_path('$.detail.bucket.name')}/{events.EventField.from_path('$.detail.object.key')}"
        added: dict[str, Any] = {self.dataset_field: uri}
        if deduplicate:
            added["training_job_name"] = f"{self.job_name_prefix}-{events.EventField.event_id}"
        return events.RuleTargetInput.from_object({**self.input_template, **added})

    @property
    def job_name_prefix(self) -> str:
        """``trg`` + 8 hex characters of this construct's path: two triggers matching one event name their jobs apart."""
        return "trg" + Names.unique_id(self)[-8:].lower()

    def _event_bridge(self, bucket: s3.IBucket) -> None:
        owner = bucket.node.scope
        if isinstance(owner, FineTuningBucket) and owner.bucket is bucket:
            owner.enable_event_bridge()
            return
        Annotations.of(self).add_warning_v2(
            EVENT_BRIDGE_WARNING,
            f"bucket {bucket.node.path} must send its events to Amazon EventBridge for this trigger to fire; "
            "this library does not modify a bucket it did not create: enable it with "
            "s3.Bucket(..., event_bridge_enabled=True) or `aws s3api put-bucket-notification-configuration "
            "--bucket <name> --notification-configuration '{\"EventBridgeConfiguration\": {}}'` "
            "(that call replaces the bucket's other notification settings: include them). If it already does, "
            f"acknowledge this warning: Annotations.of(trigger).acknowledge_warning('{EVENT_BRIDGE_WARNING}').",
        )


class ScheduleTrigger(Construct):
    """Starts a fine-tuning execution on a schedule (EventBridge Scheduler), for periodic retraining.

    ``ScheduleTrigger(stack, "Weekly", state_machine=ft.state_machine,
    schedule=scheduler.ScheduleExpression.cron(minute="0", hour="2", week_day="MON", time_zone=TimeZone.EUROPE_BERLIN),
    input={"technique": "SFT", "training_dataset": "s3://acme/datasets/latest/"})``

    The schedule's role may start ``state_machine`` only. Scheduler sets no execution name either
    (each firing is a new execution); a fixed ``training_job_name`` in ``input`` would make every
    run after the first fail with ``TrainingJobNameInUse``, so it is refused.

    :param state_machine: the fine-tuning state machine (``ServerlessFineTuning.state_machine``).
    :param schedule: when to run: ``scheduler.ScheduleExpression.rate/cron/at/expression``.
    :param input: the whole execution input, checked against the execution-input schema at synth.
    :param time_zone: the time zone of a cron or at expression. Default: the expression's own (UTC
        unless it was given one).
    :param enabled: whether the schedule is enabled. Default: True.
    :param description: the schedule's description. Default: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        state_machine: sfn.IStateMachine,
        schedule: scheduler.ScheduleExpression,
        input: Mapping[str, Any],
        time_zone: Optional[TimeZone] = None,
        enabled: bool = True,
        description: Optional[str] = None,
    ) -> None:
        super().__init__(scope, id)
        props.interface("state_machine", state_machine, "sfn.IStateMachine")
        props.instance("schedule", schedule, scheduler.ScheduleExpression,
                       "an aws_scheduler.ScheduleExpression (e.g. ScheduleExpression.rate(Duration.days(7)))")
        expression = self._with_time_zone(schedule, time_zone)
        template = check_input_template("input", input, {})
        if "training_job_name" in template and not props.is_token(template["training_job_name"]):
            raise props.InvalidProp("input['training_job_name']", template["training_job_name"],
                                    "no value: a fixed job name makes every scheduled run after the first fail (TrainingJobNameInUse)")
        props.boolean("enabled", enabled)
        props.string("description", description, optional=True, max_length=512, expected="a string of at most 512 characters")
        self.input_template, self.state_machine = template, state_machine
        self.role = _start_role(self, "scheduler.amazonaws.com", state_machine)
        self.schedule = scheduler.Schedule(
            self, "Schedule",
            schedule=expression,
            enabled=enabled,
            description=description,
            target=scheduler_targets.StepFunctionsStartExecution(
                state_machine, input=scheduler.ScheduleTargetInput.from_object(template), role=self.role),
        )

    @staticmethod
    def _with_time_zone(schedule: scheduler.ScheduleExpression, time_zone: Optional[TimeZone]) -> scheduler.ScheduleExpression:
        if time_zone is None:
            return schedule
        props.instance("time_zone", time_zone, TimeZone, "an aws_cdk.TimeZone (e.g. TimeZone.EUROPE_BERLIN)")
        if schedule.expression_string.startswith("rate("):
            raise props.InvalidProp("time_zone", time_zone, "no time zone with a rate() schedule (only cron() and at() have one)")
        current = schedule.time_zone
        if current is not None and current.timezone_name not in ("Etc/UTC", time_zone.timezone_name):  # UTC: CDK's default
            raise props.InvalidProp("time_zone", time_zone, f"the schedule's own time zone {current.timezone_name} (or none)")
        return scheduler.ScheduleExpression.expression(schedule.expression_string, time_zone)
