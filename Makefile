# One venv, one set of pins. Every target installs what it needs first; a second
# run with everything installed only checks stamps, so it starts within seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR_STAMP := book/_vendor/.stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup system book test test-fast bench release grade clean

setup: $(STAMP) $(VENDOR_STAMP) system

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	# jsonschema's optional IRI checker compiles a grammar at import (2-4 s on every
	# jupyter-book, nbformat and nbgrader start) and nothing here validates IRIs.
	$(BIN)/python -m pip uninstall -q -y rfc3987-syntax
	touch $@

# Debian packages the tests need (a real browser, the grader's sandbox).
system:
	@bash scripts/install-system.sh

# MathJax, the ipywidgets HTML manager and require.js, from the npm registry,
# so the built book loads nothing from the internet.
$(VENDOR_STAMP): package.json package-lock.json scripts/vendor-web-assets.sh
	bash scripts/vendor-web-assets.sh
	touch $@

book: setup
	$(BIN)/jupyter-book build . -W --keep-going

test: setup
	$(BIN)/python -m pytest -n 2

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: setup
	$(BIN)/python -m benchmarks

# The student release of the exercises (nbgrader generate_assignment) into exercises/release/.
release: setup
	$(BIN)/python exercises/course.py release

# Grade every submission of ASSIGNMENT in exercises/submitted/ in the sandbox.
grade: setup
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=ps01_convolution"; exit 2; }
	$(BIN)/python -m autograder --course exercises --assignment $(ASSIGNMENT)

clean:
	rm -rf _build test-artifacts
