"""Start and stop the offline emulator: moto's ``ThreadedMotoServer`` on loopback, patched.

Usage in tests::

    from sagemaker_finetuning_emulator import Emulator

    with Emulator(port=0) as emu:              # 0 = pick a free port
        s3 = boto3.client("s3", endpoint_url=emu.endpoint_url, **emu.client_kwargs())
        emu.control.inject_fault("CreateTrainingJob")
        emu.reset()

From a shell: ``python -m sagemaker_finetuning_emulator serve --port 5000``.

One emulator per process: moto's backends, ``MOTO_PORT`` and the patches are process-wide.
Every start begins from empty backends and default simulation settings (moto keeps its state in
the process, so without this a second emulator would find the first one's stacks and jobs).
Clients should use ``http://localhost:<port>`` (the server binds 127.0.0.1 only).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sagemaker_finetuning_emulator import catalog
from sagemaker_finetuning_emulator.runtime import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, LOG, RUNTIME, SIMULATED, SimSettings

_running_lock = threading.Lock()
_running: "Emulator | None" = None


def seed_catalog(region: str, account_id: str = DEFAULT_ACCOUNT_ID) -> int:
    """Create ``jumpstart-cache-prod-<region>`` in the emulated S3 with the catalogue's recipe objects."""
    from moto.s3.models import s3_backends

    s3 = s3_backends[account_id]["aws"]
    bucket = catalog.RECIPE_BUCKET_TEMPLATE.format(region=region)
    if bucket not in s3.buckets:
        s3.create_bucket(bucket, region)
    objects = catalog.recipe_objects(region)
    for uri, body in objects.items():
        b, _, key = uri.partition("://")[2].partition("/")
        s3.put_object(b, key, body)
    return len(objects)


class Emulator:
    """The patched moto server, in a thread of this process."""

    def __init__(
        self,
        port: int = 0,
        region: str = DEFAULT_REGION,
        job_seconds: float | None = None,
        check_input_data: bool | None = None,
        verbose: bool = False,
    ):
        self._requested_port = int(port)
        self.region = region
        self.verbose = verbose
        self._server: Any = None
        self._settings = {
            k: v for k, v in (("job_seconds", job_seconds), ("check_input_data", check_input_data)) if v is not None
        }
        self._previous_env: dict[str, str | None] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "Emulator":
        global _running
        from sagemaker_finetuning_emulator.patches import activate, deactivate

        with _running_lock:
            if _running is not None:
                raise RuntimeError(f"an emulator is already running in this process on port {_running.port}")
            activate()
            try:
                self._start_server()
            except BaseException:
                deactivate()
                raise
            _running = self
        LOG.info("%s AWS emulator (moto) listening on %s", SIMULATED, self.endpoint_url)
        return self

    def _start_server(self) -> None:
        from moto.server import ThreadedMotoServer

        from sagemaker_finetuning_emulator import patch_sagemaker_jobs

        if not self.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            # moto's ASL evaluator logs every *handled* state error (Catch, IsPresent ...) at ERROR.
            logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(logging.CRITICAL)
        RUNTIME.region = self.region
        RUNTIME.settings = SimSettings()
        if self._settings:
            RUNTIME.settings.update(self._settings)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self._requested_port, verbose=self.verbose)
        self._server.start()
        port = self._server.get_host_and_port()[1]
        RUNTIME.port = port
        # The SFN parser's aws-sdk client and moto's own URLs read MOTO_PORT at call time.
        self._set_env("MOTO_PORT", str(port))
        RUNTIME.reset_hooks.append(self._seed)
        self.reset()  # fresh state: empty backends, no faults or simulated jobs, the catalogue seeded
        patch_sagemaker_jobs.CLOCK.ensure_running()

    def stop(self) -> None:
        global _running
        from sagemaker_finetuning_emulator import patch_events, patch_lambda, patch_sagemaker_jobs
        from sagemaker_finetuning_emulator.patches import deactivate

        with _running_lock:
            if self._server is None:
                return
            patch_sagemaker_jobs.CLOCK.stop()
            try:
                self._server.stop()
            finally:
                self._server = None
                patch_events.shutdown()
                patch_lambda.cleanup()
                if self._seed in RUNTIME.reset_hooks:
                    RUNTIME.reset_hooks.remove(self._seed)
                RUNTIME.port = None
                for key, value in self._previous_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                self._previous_env.clear()
                if _running is self:
                    _running = None
                deactivate()

    def reset(self) -> None:
        """Reset every moto backend and the emulator state (as ``POST /moto-api/reset``); re-seed."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- accessors -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if RUNTIME.port is None or self._server is None:
            raise RuntimeError("the emulator is not running")
        return RUNTIME.port

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def control(self) -> Any:
        from sagemaker_finetuning_emulator.control import EmulatorControl

        return EmulatorControl(self.endpoint_url)

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client(...)`` against this emulator."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }

    def client_env(self) -> dict[str, str]:
        """Environment variables for another process (CDK CLI, boto3, scripts) to use the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    # -- internals ---------------------------------------------------------------------------------
    def _seed(self) -> None:
        count = seed_catalog(self.region)
        LOG.debug("seeded %d public-hub recipe objects for %s", count, self.region)

    def _set_env(self, key: str, value: str) -> None:
        self._previous_env.setdefault(key, os.environ.get(key))
        os.environ[key] = value


def running() -> Emulator | None:
    """The emulator running in this process, if any."""
    return _running
