# MAI e-services platform — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := contracts $(wildcard libs/*) $(wildcard services/*-svc) gateway analysis
PYPROJECTS := pyproject.toml $(foreach p,$(PACKAGES),$(wildcard $(p)/pyproject.toml))
STAMP := $(VENV)/.installed
# tests/browser checks every page with axe-core, pinned in tests/browser/package-lock.json.
AXE := tests/browser/node_modules/axe-core/axe.min.js

.PHONY: help prerequisites prerequisites-run prerequisites-test prerequisites-images venv run test test-unit test-integration test-images images lint format typecheck bench k8s-render k8s-validate generated infra-up infra-down topics clean

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(STAMP): $(PYPROJECTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet $(foreach p,$(PACKAGES),$(if $(wildcard $(p)/pyproject.toml),-e ./$(p))) --group dev
	touch $(STAMP)

venv: $(STAMP) ## Create .venv with every package (editable) and the dev tools

prerequisites: prerequisites-test ## Check what make run and make test need from outside the repository (as root: install it)

# docs/prerequisites.md: every Debian package named with what needs it; installed when run as root.
prerequisites-run prerequisites-test prerequisites-images: prerequisites-%:
	deploy/prerequisites.sh $*

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --ignore-scripts --no-audit --no-fund
	touch $(AXE)

run: prerequisites-run venv ## Start Kafka, PostgreSQL, the SMTP sink, every service and the gateway (Ctrl-C stops all)
	deploy/local/run.sh

test: prerequisites-test venv $(AXE) ## Unit and integration tests against a real Kafka broker, PostgreSQL and SMTP server
	@# Outage tests may stop and restart the broker or database only when they are our local ones.
	if [ -z "$${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then export MAI_ALLOW_BROKER_RESTART=1; fi; \
	if [ -z "$${DATABASE_URL:-}" ]; then export MAI_ALLOW_DATABASE_RESTART=1; fi; \
	deploy/local/with-infra.sh $(BIN)/pytest $(PYTEST_ARGS)

images: prerequisites-images ## Build every service's image with podman (deploy/images/services.conf; BASE_IMAGE, IMAGE_TAG)
	deploy/images/build.sh

test-images: venv images ## Run the images as the dev manifests do against Kafka and PostgreSQL: probes, metrics, events
	deploy/local/with-infra.sh $(BIN)/pytest deploy/images/tests $(PYTEST_ARGS)

test-unit: venv ## Unit and component tests: no broker, no database, no node, kustomize, podman or poppler
	$(BIN)/pytest -m "unit or component" $(PYTEST_ARGS)

test-integration: ## Integration tests only (real Kafka, PostgreSQL, SMTP, Chromium), set up as `make test` does
	$(MAKE) test PYTEST_ARGS='-m integration $(PYTEST_ARGS)'

lint: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv ## mypy over the packages' sources
	$(BIN)/mypy libs/*/src contracts/mai_contracts analysis/mai_analysis gateway/src services/*-svc/src

bench: venv ## Run every benchmark (prints tables; writes bench/results/)
	deploy/local/with-infra.sh $(BIN)/python -m bench.run_all

infra-up: ## Start the local Kafka broker and PostgreSQL server (writes var/infra.env)
	deploy/local/infra.sh up

infra-down: ## Stop them
	deploy/local/infra.sh down

topics: venv ## Create every declared topic, each service's broker user and its ACLs (as the administrator of var/infra.env)
	$(BIN)/mai-kafka provision --bootstrap-servers "$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}" --replication-factor 1

k8s-render: ## Render the Kubernetes overlays (dev, prod) into var/k8s/
	mkdir -p var/k8s
	deploy/k8s/render.sh dev > var/k8s/dev.yaml
	deploy/k8s/render.sh prod > var/k8s/prod.yaml

k8s-validate: venv ## Validate the rendered manifests offline (schemas, CRDs, policies)
	$(BIN)/pytest deploy/k8s/tests

generated: venv ## Regenerate what contracts/ and deploy/services.yaml declare (AsyncAPI, data dictionary, topics, Kafka users, Procfile, routes, policies)
	$(BIN)/python -m mai_contracts.asyncapi > contracts/asyncapi.yaml
	$(BIN)/mai-events dictionary > docs/data-dictionary.md
	$(BIN)/python deploy/k8s/generate_topics.py
	$(BIN)/python deploy/k8s/generate_kafka_users.py
	$(BIN)/mai-services write

clean: ## Remove the virtualenv and local state (var/)
	rm -rf $(VENV) var
