# The README's two commands: `make demo` and `make test`. Both build .venv themselves
# from the pinned lock files, so a fresh clone needs only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint bench soak lock clean

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kommunepuls up

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Benchmark-only peers (Quix Streams) on top of the dev install, so `make test` stays lean.
# --no-deps: quixstreams pins pydantic below ours (see requirements-bench.lock).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-bench.lock
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# 60 s at 2,000 events/s into ingest while the gateway serves 200 reads/s (loopback only).
soak: $(STAMP)
	$(BIN)/python -m bench.soak --seconds 60 --events-per-s 2000 --requests-per-s 200

# Re-pin: runtime deps from a clean venv, dev deps on top.
lock:
	rm -rf /tmp/kp-lock && $(PYTHON) -m venv /tmp/kp-lock
	/tmp/kp-lock/bin/pip install --quiet . && /tmp/kp-lock/bin/pip freeze | grep -v '^kommunepuls' > requirements.lock
	/tmp/kp-lock/bin/pip install --quiet '.[dev]' && /tmp/kp-lock/bin/pip freeze | grep -v '^kommunepuls' > requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
