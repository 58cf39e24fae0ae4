# GAN Theory, Hands-On -- build the book and run every test.
#
#   make book   build the HTML book into _build/html, executing every notebook in the default
#               profile (standard, on every device; GAN_BOOK_PROFILE=full opts into paper scale)
#   make test   lint (ruff, mypy), unit tests, the unit tests again on PyTorch's portable CPU kernels
#               (not the slow ones), nbval over all notebooks (smoke), the book build with -n -W
#               --keep-going (smoke), then the offline-HTML, browser and determinism checks on that build
#   make gpu-check  on a CUDA machine: the notebooks in the full profile, most important first, within
#               about 8 minutes, then the throughput benchmark; one JSON in results/gpu-check.json
#               (scripts/gpu_check.py; uses .venv when present, else python3; GPU_CHECK_ARGS=... passes options)
#
# Both create .venv (Python 3.9+), install gan_utils with its extras `.[book,test,lint]` pinned by
# constraints.txt, and bundle MathJax/require.js/the widget manager from npm into vendor/.
# Quick loop while editing: `.venv/bin/pytest -m "not slow"` (skips torchrun, MNIST and 10 000-sample tests).
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

.PHONY: book test lint unit unit-portable notebooks build-smoke test-book gpu-check venv vendor clean
.DEFAULT_GOAL := book

venv: $(VENV)/.installed
# The package's dependencies and extras live in pyproject.toml, the pins in constraints.txt.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test,lint]"
	touch $@

vendor: vendor/.bundled
vendor/.bundled: package.json package-lock.json scripts/vendor_assets.sh scripts/widget-paths.js
	bash scripts/vendor_assets.sh
	touch $@

book: venv vendor
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build . --all -n --keep-going; \
	echo "book built in $$(( $$(date +%s) - start )) s (profile: $${GAN_BOOK_PROFILE:-default}) -> _build/html/index.html"

# Both tools run, so that one pass shows every finding; either one failing fails the target.
lint: venv
	@status=0; \
	$(BIN)/ruff check gan_utils tests scripts benchmarks || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

unit: venv
	$(BIN)/pytest tests --ignore=tests/book -q

# The same tests on PyTorch's portable (non-vectorised) CPU kernels, as on a CPU without AVX2/AVX-512:
# a test that holds only for one machine's rounding fails here. The slow tests are left out: they
# check statistical targets with wide margins, MNIST loading, and two ranks on one machine.
unit-portable: venv
	ATEN_CPU_CAPABILITY=default $(BIN)/pytest tests --ignore=tests/book -q -m "not slow"

notebooks: venv
	GAN_BOOK_PROFILE=smoke $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:cacheprovider notebooks -q

build-smoke: venv vendor
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	GAN_BOOK_PROFILE=smoke $(BIN)/jupyter-book build . --all -n -W --keep-going

# GAN_BOOK_REQUIRE_BUILD: a missing build or Chromium fails these checks (a bare pytest skips them).
test-book: venv
	GAN_BOOK_REQUIRE_BUILD=1 $(BIN)/pytest tests/book -q

test: lint unit unit-portable notebooks build-smoke test-book
	@echo "all tests passed"

# No venv dependency: a lent GPU machine may have its own torch and no package index.
gpu-check:
	$(or $(wildcard $(BIN)/python),python3) scripts/gpu_check.py $(GPU_CHECK_ARGS)

clean:
	rm -rf _build vendor .ruff_cache .mypy_cache
