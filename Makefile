# make run  - the demo on the simulated card and mock backends (installs what is missing first)
# make test - the whole suite: ruff, mypy, import-linter contracts and pytest (which also builds the
#             wheel and the frozen application and runs them outside the checkout)
# make bench - the benchmarks (benchmarks/*.py -> benchmarks/results/), all but the fuzz campaign
# make fuzz - the fuzz campaign (benchmarks/fuzz.py -> benchmarks/results/fuzz.json)
# make dist - dist/cccd_edge_agent-*.whl and the one-folder application dist/cccd-agent/ (PyInstaller,
#             packaging/cccd-agent.spec); the same spec builds the Windows application on Windows
#
# Both work on a fresh Debian 12 machine as root (or with sudo) with nothing but Python 3.11+:
# they install the Debian packages and the .venv they need, once.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := pcscd libpcsclite-dev vsmartcard-vpcd libzbar0 swig chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test deps system-deps lint bench fuzz dist clean

run: deps
	$(PY) -m agent demo

test: deps
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

deps: system-deps $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,dist]'
	touch $(STAMP)

# every benchmark but the fuzz campaign, which takes some 13 minutes on 2 cores and has its own target
bench: deps
	for script in benchmarks/*.py; do [ "$$script" = benchmarks/fuzz.py ] || $(PY) $$script || exit 1; done

# the fuzz campaign (issue 13): about 1,040,000 executions over every parser of outside data
fuzz: deps
	$(PY) benchmarks/fuzz.py

dist: deps
	rm -rf dist build
	$(PY) -m build --wheel --outdir dist .
	$(VENV)/bin/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
	  packaging/cccd-agent.spec
	@echo "built: $$(ls dist/*.whl) and dist/cccd-agent/ (run dist/cccd-agent/cccd-agent --version)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
