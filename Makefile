# KartShoppe: `make run` sets up and runs the shop at http://localhost:8080; `make test` sets up
# and runs every test. Each target installs what is missing and nothing else.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
# outside dist/, which every vite build empties
WEB_STAMP := frontend/node_modules/.web-built
ILLUSTRATIONS_STAMP := illustrations/node_modules/.installed
NPM_STAMP := frontend/node_modules/.installed
WEB_SOURCES := $(shell find frontend/src frontend/public frontend/index.html frontend/vite.config.ts frontend/precompress.ts frontend/package.json -type f 2>/dev/null)

.PHONY: run test check test-python test-python-shared test-python-rest test-web e2e e2e-built types flink bench bench-hot clean eval-data illustrations check-illustrations

# `make run SERVE="--workers 2"`: flags for `kartshoppe serve`
run: $(PY_STAMP) $(WEB_STAMP)
	$(PY) -m kartshoppe serve $(SERVE)

# the Python suite waits on brokers and servers much of its time: its two halves, the web checks
# and the browser tests run side by side (the browser tests use the build made once, so nothing
# rebuilds dist/ under the Python suite's servers); their lines interleave as they come, so
# progress stays visible
test: $(PY_STAMP) $(WEB_STAMP) check check-illustrations
	$(MAKE) --no-print-directory -j4 test-python-shared test-python-rest test-web e2e-built

# exactly the versions in uv.lock (`uv lock` after changing pyproject.toml's dependencies)
$(PY_STAMP): pyproject.toml uv.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv sync -q --locked --inexact --extra dev --python $(PY) --compile-bytecode
	touch $@

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the web app is rebuilt only when its sources changed
$(WEB_STAMP): $(NPM_STAMP) $(WEB_SOURCES)
	cd frontend && npm run build
	touch $@

# the open-licensed icon sets (npm) the product pictures are composed from
$(ILLUSTRATIONS_STAMP): illustrations/package.json illustrations/package-lock.json
	cd illustrations && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# after a change to pictures/match.py's icons: copy the icons used into the server's asset
illustrations: $(PY_STAMP) $(ILLUSTRATIONS_STAMP)
	$(PY) scripts/extract_illustrations.py

# the committed asset is exactly what the installed sets give for the icons the rules name
check-illustrations: $(PY_STAMP) $(ILLUSTRATIONS_STAMP)
	$(PY) scripts/extract_illustrations.py --check

# after a change to events.py or the API: regenerate the frontend's TypeScript types
types: $(NPM_STAMP) $(PY_STAMP)
	cd frontend && npm run gen:types

# mypy --strict (pyproject's [tool.mypy]) on src, bench and tests in one run, sharing its cache
check: $(PY_STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy src bench tests

# the tests on the session's one broker and Flink cluster (marked `kafka` by tests/conftest.py)
# run one after the other in one process; the rest of the suite beside them in another
test-python: $(PY_STAMP)
	$(MAKE) --no-print-directory -j2 test-python-shared test-python-rest

test-python-shared: $(PY_STAMP)
	$(PY) -m pytest -m kafka

test-python-rest: $(PY_STAMP)
	$(PY) -m pytest -m "not kafka"

test-web: $(NPM_STAMP) $(PY_STAMP)
	cd frontend && npm run lint && npm test

# real chromium (installed from Debian by the script when missing) against a real server
e2e: $(PY_STAMP) $(NPM_STAMP)
	cd frontend && npm run e2e

e2e-built: $(PY_STAMP) $(WEB_STAMP)
	bash scripts/install-chromium.sh
	cd frontend && npx tsx e2e/run.ts

# every benchmark in turn (about half an hour); each writes its results to bench/results/
# PyFlink in its own venv plus the Kafka and Paimon connector jars (the Flink tests do it too)
flink: $(PY_STAMP)
	bash scripts/install-flink.sh

# the real data set of `kartshoppe evaluate-recs --dataset ml-100k` (bench/DATASETS.md): only
# its data files are read, so the package goes in without its (heavy) dependencies, pinned
# here rather than in uv.lock (whose resolution would pull in torch and ray)
eval-data: $(PY_STAMP)
	$(VENV)/bin/uv pip install -q -p $(PY) --no-deps 'recbole==1.2.1'

bench: $(PY_STAMP) bench-hot
	$(PY) bench/api_bench.py
	$(PY) bench/log_bench.py
	$(PY) bench/processors_bench.py
	$(PY) bench/processors_delay_bench.py
	$(PY) bench/recs_eval.py
	$(PY) bench/kafka_bench.py
	$(PY) bench/store_bench.py --events 1000000
	$(PY) bench/flink_bench.py
	$(PY) bench/workers_bench.py

# the hot paths of issue 17, a few minutes: catalog reads against nginx and a bare ASGI app,
# start-up and idle footprint (fresh, and a restart at 1,000,000 events), WebSocket fan-out,
# the write path against its floor; each prints its ratios and writes bench/results/
bench-hot: $(PY_STAMP)
	bash scripts/install-bench-tools.sh
	$(PY) bench/catalog_bench.py --workers 2
	$(PY) bench/startup_bench.py
	$(PY) bench/restart_bench.py --restarts 5 --seeding
	$(PY) bench/fanout_bench.py
	$(PY) bench/write_bench.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist illustrations/node_modules .cache
