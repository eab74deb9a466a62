# Neurobot: `make run` to start everything, `make test` to run the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MODEL := models/neurobot.tar.gz
TRAINING_DATA := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) addons/policies.py addons/routing.py
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.DEFAULT_GOAL := help
.PHONY: help install index model widget browser-deps run shell test lint typecheck unit \
        validate stories server-test browser-test evaluate live-eval dense-experiment clean \
        nginx-deps cluster load constraints webchat

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

# constraints.txt pins every package (the versions of a working install); `make constraints`
# writes it again after a change of the dependencies in pyproject.toml. uv (pinned there
# too) installs them in about 40 s where pip takes about 2.5 minutes; `make install
# INSTALLER=pip` installs with pip alone (the same pins).
INSTALLER ?= uv
$(VENV)/.installed: pyproject.toml constraints.txt
	@python=$$(scripts/find-python.sh) || exit 1; \
	  if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$python"; $$python -m venv $(VENV); fi
	@echo "installing the project and its dependencies with $(INSTALLER) ..."
ifeq ($(INSTALLER),pip)
	$(PY) -m pip install --progress-bar on -c constraints.txt --upgrade pip wheel setuptools
	$(PY) -m pip install --progress-bar on -c constraints.txt -e '.[dev]'
else
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(BIN)/uv pip install --python $(PY) -c constraints.txt -e '.[dev]'
endif
	$(PY) -m bot.search.embedding fetch-models
	@touch $@

install: $(VENV)/.installed ## Create .venv and install everything (first use only)

LOCK_VENV := .venv-lock

constraints: ## Pin the newest versions pyproject.toml allows in constraints.txt (a fresh venv)
	@python=$$(scripts/find-python.sh) || exit 1; \
	  rm -rf $(LOCK_VENV) && $$python -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --upgrade pip wheel setuptools uv
	$(LOCK_VENV)/bin/python -m pip install -e '.[dev]'
	{ echo "# Every package of a working .venv, pinned: make install uses it (pip install -c)."; \
	  echo "# Written by make constraints from pyproject.toml; do not edit by hand."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable | grep -vi '^neurobot=='; \
	} > constraints.txt
	rm -rf $(LOCK_VENV)

index: install ## Build the archive index from NEUROBOT_ARCHIVE when it changed
	$(PY) -m bot.search.embedding fetch-models
	$(BIN)/bot archive build --if-changed

$(MODEL): $(TRAINING_DATA) | $(VENV)/.installed
	@echo "training the model (config.yml, domain.yml or data/ changed) ..."
	$(BIN)/rasa train --fixed-model-name neurobot --out models
	@touch $@

model: install $(MODEL) ## Train the model when config.yml, domain.yml or data/ changed

widget/node_modules/.package-lock.json: widget/package-lock.json
	@echo "installing the web widget's socket.io client from npm ..."
	cd widget && npm ci --omit=dev --no-audit --no-fund
	@touch $@

widget: widget/node_modules/.package-lock.json ## Install the web widget's JavaScript (npm ci)

# the browser tests also drive the stock rasa-webchat client (a development dependency)
widget/node_modules/rasa-webchat/package.json: widget/package-lock.json
	@echo "installing rasa-webchat for the browser tests from npm ..."
	cd widget && npm ci --no-audit --no-fund
	@touch $@ widget/node_modules/.package-lock.json

webchat: widget/node_modules/rasa-webchat/package.json

browser-deps: ## Install Debian's Chromium and ChromeDriver for the browser tests, if missing
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
	  echo "chromium and chromedriver are installed"; \
	else \
	  echo "installing chromium and chromium-driver (apt) ..."; \
	  apt-get update && apt-get install -y chromium chromium-driver; \
	fi

run: install index model widget ## Start the action server and the Rasa server (Ctrl-C stops both)
	$(PY) -m bot.serving.launcher

nginx-deps: ## Install Debian's nginx for the cluster profile, if missing
	@if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then \
	  echo "nginx is installed"; \
	else \
	  echo "installing nginx (apt) ..."; \
	  apt-get update && apt-get install -y nginx; \
	fi

cluster: install index model widget nginx-deps ## 2 Rasa + 2 action servers, PostgreSQL, Redis, nginx on :8080
	$(PY) -m bot.serving.cluster

LOAD_ARGS ?= --profiles run,cluster --saturate

load: install index model widget nginx-deps ## Load run against make run and make cluster, side by side
	$(PY) -m bot.evaluation.load $(LOAD_ARGS)

shell: install index model ## Hold a test conversation in the terminal (rasa shell)
	$(PY) -m bot.serving.launcher --shell

lint: install ## ruff lint and format check
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .

typecheck: install ## mypy
	$(BIN)/mypy

unit: install ## pytest without the server tests
	$(BIN)/pytest -m "not server and not browser" -q

validate: install ## rasa data validate (fails on warnings, see scripts/validate.sh)
	scripts/validate.sh

stories: install model ## Conversation tests through the trained model
	$(BIN)/rasa test core --stories tests/test_stories.yml --model $(MODEL) \
	  --out results/stories --fail-on-prediction-errors

# the server tests wait for servers to start more than they compute: two pytest processes
# (pytest-xdist), each taking whole files, so a module's servers are started once
SERVER_TEST_WORKERS ?= 2
server-test: install index model widget nginx-deps ## Real servers over HTTP: REST and every messaging webhook
	$(BIN)/pytest -m "server" -q -n $(SERVER_TEST_WORKERS) --dist loadfile

browser-test: install index model widget webchat browser-deps ## The web widget in headless Chromium
	$(BIN)/pytest -m "browser" -q

test: install index model widget webchat lint typecheck unit validate stories server-test browser-test ## Everything CI runs

evaluate: install model ## NLU intent F1 (cross-validation) and story accuracy, into results/
	$(BIN)/rasa test nlu --nlu data --cross-validation --folds 3 --out results/nlu
	$(BIN)/rasa test core --stories tests/test_stories.yml --model $(MODEL) --out results/stories

LIVE_URL ?= http://127.0.0.1:5005
LIVE = $(BIN)/bot eval live --url $(LIVE_URL) --workers 1
# The public data sets (MedQuAD, K-QA, RQE) the measurements read; not in this repository:
# `make live-eval SHARED=DIR`, with DIR/data/kqa, DIR/data/rqe and DIR/data/medquad.
SHARED ?= ../shared
define need
@test -f $(1) || { echo "make $@ needs $(1) (set SHARED=DIR, see the Makefile)" >&2; exit 2; }
endef

live-eval: install ## Real text through the running bot (start it with `make run` first)
	$(call need,$(SHARED)/data/kqa/questions_w_answers.jsonl)
	$(call need,$(SHARED)/data/rqe/RQE_Test_302_pairs_AMIA2016.xml)
	$(call need,$(SHARED)/data/rqe/RQE_Train_8588_AMIA2016.xml)
	$(LIVE) tests/data/triage.jsonl
	$(LIVE) tests/eval/two_turn_queries.jsonl
	$(LIVE) --expect answer,close-questions,no-match tests/eval/neuro_lay_queries.jsonl \
	  $(SHARED)/data/kqa/questions_w_answers.jsonl $(SHARED)/data/rqe/RQE_Test_302_pairs_AMIA2016.xml
	$(LIVE) --expect answer,close-questions,no-match --sample 300 $(SHARED)/data/rqe/RQE_Train_8588_AMIA2016.xml

DENSE_ARCHIVE ?= $(SHARED)/data/medquad/neuro.jsonl
DENSE_QUERIES ?= tests/eval/neuro_lay_queries.jsonl

dense-experiment: install ## Dense retrieval variants (model alone, fusion) next to the shipped search
	$(call need,$(DENSE_ARCHIVE))
	$(PY) scripts/dense_experiment.py --archive $(DENSE_ARCHIVE) --queries $(DENSE_QUERIES)

clean: ## Remove the model, the index and results (keeps .venv)
	rm -rf models results var .rasa
