# KartShoppe: `make run` sets up and runs the shop at http://localhost:8080; `make test` sets up
# and runs every test. Each target installs what is missing and nothing else.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
# outside dist/, which every vite build empties
WEB_STAMP := frontend/node_modules/.web-built
NPM_STAMP := frontend/node_modules/.installed
WEB_SOURCES := $(shell find frontend/src frontend/public frontend/index.html frontend/vite.config.ts frontend/package.json -type f 2>/dev/null)

.PHONY: run test check test-python test-web e2e types flink bench clean

run: $(PY_STAMP) $(WEB_STAMP)
	$(PY) -m kartshoppe serve

test: $(PY_STAMP) $(WEB_STAMP) check test-python test-web e2e

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q -p $(PY) -e '.[dev]'
	touch $@

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the web app is rebuilt only when its sources changed
$(WEB_STAMP): $(NPM_STAMP) $(WEB_SOURCES)
	cd frontend && npm run build
	touch $@

# after a change to events.py or the API: regenerate the frontend's TypeScript types
types: $(NPM_STAMP) $(PY_STAMP)
	cd frontend && npm run gen:types

check: $(PY_STAMP)
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy src

test-python: $(PY_STAMP)
	$(PY) -m pytest

test-web: $(NPM_STAMP) $(PY_STAMP)
	cd frontend && npm run lint && npm test

# real chromium (installed from Debian by the script when missing) against a real server
e2e: $(PY_STAMP) $(NPM_STAMP)
	cd frontend && npm run e2e

# every benchmark in turn (about half an hour); each writes its results to bench/results/
# PyFlink in its own venv plus the Kafka and Paimon connector jars (the Flink tests do it too)
flink: $(PY_STAMP)
	bash scripts/install-flink.sh

bench: $(PY_STAMP)
	$(PY) bench/api_bench.py
	$(PY) bench/log_bench.py
	$(PY) bench/processors_bench.py
	$(PY) bench/recs_eval.py
	$(PY) bench/kafka_bench.py
	$(PY) bench/store_bench.py --events 1000000
	$(PY) bench/flink_bench.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist .cache
