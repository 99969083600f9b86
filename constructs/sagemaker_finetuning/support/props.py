"""Construct prop checks: a wrong prop fails synth with ``prop: received <what>; expected <what>``.

Every construct of the library checks its props with these helpers before it defines anything, so
``bucket="acme-data"`` or ``max_runtime=3600`` end in a sentence naming the prop, never in an
``AttributeError`` deep inside CDK. Tokens (values resolved at deploy time) are never judged.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional, Sequence

from aws_cdk import Duration, RemovalPolicy, Size, SizeRoundingBehavior, Token


class InvalidProp(ValueError):
    """A construct prop has the wrong type or value (raised at synth time)."""

    def __init__(self, prop: str, received: Any, expected: str) -> None:
        self.prop, self.received, self.expected = prop, received, expected
        super().__init__(f"{prop}: received {describe(received)}; expected {expected}")


def describe(value: Any) -> str:
    """``'acme-data'`` -> ``str 'acme-data'``; an object -> its type name."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, Duration):
        return "an unresolved Duration" if value.is_unresolved() else f"Duration {value.to_human_string()}"
    if isinstance(value, Size):
        kib = value.to_kibibytes(rounding=SizeRoundingBehavior.NONE)
        return "an unresolved Size" if Token.is_unresolved(kib) else f"Size {int(kib) if kib == int(kib) else kib} KiB"
    if isinstance(value, (str, int, float)):
        text = repr(value)
        text = text if len(text) <= 120 else text[:117] + "..."
        return f"{type(value).__name__} {text}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"{type(value).__name__} of {len(value)}"
    if type(value).__repr__ is not object.__repr__ and type(value).__module__.startswith("sagemaker_finetuning"):
        return repr(value)  # the library's value classes: JudgeModel('...'), RewardContract('...')
    return f"a {type(value).__module__.split('.')[0]}.{type(value).__name__}"


def is_token(value: Any) -> bool:
    return isinstance(value, str) and Token.is_unresolved(value)


#: Attributes that identify an implementation of a CDK interface (jsii interfaces are not
#: runtime-checkable classes in Python, so the check is structural).
_INTERFACES = {
    "s3.IBucket": ("bucket_arn", "bucket_name", "grant_read"),
    "iam.IRole": ("role_arn", "grant_principal", "add_to_principal_policy"),
    "kms.IKey": ("key_arn", "grant_decrypt"),
    "sns.ITopic": ("topic_arn", "grant_publish"),
    "lambda.IFunction": ("function_arn", "grant_invoke"),
    "iam.IGrantable": ("grant_principal",),
    "sfn.IStateMachine": ("state_machine_arn", "grant_start_execution"),
}
_HINTS = {
    "s3.IBucket": "an s3.IBucket (for a bucket by name: s3.Bucket.from_bucket_name(scope, id, name))",
    "iam.IRole": "an iam.IRole (for a role by ARN: iam.Role.from_role_arn(scope, id, arn))",
    "kms.IKey": "a kms.IKey (for a key by ARN: kms.Key.from_key_arn(scope, id, arn))",
    "sns.ITopic": "an sns.ITopic (for a topic by ARN: sns.Topic.from_topic_arn(scope, id, arn))",
    "lambda.IFunction": "a lambda_.IFunction (for a function by ARN: lambda_.Function.from_function_arn(scope, id, arn))",
    "iam.IGrantable": "an iam.IGrantable (a role, user, function ...)",
    "sfn.IStateMachine": "an sfn.IStateMachine (for a state machine by ARN: sfn.StateMachine.from_state_machine_arn(scope, id, arn))",
}


def implements(value: Any, interface: str) -> bool:
    return value is not None and all(hasattr(value, attr) for attr in _INTERFACES[interface])


def interface(prop: str, value: Any, name: str, *, optional: bool = False) -> Any:
    """``value`` must implement the CDK interface ``name`` (``"s3.IBucket"`` ...)."""
    if value is None and optional:
        return value
    if not implements(value, name):
        raise InvalidProp(prop, value, _HINTS[name])
    return value


def interfaces(prop: str, values: Any, name: str) -> tuple[Any, ...]:
    """A sequence whose every item implements ``name``."""
    items = sequence(prop, values)
    for i, item in enumerate(items):
        interface(f"{prop}[{i}]", item, name)
    return items


def instance(prop: str, value: Any, cls: type | tuple[type, ...], expected: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return value
    if not isinstance(value, cls) or (cls in (int, float) and isinstance(value, bool)):
        raise InvalidProp(prop, value, expected)
    return value


def instances(prop: str, values: Any, cls: type, expected: str) -> tuple[Any, ...]:
    items = sequence(prop, values)
    for i, item in enumerate(items):
        instance(f"{prop}[{i}]", item, cls, expected)
    return items


def sequence(prop: str, values: Any) -> tuple[Any, ...]:
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, Iterable):
        raise InvalidProp(prop, values, "a list")
    return tuple(values)


_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def duration(prop: str, value: Any, *, optional: bool = False, unit: str = "seconds",
             low: float | None = None, high: float | None = None) -> Optional[Duration]:
    """A Duration of a whole number of ``unit`` (what the service takes), within ``low``..``high`` units."""
    if value is None and optional:
        return None
    if not isinstance(value, Duration):
        hint = f" (e.g. Duration.seconds({value}))" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise InvalidProp(prop, value, f"an aws_cdk.Duration{hint}")
    if value.is_unresolved():
        return value
    amount = value.to_seconds(integral=False) / _UNITS[unit]
    if amount != int(amount):
        raise InvalidProp(prop, value, f"a whole number of {unit} (e.g. Duration.{unit}({max(1, round(amount))}))")
    if (low is not None and amount < low) or (high is not None and amount > high):
        raise InvalidProp(prop, value, f"between {_amount(low, unit)} and {_amount(high, unit)}")
    return value


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "any length"
    return str(Duration.seconds(value * _UNITS[unit]).to_human_string())


def removal_policy(prop: str, value: Any) -> RemovalPolicy:
    return instance(prop, value, RemovalPolicy, "an aws_cdk.RemovalPolicy (RETAIN, DESTROY or SNAPSHOT)")


def boolean(prop: str, value: Any) -> bool:
    return instance(prop, value, bool, "True or False")


def size_bytes(prop: str, value: Any, *, low_mib: int, high_gib: int) -> int:
    """A Size of whole mebibytes between ``low_mib`` MiB and ``high_gib`` GiB, in bytes."""
    expected = f"an aws_cdk.Size of whole mebibytes between {low_mib} MiB and {high_gib} GiB (e.g. Size.gibibytes(5))"
    if not isinstance(value, Size) or Token.is_unresolved(value.to_kibibytes(rounding=SizeRoundingBehavior.NONE)):
        raise InvalidProp(prop, value, expected)
    try:
        mib = value.to_mebibytes(rounding=SizeRoundingBehavior.FAIL)
    except Exception as exc:  # jsii raises a plain error for a fraction of a MiB
        raise InvalidProp(prop, value, expected) from exc
    if not low_mib <= mib <= high_gib * 1024:
        raise InvalidProp(prop, value, expected)
    return int(mib) * 1024 * 1024


def integer(prop: str, value: Any, low: int, high: int) -> int:
    instance(prop, value, int, f"an integer between {low} and {high}")
    if not low <= value <= high:
        raise InvalidProp(prop, value, f"an integer between {low} and {high}")
    return value


def string(prop: str, value: Any, *, pattern: str | None = None, expected: str = "a string",
           optional: bool = False, max_length: int | None = None) -> Optional[str]:
    if value is None and optional:
        return None
    instance(prop, value, str, expected)
    if is_token(value):
        return value
    if max_length is not None and len(value) > max_length:
        raise InvalidProp(prop, value, expected)
    if pattern is not None and not re.fullmatch(pattern, value):
        raise InvalidProp(prop, value, expected)
    return value


def string_map(prop: str, value: Any, *, optional: bool = True) -> dict[str, str]:
    if value is None and optional:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidProp(prop, value, "a mapping of strings to strings")
    return dict(value)


#: S3's bucket naming rules (general purpose buckets).
BUCKET_NAME = r"(?!xn--|sthree-|amzn-s3-demo-)(?!.*(?:-s3alias|--ol-s3|--x-s3)$)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


def bucket_name(prop: str, value: Any, *, optional: bool = False) -> Optional[str]:
    return string(prop, value, pattern=BUCKET_NAME, optional=optional,
                  expected="an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)")


def prefix(prop: str, value: Any) -> str:
    """An S3 key prefix: ``datasets/`` style (no leading slash, one trailing slash)."""
    string(prop, value, pattern=r"[A-Za-z0-9!_.*'()\-][A-Za-z0-9!_.*'()\-/]{0,254}/",
           expected="an S3 key prefix such as 'datasets/' (no leading '/', ending in '/')")
    if "//" in value:
        raise InvalidProp(prop, value, "an S3 key prefix without empty segments ('//')")
    return value


def distinct_prefixes(props: Sequence[tuple[str, str]]) -> None:
    """No prefix may contain another (the role's read and write grants would overlap)."""
    for i, (name_a, a) in enumerate(props):
        for name_b, b in props[i + 1:]:
            if a.startswith(b) or b.startswith(a):
                raise InvalidProp(name_a, a, f"a prefix that neither contains nor lies under {name_b} {b!r}")
