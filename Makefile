# churn_pipeline: every target builds what it needs first, so a fresh clone only
# needs Python 3.11 and make.
SHELL := /bin/bash
# Python 3.11 is required; fall back to python3 where it is not on PATH by that name.
# The interpreter itself, not a pyenv shim: uv compares paths, and a shim path
# would make every `uv sync` recreate .venv.
PYTHON ?= $(shell $$(command -v python3.11 || command -v python3) -c 'import sys; print(sys.executable)')
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
UI_PORT ?= 5000
TRACKING_URI ?= sqlite:///$(CURDIR)/mlflow.db
MODEL_URI ?= models:/churn-model@champion

export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)

CHROMIUM ?= /usr/bin/chromium
# Root installs Debian packages directly; anyone else through sudo.
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help install install-dev browser redis loadgen data run score test lint format serve ui viz bento bench bench-features bench-serving bench-serving-ab bench-scale clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)  ## Build .venv from uv.lock (runtime dependencies)
	$(UV) sync --frozen --inexact

install-dev: $(UV)  ## Build .venv from uv.lock with the dev extras
	$(UV) sync --frozen --extra dev

REDIS_SERVER ?= /usr/bin/redis-server

redis:  ## Install Debian's redis-server (the Redis online-store tests start one)
	@if [ -x "$(REDIS_SERVER)" ]; then echo "redis-server: $(REDIS_SERVER)"; else \
		echo "Installing Debian's redis-server for the online-store tests"; \
		$(APT) install -y --no-install-recommends redis-server \
		|| { $(APT) update && $(APT) install -y --no-install-recommends redis-server; }; \
	fi

browser:  ## Install Debian's headless Chromium (the report test renders in it)
	@if [ -x "$(CHROMIUM)" ]; then echo "Chromium: $(CHROMIUM)"; else \
		echo "Installing Debian's chromium for the report rendering test"; \
		$(APT) install -y --no-install-recommends chromium \
		|| { $(APT) update && $(APT) install -y --no-install-recommends chromium; }; \
	fi

HEY ?= /usr/bin/hey

loadgen:  ## Install Debian's hey (the serving benchmark's load generator; its tests run it)
	@if [ -x "$(HEY)" ]; then echo "hey: $(HEY)"; else \
		echo "Installing Debian's hey for the serving benchmark"; \
		$(APT) install -y --no-install-recommends hey \
		|| { $(APT) update && $(APT) install -y --no-install-recommends hey; }; \
	fi

data: install  ## Generate the demo data if data/01_raw holds no table
	@if [ -z "$$(find data/01_raw -name '*.parquet' -print -quit)" ]; then \
		echo "data/01_raw is empty: generating the demo SaaS business"; \
		$(BIN)/kedro run --pipelines demo_data; \
	else echo "data/01_raw already has tables: keeping them"; fi

run: data  ## Validate, build features, train, evaluate, register, explain, score, fill the online store
	$(BIN)/kedro run

score: install  ## Daily job: score every active account with the champion, refresh the online store
	$(BIN)/kedro run --pipelines daily_scoring

test: install-dev browser redis loadgen  ## Lint and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: install-dev  ## Lint and check formatting
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev  ## Fix lint and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

serve: install  ## Serve the champion model on 127.0.0.1:$(PORT)
	MLFLOW_TRACKING_URI=$(TRACKING_URI) CHURN_MODEL_URI=$(MODEL_URI) \
		$(BIN)/bentoml serve serving.service:ChurnService --host 127.0.0.1 --port $(PORT)

ui: install  ## Open the MLflow UI on the project's tracking store
	$(BIN)/mlflow ui --backend-store-uri $(TRACKING_URI) --host 127.0.0.1 --port $(UI_PORT) --workers 1

bento: install  ## Import the champion into BentoML's store and build a self-contained Bento
	rm -rf build/bento && mkdir -p build/bento
	$(UV) build --wheel --out-dir build/bento/wheels
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project --no-header \
		--output-file build/bento/requirements.txt > /dev/null
	MLFLOW_TRACKING_URI=$(TRACKING_URI) $(BIN)/python -m churn_pipeline.model_registry.bento_store \
		--model-uri $(MODEL_URI)
	PATH=$(CURDIR)/$(TOOLS)/bin:$$PATH $(BIN)/bentoml build

viz: install-dev  ## Show the pipelines in kedro-viz on 127.0.0.1:4141
	$(BIN)/kedro viz run --host 127.0.0.1 --port 4141 --no-browser

bench: install-dev loadgen redis  ## Every benchmark: serving A/B, serving, feature build, OpenMP spin, whole run at scale (hours; BENCH_SCALE_SIZES), store reads (benchmarks/results; needs make run)
	MLFLOW_TRACKING_URI=$(TRACKING_URI) CHURN_MODEL_URI=$(MODEL_URI) $(BIN)/python -m benchmarks

bench-features: install-dev  ## Feature build of 1M demo accounts: wall time and peak RSS (benchmarks/results/features.json)
	$(BIN)/python -m benchmarks.bench_features

bench-serving: install-dev loadgen redis  ## Champion by id (SQLite, Redis) and full vector vs MLflow vs in-process, and a soak (benchmarks/results/serving.json; needs make run)
	MLFLOW_TRACKING_URI=$(TRACKING_URI) $(BIN)/python -m benchmarks.bench_serving --model-uri $(MODEL_URI)

# e.g. SCALE_ARGS="--sizes 10000,30000" for a quick check; the default runs
# 10k, 100k and 1M accounts (hours: the 1M run alone is most of it).
SCALE_ARGS ?=
bench-scale: install-dev  ## Whole kedro run at 10k, 100k, 1M demo accounts: wall per stage and node, peak RSS (SCALE_ARGS; benchmarks/results/scale.json)
	$(BIN)/python -m benchmarks.bench_scale $(SCALE_ARGS)

AB_ARGS ?=
bench-serving-ab: install-dev loadgen  ## Serving variants against the default, in turns (AB_ARGS, e.g. --variant; benchmarks/results/serving_ab.json; needs make run)
	MLFLOW_TRACKING_URI=$(TRACKING_URI) $(BIN)/python -m benchmarks.ab_serving --model-uri $(MODEL_URI) $(AB_ARGS)

clean:  ## Remove generated data, runs and environments
	find data -type f ! -name .gitkeep -delete
	rm -rf mlflow.db mlruns mlartifacts $(VENV) $(TOOLS)
