# One command runs the app, one runs the tests; each does its own set-up.
#   make run     set up, then serve the app on http://localhost:8501
#   make test    set up (Python packages, Debian's Chromium for browser tests), ruff, pytest
#   make bench   the speed benchmarks in bench/ (ratios against a baseline run alongside)
#   make figures the README's pictures of the demo set (assets/readme-*.png)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_DEMO := ../shared/datasets/deepface-testset
# The demo photos: FACEDEMO_DEMO_DATA if set, else the shared folder beside this checkout;
# without either, the app downloads them on first use.
export FACEDEMO_DEMO_DATA ?= $(if $(wildcard $(SHARED_DEMO)/identities.csv),$(abspath $(SHARED_DEMO)),)
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL ?= 2
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup browser run test lint bench figures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: setup
	$(BIN)/streamlit run app.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup browser lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/bench_verify.py
	$(BIN)/python bench/bench_explorer.py
	$(BIN)/python bench/bench_slider.py
	$(BIN)/python bench/bench_pages_browser.py
	$(BIN)/python bench/bench_lfw_study.py
	$(BIN)/python bench/bench_identify.py
	$(BIN)/python bench/bench_models.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_live.py
	$(BIN)/python bench/bench_embed.py

# The README's pictures of the demo set, drawn by Chromium (no kaleido needed).
figures: setup browser
	$(BIN)/python bench/readme_figures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
