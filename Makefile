# Two commands matter: `make demo` (the product end to end, locally) and `make test` (everything CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 is the Lambda runtime; use it for the venv too. pyenv installs it on these machines.
PY312 ?= $(shell command -v python3.12 2>/dev/null || ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -n 1)
VENV := .venv
PY := $(VENV)/bin/python
# The SAM CLI pins its own boto3/pydantic/cfn-lint, so it lives in its own tool environment.
SAM_VERSION := 1.170.0
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam

.PHONY: help venv tools lint typecheck unit test demo bench clean

help:
	@echo "make demo   - run the product locally end to end (local Secrets Manager + Momento, rotate, vend, use)"
	@echo "make test   - install everything, then ruff, mypy and the whole pytest suite (what CI runs)"

$(VENV)/.stamp: pyproject.toml
	@test -n "$(PY312)" || { echo "Python 3.12 not found (pyenv install 3.12)"; exit 1; }
	$(PY312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.stamp

$(SAM_VENV)/.stamp:
	@test -n "$(PY312)" || { echo "Python 3.12 not found (pyenv install 3.12)"; exit 1; }
	$(PY312) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==$(SAM_VERSION)'
	touch $@

tools: $(SAM_VENV)/.stamp

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy shared rotator vendor local clients bench tests

unit: venv
	$(VENV)/bin/pytest -m "not sam"

test: venv tools lint typecheck
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .tools .aws-sam .mypy_cache .ruff_cache .pytest_cache
