# The only commands a person needs. Everything else is installed by these targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.9.30
TOOLS := .tools
# Use uv from PATH when present; otherwise install the pinned one from PyPI into .tools/.
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/bin/uv)
export UV_NO_PROGRESS := 1

PACKAGES := api/src components/src syncer/src node-agent/src

.PHONY: help sync lint format test unit schema testbin cluster-up cluster-down demo demo-down clean

help:
	@echo "make test    lint (ruff, mypy --strict) and the whole test suite"
	@echo "make demo    pulumi up of the quickstart (Pulumi.yaml) onto the local cluster, or TENANTRY_KUBECONFIG's"
	@echo "make lint    ruff and mypy --strict on every package and the tests"
	@echo "make schema  regenerate provider/schema.json from the components"
	@echo "make format  apply ruff's formatting and safe fixes"
	@echo "make testbin build the pinned Kubernetes, etcd, kwok, kine and Pulumi binaries (engine, Python"
	@echo "             language host, kubernetes provider) into .testbin/; install the node tier's"
	@echo "             Debian packages (containerd, runc) and build gVisor and the kubelet"
	@echo "make cluster-up / cluster-down   a local cluster (etcd, apiserver, kwok nodes) on 127.0.0.1"

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml
	$(UV) sync --all-packages --frozen
	@touch $@

sync: .venv/.synced

lint: sync
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy $(PACKAGES) tests benchmarks __main__.py

format: sync
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

unit: sync
	$(UV) run --frozen pytest tests/unit

test: lint testbin
	$(UV) run --frozen pytest

# The Python language host in .testbin/ runs in the workspace virtualenv: sync first.
testbin: sync
	bash hack/testbin/build.sh
	bash hack/node/install.sh
	bash hack/node/build-gvisor.sh
	bash hack/node/build-kubelet.sh

cluster-up: sync testbin
	$(UV) run --frozen python -m tests.support.localcluster up

cluster-down: sync
	$(UV) run --frozen python -m tests.support.localcluster down

demo: sync testbin
	$(UV) run --frozen python -m tests.support.demo

demo-down: sync
	$(UV) run --frozen python -m tests.support.demo down

schema: sync
	$(UV) run --frozen python -m tenantry.provider schema > provider/schema.json

clean:
	rm -rf .venv $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
