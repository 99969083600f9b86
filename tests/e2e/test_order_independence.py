"""The e2e harness does not depend on test order or on what ran before it in the same process.

moto keeps its backends per process, so a second deploy used to find the first stack
(``AlreadyExistsException``) when pytest tore the package fixture down between two e2e modules
(other modules in between, as ``--dist loadfile`` or a different order produce). This runs such an
order in one fresh pytest process: e2e module, unit module, another e2e module, the first again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_e2e_modules_interleaved_with_other_tests_in_one_process():
    order = [
        "tests/e2e/test_cli_e2e.py::test_bad_input_is_one_line_and_starts_nothing",
        "tests/constructs/test_judges.py",
        "tests/e2e/test_workflow_e2e.py::test_happy_path[SFT-payload0]",
        "tests/emulator/test_server.py::test_only_one_emulator_per_process",
        "tests/e2e/test_cli_e2e.py::test_start_watch_status_list",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-o", "addopts=", *order],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "error" not in summary and "failed" not in summary, summary
