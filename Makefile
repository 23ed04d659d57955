# eyegrad: `make demo` and `make test` set up their own virtualenv (.venv) first.
# The demo needs only the runtime (numpy, OpenCV, Pillow, LiteRT); the tests need every extra.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
EXTRAS := train,web,dev,pi,scale

.PHONY: venv venv-dev demo test bench wheel clean

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $@ $(VENV)/.runtime

demo: venv
	$(BIN)/eyegrad detect examples/

# The browser tests need Debian's chromium: without it they skip, and the run ends saying so.
PYTEST   ?= $(BIN)/python -m pytest -q -rs
CHROMIUM ?= /usr/bin/chromium

test: venv-dev
	@$(PYTEST); status=$$?; \
	[ -x $(CHROMIUM) ] || echo "make test: the browser tests (tests/test_web_browser.py) skipped: no $(CHROMIUM);" \
	  "to run them: sudo apt-get install chromium, then make test"; \
	exit $$status

bench: venv-dev
	$(BIN)/eyegrad bench

wheel: venv
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache
