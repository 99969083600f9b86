"""The keyword options every ``metric_*`` method of the library takes: the same as CDK's own
(``aws_cloudwatch.MetricOptions``, e.g. ``StateMachine.metric_failed`` / ``Function.metric_errors``)."""

from __future__ import annotations

from typing import Mapping, TypedDict

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch


class MetricOptions(TypedDict, total=False):
    """``period`` (default 5 minutes), ``statistic`` (default per metric), ``label`` ... as in CDK."""

    account: str
    color: str
    dimensions_map: Mapping[str, str]
    id: str
    label: str
    period: Duration
    region: str
    stack_account: str
    stack_region: str
    statistic: str
    unit: cloudwatch.Unit
    visible: bool
