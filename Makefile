# Every target creates what it needs: a virtual environment with pinned Python packages
# (pyproject.toml + constraints.txt) and the pinned CDK CLI (package.json + package-lock.json).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# jsii prints an end-of-life banner on every synth under Node 20 (still supported by the pinned CDK CLI).
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
PYTEST_ARGS ?=

.PHONY: setup test demo synth bench lint clean integ-snapshot

setup: $(STAMP) $(NPM_STAMP)

$(STAMP): pyproject.toml emulator/pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]" -e ./emulator
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## make test: install everything pinned, then run the whole (offline) test suite.
test: setup
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

## make integ-snapshot: regenerate the snapshot of the CDK integration test (tests/integ/) offline: synth only,
## no deploy, no credentials. `make test` checks it (tests/integ/test_integ_snapshot.py); the real-account run
## (`npx integ-runner ... --force`) is in tests/integ/README.md.
integ-snapshot: setup
	rm -rf tests/integ/*.py.snapshot
	env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	  node_modules/.bin/integ-runner --directory tests/integ --language python --app "$(abspath $(PY)) {filePath}" \
	  --parallel-regions us-east-1 --update-on-failed --dry-run

## make demo: the main job, offline: deploy the app to the local emulator and run executions.
demo: setup
	$(PY) -m sagemaker_finetuning_emulator.demo

## make synth: synthesize the app with the pinned CDK CLI (offline, no credentials).
synth: setup
	npx --no-install cdk synth --no-notices -q

## make lint: ruff (style, import order, complexity) everywhere; mypy --strict on the core and the Lambda code.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider tests/test_code_health.py

## make bench: benchmarks that print ratios measured side by side in one run.
bench: setup
	$(PY) bench/reward_bench.py
	$(PY) bench/dataset_bench.py
	$(PY) bench/tracking_bench.py

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
