# eyegrad: `make demo` and `make test` set up their own virtualenv (.venv) first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := train,web,dev,pi,scale

.PHONY: venv demo test bench clean

venv: $(BIN)/eyegrad

$(BIN)/eyegrad: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@

demo: venv
	$(BIN)/eyegrad detect examples/

test: venv
	$(BIN)/python -m pytest -q -rs

bench: venv
	$(BIN)/eyegrad bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
