"""Fixtures for the emulator's own tests: one patched moto server per test module, on a free port."""

from __future__ import annotations

from typing import Any, Callable

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

from sagemaker_finetuning_emulator import Emulator  # noqa: E402

from .helpers import RAW  # noqa: E402


@pytest.fixture(scope="module")
def emulator() -> Any:
    emu = Emulator(port=0, job_seconds=0.8)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> Callable[..., Any]:
    def make(service: str, raw: bool = False) -> Any:
        kwargs = emulator.client_kwargs()
        if raw:
            kwargs["config"] = RAW
        return boto3.client(service, **kwargs)

    return make

