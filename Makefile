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

.PHONY: help venv tools lint typecheck unit test demo bench clean engine lambda-image sam-build local-api \
	conformance-node browser-deps js-deps web-build js-test web

help:
	@echo "make demo   - run the product locally end to end (local Secrets Manager + Momento, rotate, vend, use)"
	@echo "make test   - install everything, then ruff, mypy and the whole pytest suite (what CI runs)"
	@echo "make web    - the example chat room (browser) against the whole local stack"

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

unit: venv conformance-node browser-deps web-build
	$(VENV)/bin/pytest -m "not sam"

# The SAM tests (tests/sam) need a Docker engine and the offline Lambda base image; a missing
# one fails them, so `make test` provides both first. The browser tests (tests/browser) need
# Debian's chromium and the built example page.
test: venv tools lint typecheck lambda-image conformance-node browser-deps web-build js-test
	$(VENV)/bin/pytest

# --- browser (see docs/browser.md) ------------------------------------------------------------
CHROMIUM ?= /usr/bin/chromium
JS_DIR := clients/js
WEB_DIR := clients/web-example

# Debian's chromium (Playwright drives the system binary; never `playwright install`), and Node
# for the JS packages. As root, apt-get installs what is missing.
browser-deps:
	@missing=""; test -x "$(CHROMIUM)" || missing="chromium"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing:$$missing (as root: apt-get install -y$$missing)"; exit 1; fi; \
		echo "apt-get install -y$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(JS_DIR)/node_modules/.stamp: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_DIR)/node_modules/.stamp: $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

js-deps: browser-deps $(JS_DIR)/node_modules/.stamp $(WEB_DIR)/node_modules/.stamp

# The page bundles the JS client from its dist/ (a file: dependency), so build that first.
web-build: js-deps
	cd $(JS_DIR) && npm run --silent build
	cd $(WEB_DIR) && npm run --silent build

js-test: js-deps
	cd $(JS_DIR) && npm run --silent typecheck && npm test --silent

web: venv web-build
	$(PY) -m local.web

# Momento's Node.js SDK for tests/conformance (npm ci of the pinned lock; Node.js from apt, as root, when missing).
CONFORMANCE_NODE := tests/conformance/node
$(CONFORMANCE_NODE)/node_modules/.package-lock.json: $(CONFORMANCE_NODE)/package-lock.json
	@command -v npm >/dev/null || { test "$$(id -u)" = 0 || { echo "npm missing: apt-get install nodejs npm (as root)"; exit 1; }; \
		apt-get update -qq && apt-get install -y -qq nodejs npm; }
	cd $(CONFORMANCE_NODE) && npm ci --no-audit --no-fund

conformance-node: $(CONFORMANCE_NODE)/node_modules/.package-lock.json

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
	rm -rf $(JS_DIR)/node_modules $(JS_DIR)/dist $(WEB_DIR)/node_modules $(WEB_DIR)/dist

demo: venv
	$(PY) -m local.demo

# Every benchmark (comparative ones three rounds) into bench/results.md + bench/results-latency.png.
# The SAM timings need the engine and the Lambda image, as `make test` does.
bench: venv tools lambda-image
	$(PY) bench/run_all.py
