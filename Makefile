# Two commands set everything up on a fresh machine with Python 3.11, pip and make:
#   make demo   install, generate sample data, run the monthly pipeline, print where things are
#   make test   install, then the whole test suite
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
DEMO_HOME ?= kaohe-demo

.PHONY: install demo test lint bench bench-ingest clean browser-hint
SCALE ?= medium

# --compile-bytecode: every kaohe command imports Dagster and Great Expectations; compiled once
# here, not again by each process (PYTHONDONTWRITEBYTECODE machines recompile every time).
install:
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --user --quiet uv || python3 -m pip install --quiet uv
	@$(eval UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv"))
	$(UV) sync --frozen --python 3.11 --compile-bytecode

demo: install
	$(UV) run kaohe demo --home $(DEMO_HOME)

# The browser tests (pages open without errors, print on A4) need Debian's chromium; without it
# they are skipped, and this says so first, with how to get it (nothing is installed silently;
# CI installs it, or fails: .ci/run).
browser-hint:
	@command -v chromium >/dev/null 2>&1 || echo "make test: chromium is not installed, so the browser tests will be SKIPPED. To run them: sudo apt-get install -y chromium fonts-noto-cjk (CI installs both: .ci/run)"

test: browser-hint install
	$(UV) run ruff check .
	# three workers on two cores: most tests wait on a `kaohe run` subprocess, whose Dagster run
	# waits on its event log as much as on CPU (measured: 684 s with -n 3, 847 s with -n 2)
	$(UV) run pytest -q -n 3 --dist loadfile

lint: install
	$(UV) run ruff check .

# The performance benchmark (docs/performance.md): kaohe vs the bare-DuckDB floor and a bare
# read of the files (3 interleaved runs each, medians), the nightly increment, kaohe whatif,
# scaling 1x/2x/4x. SCALE=small|medium|large; data kept in benchmarks/data.
bench: install
	$(UV) run python benchmarks/run.py --scale $(SCALE) --out benchmarks/results/$(SCALE).json

bench-ingest: install
	$(UV) run python benchmarks/ingest_bench.py --scale large

clean:
	rm -rf $(DEMO_HOME) .pytest_cache
