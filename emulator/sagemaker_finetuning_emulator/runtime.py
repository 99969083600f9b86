"""Process-wide state of the running emulator: settings, fault injection, per-job overrides.

Everything here belongs to the emulator (not to a moto backend), so it survives a backend reset
except where :func:`on_reset` clears it. The control API (``control.py``) reads and writes it.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

LOG = logging.getLogger("sagemaker_finetuning_emulator")
# The emulator's own lines (SIMULATED Lambda runs, rule deliveries) come from background threads. Through
# logging's last-resort handler they went to whatever sys.stderr was at that moment: a test's captured output
# (click's CliRunner) when another test's emulator was still delivering. The real stderr, always.
_HANDLER = logging.StreamHandler(sys.__stderr__)
_HANDLER.setLevel(logging.WARNING)
_HANDLER.setFormatter(logging.Formatter("%(message)s"))
LOG.addHandler(_HANDLER)
LOG.propagate = False


def log_through_root() -> None:
    """``serve``: the emulator's lines go through the root logger the command configured (its level and format)."""
    LOG.removeHandler(_HANDLER)
    LOG.propagate = True

#: Prefix of every free-text field the emulator invents (FailureReason, StatusMessage, logs ...).
SIMULATED = "SIMULATED"

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        LOG.warning("ignoring %s=%r (not a number)", name, raw)
        return default


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class SimSettings:
    """How simulated SageMaker jobs behave. Changed at runtime through the control API."""

    #: Wall-clock seconds a simulated training job takes from InProgress/Starting to Completed.
    job_seconds: float = field(default_factory=lambda: _env_float("FINETUNE_SIM_JOB_SECONDS", 3.0))
    #: Multiplier applied to the simulation clock (2.0 = jobs progress twice as fast).
    speed: float = field(default_factory=lambda: _env_float("FINETUNE_SIM_SPEED", 1.0))
    #: Fail a job (as AWS does) when its S3 training channel has no objects in the emulated S3.
    check_input_data: bool = field(default_factory=lambda: _env_bool("FINETUNE_SIM_CHECK_INPUT_DATA", True))
    #: Steps per epoch reported in ProgressInfo.
    steps_per_epoch: int = 10
    #: Seconds between two ticks of the simulation clock thread.
    tick_seconds: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown simulation setting {key!r}")
            current = getattr(self, key)
            if isinstance(current, bool):
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            if key in ("job_seconds", "speed", "tick_seconds") and value <= 0:
                raise ValueError(f"{key} must be > 0")
            setattr(self, key, value)


@dataclass
class Fault:
    """Make the next ``count`` matching calls of ``operation`` fail with ``error_code``."""

    operation: str
    error_code: str = "ThrottlingException"
    message: str | None = None
    count: int = 1
    http_status: int = 400
    #: Only requests whose top-level parameters equal these values match (e.g. {"TrainingJobName": "x"}).
    match: dict[str, Any] = field(default_factory=dict)
    service: str = "sagemaker"
    #: Apply the request first, then answer the error: a response lost on the way back (the caller's
    #: retry then meets the effect of its own first attempt, e.g. ResourceInUse for its own job).
    after: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hits: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def default_message(self) -> str:
        if self.message:
            return f"{SIMULATED} fault: {self.message}"
        if self.error_code in ("ThrottlingException", "Throttling", "TooManyRequestsException"):
            return f"{SIMULATED} fault: Rate exceeded"
        return f"{SIMULATED} fault: injected {self.error_code} for {self.operation}"


@dataclass
class JobOverride:
    """Per-job control set through the control API (may be set before the job exists)."""

    outcome: str | None = None  # Completed | Failed
    failure_reason: str | None = None
    suppress_events: bool = False


class Runtime:
    """The single emulator runtime of this process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.port: int | None = None
        self.host = "localhost"
        self.region = DEFAULT_REGION
        self.settings = SimSettings()
        self.faults: list[Fault] = []
        self.job_overrides: dict[str, JobOverride] = {}
        self.lambda_cache_dir: str | None = None
        self.reset_hooks: list[Any] = []
        #: Counters, exposed by the control API status route.
        self.counters: dict[str, int] = {}

    # -- endpoint -----------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{self.host}:{self.port}"

    def bump(self, counter: str) -> None:
        with self.lock:
            self.counters[counter] = self.counters.get(counter, 0) + 1

    # -- faults -------------------------------------------------------------------------------
    def add_fault(self, fault: Fault) -> Fault:
        if fault.count < 1:
            raise ValueError("count must be >= 1")
        with self.lock:
            self.faults.append(fault)
        LOG.info("%s fault armed: %s x%d -> %s", SIMULATED, fault.operation, fault.count, fault.error_code)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, service: str, operation: str, params: Any) -> Fault | None:
        """Consume one matching fault, if any."""
        with self.lock:
            for fault in self.faults:
                if fault.service != service or fault.operation != operation:
                    continue
                if any(_param(params, k) != v for k, v in fault.match.items()):
                    continue
                fault.count -= 1
                fault.hits += 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    # -- jobs ---------------------------------------------------------------------------------
    def override(self, job_name: str) -> JobOverride:
        with self.lock:
            return self.job_overrides.setdefault(job_name, JobOverride())

    def peek_override(self, job_name: str) -> JobOverride | None:
        with self.lock:
            return self.job_overrides.get(job_name)

    # -- reset --------------------------------------------------------------------------------
    def on_reset(self) -> None:
        """Called after moto reset its backends: forget emulator state that referred to them."""
        with self.lock:
            self.faults.clear()
            self.job_overrides.clear()
        for hook in list(self.reset_hooks):
            try:
                hook()
            except Exception:  # pragma: no cover - defensive
                LOG.exception("emulator reset hook %r failed", hook)


def _param(params: Any, key: str) -> Any:
    try:
        return params.get(key)
    except AttributeError:
        return None


RUNTIME = Runtime()
