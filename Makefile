# The few commands a user types. Everything runs inside .venv, which `make install` creates
# from pyproject.toml and the pinned set in requirements/constraints.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := book,grading,dev

.PHONY: help install test book pdf lint format bench assignments lab grade feedback clean-book clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

install: $(STAMP)  ## create .venv with nnlib and everything the book, grader and tests need

# Re-install when the dependency list or the pins change.
$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

test: $(STAMP)  ## run the whole test suite (PYTEST_ARGS="-k xor" to select)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The execution cache keys on the chapters' code, not on nnlib's: when nnlib changes, the
# chapters (their figures are drawn by nnlib.widgets) must run again.
NNLIB_SOURCES := $(shell find nnlib -name '*.py' 2>/dev/null)
BOOK_CACHE_STAMP := _build/.nnlib-sources
book: $(STAMP) $(BOOK_CACHE_STAMP)  ## build the HTML book into _build/html (fails on any warning)
	$(BIN)/jupyter-book build . -n -W --keep-going

# The same chapters through Sphinx's LaTeX builder and XeLaTeX (Debian: texlive-xetex, latexmk,
# fonts-freefont-otf; .ci/run installs them). It reuses the HTML build's execution cache, and
# each interactive figure is printed as its default frame.
pdf: $(STAMP) $(BOOK_CACHE_STAMP)  ## build the book as a PDF: _build/latex/book.pdf (needs TeX)
	$(BIN)/jupyter-book build . --builder pdflatex -n --keep-going

# Sphinx re-reads (and so runs) only the chapters whose source changed: its saved environment
# (.doctrees) goes with the cache, or the unchanged chapters would keep their old outputs.
$(BOOK_CACHE_STAMP): $(NNLIB_SOURCES)
	rm -rf _build/.jupyter_cache _build/.doctrees
	@mkdir -p _build && touch $@

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)  ## performance ratios against baselines measured in the same run
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[bench]" \
		|| echo "torch is not installable here: the PyTorch comparison is skipped"
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

assignments: $(STAMP)  ## regenerate assignments/ from solutions/ with nbgrader (NAMES="a1_neurons" for one)
	$(BIN)/python tools/make_assignments.py $(NAMES)

lab: $(STAMP)  ## open JupyterLab on assignments/ (nbgrader's Validate button included)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=assignments

# Grading a class. SUBMISSIONS: one folder per student id (or an LMS zip); JOBS=0: one per core.
ASSIGNMENT ?=
SUBMISSIONS ?= submissions
GRADES ?= grades-$(ASSIGNMENT).csv
JOBS ?= 0
GRADE_ARGS ?=

grade: $(STAMP)  ## grade a class: make grade ASSIGNMENT=a1_neurons SUBMISSIONS=<dir or zip> GRADES=<csv>
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=<name> SUBMISSIONS=<dir> GRADES=<csv> [JOBS=n] [GRADE_ARGS=--feedback]"; exit 2; }
	$(BIN)/python -m nnlib.grader grade "$(ASSIGNMENT)" "$(SUBMISSIONS)" "$(GRADES)" --jobs $(JOBS) $(GRADE_ARGS)

feedback: $(STAMP)  ## feedback HTML for every graded student: make feedback ASSIGNMENT=a1_neurons
	@test -n "$(ASSIGNMENT)" || { echo "usage: make feedback ASSIGNMENT=<name>"; exit 2; }
	$(BIN)/python -m nnlib.grader feedback "$(ASSIGNMENT)" --jobs $(JOBS)

clean-book:  ## remove the built book (and its execution cache)
	rm -rf _build

clean: clean-book  ## remove the environment and every build output
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
