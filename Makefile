# Two commands matter: `make demo` (the product end to end, locally) and `make test` (everything CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.12 is the Lambda runtime; use it for the venv too. pyenv installs it on these machines.
PY312 ?= $(shell for p in $$(ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -V -r) $$(command -v python3.12); do "$$p" -c '' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
# The SAM CLI pins its own boto3/pydantic/cfn-lint, so it lives in its own tool environment.
SAM_VERSION := 1.170.0
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam

.PHONY: help venv tools lint typecheck unit test demo bench clean engine lambda-image sam-build local-api

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
	$(VENV)/bin/mypy shared rotator vendor local clients bench tests keyguard_cli

unit: venv
	$(VENV)/bin/pytest -m "not sam"

# The SAM tests (tests/sam) need a Docker engine and the offline Lambda base image; a missing
# one fails them, so `make test` provides both first.
test: venv tools lint typecheck lambda-image
	$(VENV)/bin/pytest

# --- SAM (offline): see local/lambda-image/build.sh and docs/design.md ------------------------
# A Docker engine: as root, installs docker.io and starts dockerd when none answers.
engine:
	local/lambda-image/engine.sh

# public.ecr.aws/lambda/python:3.12-x86_64, built from Debian packages, pyenv's CPython and PyPI.
lambda-image: engine
	local/lambda-image/build.sh

# `sam build` offline: the makefile builds pip-install the layer with the venv's Python 3.12.
sam-build: venv tools
	SAM_CLI_TELEMETRY=0 PYTHON="$(abspath $(PY))" $(SAM) build

# The product behind the real `sam local start-api` (local Secrets Manager + Momento), for curl.
local-api: venv tools lambda-image sam-build
	$(PY) -m local.sam_local

clean:
	rm -rf $(VENV) .tools .aws-sam .mypy_cache .ruff_cache .pytest_cache

demo: venv
	$(PY) -m local.demo

# Every benchmark (comparative ones three rounds) into bench/results.md + bench/results-latency.png.
# The SAM timings need the engine and the Lambda image, as `make test` does.
bench: venv tools lambda-image
	$(PY) bench/run_all.py
