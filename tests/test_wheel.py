"""The wheel ships lambda_src and templates, and a user's own app synthesizes from it.

The wheel is built offline (``--no-isolation``) and installed with ``--no-deps`` into a fresh
virtual environment that sees the third-party packages of the test environment through a path
entry, but not this repository (no editable finder, and the app runs from a temporary directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

OTHER_APP = '''
import aws_cdk as cdk
import sagemaker_finetuning
from sagemaker_finetuning import ModelPackageGroupSource, ServerlessFineTuning

app = cdk.App()
stack = cdk.Stack(app, "TeamFineTuning")
ft = ServerlessFineTuning(stack, "FT", model_package_group=ModelPackageGroupSource.new_group("team-models-v1"))
app.synth()
print(sagemaker_finetuning.__file__)
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("*.whl")
    return whl


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "sagemaker_finetuning/__init__.py",
        "sagemaker_finetuning/pattern.py",
        "sagemaker_finetuning/lambda_src/workflow/handler.py",
        "sagemaker_finetuning/core/planner.py",
        "sagemaker_finetuning/core/execution_input.schema.json",
        "sagemaker_finetuning/lambda_src/hub_registration/handler.py",
        "sagemaker_finetuning/lambda_src/reward/__init__.py",
        "sagemaker_finetuning/templates/__init__.py",
        "sagemaker_finetuning/templates/samples/sft.jsonl",
        "sagemaker_finetuning/storage/bucket.py",
        "sagemaker_finetuning/workflow/construct.py",
        "sagemaker_finetuning/tools/datasets/__init__.py",
        "sagemaker_finetuning/cli/app.py",
    ):
        assert required in names, required
    # Every package of the source tree is in the wheel (pyproject lists them one by one).
    roots = {ROOT / "constructs" / "sagemaker_finetuning": "sagemaker_finetuning",
             ROOT / "lambda_src": "sagemaker_finetuning/lambda_src", ROOT / "templates": "sagemaker_finetuning/templates"}
    for src, dest in roots.items():
        for init in src.rglob("__init__.py"):
            packaged = f"{dest}/{init.relative_to(src).as_posix()}"
            assert packaged in names, f"{init.relative_to(ROOT)} is not packaged (add it to pyproject.toml)"
    # The wheel a user installs ships the library only: no emulator, demo, tests or repo folders.
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"sagemaker_finetuning", "sagemaker_finetuning_constructs-0.1.0.dist-info"}, top
    assert not any("emulator" in n or "/local/" in n or n.endswith("demo.py") for n in names), sorted(names)
    sources = [zipfile.ZipFile(wheel).read(n).decode() for n in names if n.endswith(".py")]
    assert not any(("import moto" in s or "from moto" in s) for s in sources), "emulator code (moto) in the wheel"


def test_other_app_synthesizes_from_installed_wheel(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # Third-party packages come from the test environment; this repository does not.
    Path(site, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", site, str(wheel)],
                   check=True, capture_output=True, text=True)
    app_dir = tmp_path / "team-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(OTHER_APP)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["CDK_OUTDIR"] = str(app_dir / "cdk.out")
    run = subprocess.run([str(python), "app.py"], cwd=app_dir, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    imported_from = run.stdout.strip().splitlines()[-1]
    assert imported_from.startswith(site), imported_from
    template = json.loads((app_dir / "cdk.out" / "TeamFineTuning.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert {"AWS::StepFunctions::StateMachine", "AWS::SageMaker::ModelPackageGroup", "AWS::S3::Bucket",
            "Custom::SageMakerHubEvaluator"} <= types
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::ModelPackageGroup"]
    assert groups[0]["Properties"]["ModelPackageGroupName"] == "team-models-v1"
    # The Lambda asset staged from the installed package contains the handlers.
    assets = list((app_dir / "cdk.out").glob("asset.*/lambda_src/workflow/handler.py"))
    assert assets, "the workflow handler is not in the Lambda asset"
    assert (assets[0].parents[2] / "sagemaker_finetuning" / "core" / "planner.py").is_file(), "the core is not in the Lambda asset"
