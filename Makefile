# The few commands a user types. Everything runs inside .venv, which `make install` creates
# from pyproject.toml and the pinned set in requirements/constraints.txt.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := book,dev

.PHONY: help install test book pdf lint format bench assignments lab release-variants grade regrade feedback report export similarity gradebook clean-book clean

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

install: $(STAMP)  ## create .venv with nnlib, nngrader and everything the book and tests need

# Re-install when the dependency list or the pins change. nnlib (the library students install)
# and nngrader (the instructors' class grader, its own distribution) are both editable.
$(STAMP): pyproject.toml nngrader/pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[$(EXTRAS)]" -e ./nngrader
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

test: $(STAMP)  ## run the whole test suite (PYTEST_ARGS="-k xor" to select)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The execution cache keys on the chapters' code, not on nnlib's: when nnlib changes, the
# chapters (their figures are drawn by nnlib.widgets) must run again.
NNLIB_SOURCES := $(shell find nnlib -name '*.py' 2>/dev/null)
BOOK_CACHE_STAMP := _build/.nnlib-sources
book: $(STAMP) $(BOOK_CACHE_STAMP)  ## build the HTML book into _build/html (fails on any warning; LITE_PYODIDE=local ships Pyodide in it)
	$(BIN)/jupyter-book build . -n -W --keep-going

# In-browser Python (JupyterLite + Pyodide, in _build/html/lite): LITE_PYODIDE=cdn loads Pyodide
# from its pinned public CDN; LITE_PYODIDE=local puts a copy in the site (+49 MB), assembled from
# npm and PyPI by tools/lite_assets.py, every file checked against pyodide-lock.json's sha256,
# its modules compiled to bytecode (tools/lite_pyc.py), and cached in ~/.cache/nnlib-lite
# ($$NNLIB_LITE_CACHE).
LITE_PYODIDE ?= cdn
book: export NNLIB_LITE_PYODIDE = $(LITE_PYODIDE)

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

# Per-student variants: ROSTER is a CSV with a student_id column; the course secret lives in
# .nnlib-secret (git-ignored, created on first use) or $$NNLIB_COURSE_SECRET.
release-variants: $(STAMP)  ## one notebook per student with their parameters: make release-variants ASSIGNMENT=a1_neurons ROSTER=roster.csv
	@test -n "$(ASSIGNMENT)" || { echo "usage: make release-variants ASSIGNMENT=<name> ROSTER=<csv>"; exit 2; }
	$(BIN)/python -m nngrader release-variants "$(ASSIGNMENT)" "$(ROSTER)"

# Students work in work/<name>/ (git-ignored), copied from assignments/ on first run and never
# overwritten; tools/lab/ holds the lab's Jupyter config (no instructor or exchange panels).
lab: $(STAMP)  ## open JupyterLab on your working copy work/ (NAMES="a1_neurons" for one; Validate included)
	$(BIN)/python tools/lab.py $(NAMES)

# Grading a class. SUBMISSIONS: one folder per student id (or an LMS zip); JOBS=0: one local
# worker per core; SCHEDULER=tcp://host:8786: a running dask cluster instead; DB_URL: nbgrader's
# gradebook elsewhere (e.g. postgresql://...), sqlite:///gradebook.db in the course by default.
ASSIGNMENT ?=
SUBMISSIONS ?= submissions
GRADES ?= grades-$(ASSIGNMENT).csv
JOBS ?= 0
SCHEDULER ?=
DB_URL ?=
GRADE_ARGS ?=
STUDENTS ?=
CLUSTER_ARGS := $(if $(SCHEDULER),--scheduler "$(SCHEDULER)") $(if $(DB_URL),--db-url "$(DB_URL)")

grade: $(STAMP)  ## grade a class: make grade ASSIGNMENT=a1_neurons SUBMISSIONS=<dir or zip> GRADES=<csv>
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=<name> SUBMISSIONS=<dir> GRADES=<csv> [JOBS=n] [SCHEDULER=tcp://host:port] [DB_URL=url] [GRADE_ARGS=--feedback]"; exit 2; }
	$(BIN)/python -m nngrader grade "$(ASSIGNMENT)" "$(SUBMISSIONS)" "$(GRADES)" --jobs $(JOBS) $(CLUSTER_ARGS) $(GRADE_ARGS)

# STUDENTS="id1 id2": only those are run again from scratch (default: everyone); manual grades stay
regrade: $(STAMP)  ## grade again from scratch: make regrade ASSIGNMENT=a1_neurons [STUDENTS="id1 id2"]
	@test -n "$(ASSIGNMENT)" || { echo "usage: make regrade ASSIGNMENT=<name> SUBMISSIONS=<dir> GRADES=<csv> [STUDENTS=\"id1 id2\"] [JOBS=n] [GRADE_ARGS=...]"; exit 2; }
	$(BIN)/python -m nngrader grade "$(ASSIGNMENT)" "$(SUBMISSIONS)" "$(GRADES)" --jobs $(JOBS) $(CLUSTER_ARGS) $(GRADE_ARGS) --regrade $(STUDENTS)

feedback: $(STAMP)  ## feedback HTML for every graded student: make feedback ASSIGNMENT=a1_neurons
	@test -n "$(ASSIGNMENT)" || { echo "usage: make feedback ASSIGNMENT=<name>"; exit 2; }
	$(BIN)/python -m nngrader feedback "$(ASSIGNMENT)" --jobs $(JOBS) $(if $(DB_URL),--db-url "$(DB_URL)")

report: $(STAMP)  ## class report (scores, points per part, diagnoses, feedback links): make report ASSIGNMENT=a1_neurons
	@test -n "$(ASSIGNMENT)" || { echo "usage: make report ASSIGNMENT=<name>"; exit 2; }
	$(BIN)/python -m nngrader report "$(ASSIGNMENT)"

# LMS=canvas or moodle; ROSTER: CSV mapping student_id to the LMS's ids; COLUMN: LMS grade column
LMS ?= canvas
ROSTER ?= roster.csv
COLUMN ?=
export: $(STAMP)  ## LMS import file from the grades CSV: make export ASSIGNMENT=a1_neurons LMS=canvas|moodle ROSTER=roster.csv
	@test -n "$(ASSIGNMENT)" || { echo "usage: make export ASSIGNMENT=<name> LMS=canvas|moodle ROSTER=<csv> [GRADES=<csv>] [COLUMN='a1 (12345)']"; exit 2; }
	$(BIN)/python -m nngrader export $(LMS) "$(GRADES)" "$(ROSTER)" "$(basename $(GRADES))-$(LMS).csv" $(if $(COLUMN),--column "$(COLUMN)")

THRESHOLD ?= 0.5
similarity: $(STAMP)  ## pairs of alike submissions (solution cells, winnowing) side by side: make similarity ASSIGNMENT=a1_neurons
	@test -n "$(ASSIGNMENT)" || { echo "usage: make similarity ASSIGNMENT=<name> [THRESHOLD=0.5]"; exit 2; }
	$(BIN)/python -m nngrader similarity "$(ASSIGNMENT)" --threshold $(THRESHOLD)

# The course's gradebook: every assignment per student and the total; LMS files with ROSTER.
GRADEBOOK ?= gradebook.csv
gradebook: $(STAMP)  ## every assignment's score per student and the total: make gradebook [ROSTER=roster.csv LMS=canvas]
	$(BIN)/python -m nngrader gradebook --out "$(GRADEBOOK)" $(if $(DB_URL),--db-url "$(DB_URL)") $(if $(wildcard $(ROSTER)),--roster "$(ROSTER)" --export $(LMS))

clean-book:  ## remove the built book (and its execution cache)
	rm -rf _build

clean: clean-book  ## remove the environment and every build output
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
