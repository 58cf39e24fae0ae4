# GAN Theory, Hands-On -- build the book and run every test.
#
#   make book   build the HTML book into _build/html, executing every notebook in the default
#               profile (standard on a CPU, full on CUDA; override with GAN_BOOK_PROFILE=...)
#   make test   unit tests, nbval over all notebooks (smoke), the book build with -n -W
#               --keep-going (smoke), then the offline-HTML and browser checks on that build
#
# Both create .venv (Python 3.9+) and install requirements.txt (torch pinned by constraints.txt)
# plus gan_utils itself, and bundle MathJax/require.js/the widget manager from npm into vendor/.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# MNIST: on the project's machines a copy lies in ../shared/data; elsewhere torchvision downloads it.
ifeq ($(origin GAN_BOOK_DATA), undefined)
  ifneq ($(wildcard ../shared/data/MNIST/raw),)
    export GAN_BOOK_DATA := $(abspath ../shared/data)
  endif
endif
export PYTHONHASHSEED := 0

.PHONY: book test unit notebooks build-smoke test-book venv vendor clean
.DEFAULT_GOAL := book

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

vendor: vendor/.bundled
vendor/.bundled: package.json package-lock.json scripts/vendor_assets.sh scripts/widget-paths.js
	bash scripts/vendor_assets.sh
	touch $@

book: venv vendor
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build . --all -n --keep-going; \
	echo "book built in $$(( $$(date +%s) - start )) s (profile: $${GAN_BOOK_PROFILE:-default}) -> _build/html/index.html"

unit: venv
	$(BIN)/pytest tests --ignore=tests/book -q

notebooks: venv
	GAN_BOOK_PROFILE=smoke $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider notebooks -q

build-smoke: venv vendor
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	GAN_BOOK_PROFILE=smoke $(BIN)/jupyter-book build . --all -n -W --keep-going

test-book: venv
	$(BIN)/pytest tests/book -q

test: unit notebooks build-smoke test-book
	@echo "all tests passed"

clean:
	rm -rf _build vendor
