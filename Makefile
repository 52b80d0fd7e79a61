# One venv, one set of pins. Every target installs what it needs first; a second
# run with everything installed only checks stamps, so it starts within seconds.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR_STAMP := book/_vendor/.stamp
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup system system-grade system-fast book lint test test-fast bench release grade clean

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

# Debian packages the tests need (a real browser, the grader's sandbox, npm).
system:
	@bash scripts/install-system.sh

# Only what grading needs from Debian: bubblewrap, the grader's sandbox.
system-grade:
	@bash scripts/install-system.sh bubblewrap

# What the fast tests use from Debian: the grader's sandbox and node (npm brings it).
system-fast:
	@bash scripts/install-system.sh bubblewrap npm

# MathJax, the ipywidgets HTML manager and require.js, from the npm registry,
# so the built book loads nothing from the internet.
$(VENDOR_STAMP): package.json package-lock.json scripts/vendor-web-assets.sh
	bash scripts/vendor-web-assets.sh
	touch $@

book: setup
	$(BIN)/jupyter-book build . -W --keep-going

# ruff, pinned in requirements.lock and configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .

test: setup
	$(BIN)/python -m pytest -n 2

# No book build, no browser, no web assets: the tests that take seconds.
test-fast: $(STAMP) system-fast
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser and not book"

bench: setup
	$(BIN)/python -m benchmarks

# The student release of the exercises (nbgrader generate_assignment) into exercises/release/.
# Needs only the Python environment (no browser, no npm, no web assets).
release: $(STAMP)
	$(BIN)/python exercises/course.py release

# Grade every submission of ASSIGNMENT in exercises/submitted/ in the sandbox; the
# Python environment and bubblewrap are all it installs. STUDENT=id grades one student
# (merged into the grades CSV); REPEAT=2 flags answers whose points change between runs.
grade: $(STAMP) system-grade
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=ps01_convolution [STUDENT=id] [REPEAT=2]"; exit 2; }
	$(BIN)/python -m autograder --course exercises --assignment $(ASSIGNMENT) \
		$(if $(STUDENT),--student $(STUDENT)) $(if $(REPEAT),--repeat $(REPEAT))

clean:
	rm -rf _build test-artifacts
