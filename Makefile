# Two commands on a fresh Debian machine: `make run` and `make test`.
# Both are idempotent: the stamp files make the second run fast.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config.toml
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the daemon needs at run time (APT_RUN), and the extra ones the tests use
# (APT_TEST).
APT_RUN  := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-deu \
            tesseract-ocr-nld tesseract-ocr-fra tesseract-ocr-chi-sim tesseract-ocr-frk \
            tesseract-ocr-script-frak poppler-utils qpdf
# Among the latter, Apache PDFBox's Preflight (and the Java it needs): a PDF/A checker.
APT_TEST := ghostscript fonts-wqy-zenhei fonts-dejavu-core systemd chromium \
            default-jre-headless libpdfbox2-java libactivation-java libjaxb-api-java \
            chromium-driver

.PHONY: run test check lint typecheck unit bench clean system-deps test-deps gpu gpu-bench

run: .stamp-venv
	mkdir -p var/inbox var/outbox var/failed var/state
	$(BIN)/hotocr run --config $(CONFIG)

test: .stamp-venv .stamp-test-deps lint typecheck
	$(BIN)/python -m pytest -q -ra

lint: .stamp-venv
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench

typecheck: .stamp-venv
	$(BIN)/mypy

bench: .stamp-venv .stamp-test-deps
	$(BIN)/python -m pip install -q -e '.[dev,dask,e2e,bench]'
	$(BIN)/python bench/quality.py
	$(BIN)/python bench/calibration.py
	$(BIN)/python bench/worker_memory.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/preprocess.py
	$(BIN)/python bench/deskew.py
	$(BIN)/python bench/correction.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/plot_throughput.py
	$(BIN)/python bench/gpu.py

# The one check for a machine with a GPU (after make gpu): GPU tests, per-step times,
# pages/min and CER with the CPU only against with the GPU, in one table.
gpu-bench: .stamp-venv .stamp-test-deps
	$(BIN)/python bench/gpu.py

# System packages: installed only when one is missing (dpkg -s is fast), so a
# second run does not touch apt at all.
.stamp-system-deps: Makefile
	@missing=$$(for p in $(APT_RUN) python3-venv; do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $@

.stamp-test-deps: Makefile .stamp-system-deps
	@missing=$$(for p in $(APT_TEST); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $@

.stamp-venv: pyproject.toml .stamp-system-deps
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,dask,e2e]'
	touch $@

# A machine with an NVIDIA GPU: CuPy and ONNX Runtime's CUDA build, the CPU build removed
# (both would share one onnxruntime folder); run again after the dependencies change.
gpu: .stamp-venv
	$(BIN)/python -m pip install -q -e '.[gpu]'
	$(BIN)/python -m pip uninstall -q -y onnxruntime
	$(BIN)/python -m pip install -q --force-reinstall --no-deps 'onnxruntime-gpu>=1.24,<2'
	$(BIN)/hotocr check --config $(CONFIG) || true

clean:
	rm -rf $(VENV) .stamp-* .mypy_cache .ruff_cache .pytest_cache
