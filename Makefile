# `make repro` and `make test` are all a fresh clone needs: both create .venv on first use.
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# dvc.yaml runs `python -m pipeline.<stage>`: that python must be the venv's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: venv repro test bench clean

venv: $(STAMP)

$(STAMP): requirements.lock
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

repro: $(STAMP)
	dvc repro

test: $(STAMP)
	$(PYTHON) -m pytest

bench: $(STAMP)
	$(PYTHON) bench/speed.py --repro 1

clean:
	rm -rf $(VENV)
