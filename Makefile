# posenc: two commands for a newcomer, each doing its own set-up on first use.
#   make quickstart   pre-train + fine-tune + report: the embedded default comparison (offline)
#   make test         the test suite
# The virtual environment lives in .venv; delete it to start over.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A CPU build of torch keeps the set-up small; override e.g. TORCH_SPEC="torch" for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
# setuptools always notes that an editable install with a package_dir mapping (tasks/ → posenc.tasks)
# goes through an import finder; that note is information, not a problem, so it is not shown.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation:UserWarning"
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1

.PHONY: setup test quickstart report-screenshot clean-venv

setup: $(VENV)/.posenc-installed

$(VENV)/.posenc-installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(QUIET_EDITABLE) $(PY) -m pip install -q -e ".[dev]"
	touch $@

# Test files run on TEST_WORKERS processes (pytest-xdist), each file on one worker so its
# module fixtures (tiny trained runs) are built once; the tests themselves run single-threaded.
TEST_WORKERS ?= 2

test: setup
	$(OFFLINE) $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=15 tests

quickstart: setup
	$(OFFLINE) $(VENV)/bin/posenc sweep configs/quickstart.yaml

# What a reader sees: the demo sweep's HTML report rendered in headless Chromium (needs chromium;
# not part of CI). Another report: python docs/report_screenshot.py REPORT_DIR
report-screenshot: setup
	$(PY) tests/_report_runs.py runs/report-demo
	$(OFFLINE) $(PY) docs/report_screenshot.py --runs runs/report-demo --out runs/report-demo/report

clean-venv:
	rm -rf $(VENV)
