# Neurobot: `make run` to start everything, `make test` to run the whole suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MODEL := models/neurobot.tar.gz
TRAINING_DATA := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) addons/triage.py
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.DEFAULT_GOAL := help
.PHONY: help install index model run shell test lint typecheck unit validate stories \
        server-test evaluate clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@python=$$(scripts/find-python.sh) || exit 1; \
	  if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$python"; $$python -m venv $(VENV); fi
	@echo "installing the project and its dependencies (Rasa takes about 3 minutes) ..."
	$(PY) -m pip install --progress-bar on --upgrade pip wheel setuptools
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## Create .venv and install everything (first use only)

index: install ## Build the archive index from NEUROBOT_ARCHIVE when it changed
	$(BIN)/bot archive build --if-changed

$(MODEL): $(TRAINING_DATA) | $(VENV)/.installed
	@echo "training the model (config.yml, domain.yml or data/ changed) ..."
	$(BIN)/rasa train --fixed-model-name neurobot --out models
	@touch $@

model: install $(MODEL) ## Train the model when config.yml, domain.yml or data/ changed

run: install index model ## Start the action server and the Rasa server (Ctrl-C stops both)
	$(PY) -m bot.launcher

shell: install index model ## Hold a test conversation in the terminal (rasa shell)
	$(PY) -m bot.launcher --shell

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy
	$(BIN)/mypy

unit: install ## pytest without the server tests
	$(BIN)/pytest -m "not server and not browser" -q

validate: install ## rasa data validate (fails on warnings, see scripts/validate.sh)
	scripts/validate.sh

stories: install model ## Conversation tests through the trained model
	$(BIN)/rasa test core --stories tests/test_stories.yml --model $(MODEL) \
	  --out results/stories --fail-on-prediction-errors

server-test: install index model ## Real action server and rasa run, over HTTP
	$(BIN)/pytest -m "server" -q

test: install index model lint typecheck unit validate stories server-test ## Everything CI runs

evaluate: install model ## NLU intent F1 (cross-validation) and story accuracy, into results/
	$(BIN)/rasa test nlu --nlu data --cross-validation --folds 3 --out results/nlu
	$(BIN)/rasa test core --stories tests/test_stories.yml --model $(MODEL) --out results/stories

clean: ## Remove the model, the index and results (keeps .venv)
	rm -rf models results var .rasa
