# `make repro` and `make test` are all a fresh clone needs: both create .venv on first use.
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# dvc.yaml runs `python -m pipeline.<stage>`: that python must be the venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: venv repro test bench compare sweep tune predict report gate check-committed clean

# Base revision for `make report` and `make gate`.
BASE ?= main
# Trials one `make tune` adds to the study in tune.db (rerun it to resume or extend the study).
TRIALS ?= 20

venv: $(STAMP)

$(STAMP): requirements.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# Reruns only the stages whose code, params or data changed; check-committed forces them all.
repro: $(STAMP)
	dvc repro

test: $(STAMP)
	$(PYTHON) -m lstm_forecast.numerics pytest

bench: $(STAMP)
	$(PYTHON) bench/speed.py --repro 1

compare: $(STAMP)
	$(PYTHON) -m ci.compare

sweep: $(STAMP)
	$(PYTHON) -m ci.sweep --grid sweep.yaml

# Optuna's TPE over the search space in tune.yaml, one DVC experiment per trial.
tune: $(STAMP)
	$(PYTHON) -m ci.tune --trials $(TRIALS)

# The forecast stage's model (models/forecast.pt) on another file, without DVC or retraining:
#   make predict HISTORY=sales.xlsx [STEPS=12] [OUT=forecast.csv] [ARGS="--sheet S --column C --time-column T"]
OUT ?= forecast.csv
predict: $(STAMP)
	@test -n "$(HISTORY)" || { echo "usage: make predict HISTORY=file [STEPS=12] [OUT=forecast.csv] [ARGS=...]"; exit 2; }
	$(PYTHON) -m pipeline.predict --history "$(HISTORY)" --out "$(OUT)" $(if $(STEPS),--steps $(STEPS)) $(ARGS)

report: $(STAMP)
	$(PYTHON) -m ci.report $(BASE) --images report > report.md
	@echo "wrote report.md and report/"

gate: $(STAMP)
	$(PYTHON) -m ci.gate $(BASE)

# Reproduce the committed params and require every metric to equal the committed value.
check-committed: $(STAMP)
	dvc repro --force
	$(PYTHON) -m ci.gate HEAD --all --both-ways --tolerance 1e-6
	$(PYTHON) -m ci.lock HEAD

clean:
	rm -rf $(VENV)
