#!/usr/bin/env bash
# Installs what the PyFlink job needs into the cache (idempotent; re-runs do nothing once done):
#   <cache>/flink/venv  Python 3.11 venv with apache-flink and this package (editable, no deps).
#                       PyFlink pins pandas<2.3 and apache-beam, which clash with pypaimon's
#                       pyarrow/pandas in the main venv, so the job gets a venv of its own.
#   <cache>/flink/jars  the Kafka and Paimon connector jars (deploy/flink/pom.xml), via Maven.
# <cache> is $KARTSHOPPE_CACHE or <repo>/.cache.
set -euo pipefail

FLINK_VERSION="2.0.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${KARTSHOPPE_CACHE:-$ROOT/.cache}/flink"
VENV="$CACHE/venv"
JARS="$CACHE/jars"
PYTHON="${PYTHON:-python3.11}"
UV="${UV:-$ROOT/.venv/bin/uv}"
STAMP="$CACHE/.installed-$FLINK_VERSION"
POM="$ROOT/deploy/flink/pom.xml"
LOCK="$ROOT/deploy/flink/requirements.lock"

if [[ -f "$STAMP" && "$STAMP" -nt "$POM" && "$STAMP" -nt "$LOCK" && "$STAMP" -nt "$0" ]]; then
  exit 0
fi
mkdir -p "$CACHE"
# one installer at a time: parallel test sessions may call this together
exec 9>"$CACHE/.install.lock"
flock 9
if [[ -f "$STAMP" && "$STAMP" -nt "$POM" && "$STAMP" -nt "$LOCK" && "$STAMP" -nt "$0" ]]; then
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  "$UV" venv -q -p "$PYTHON" "$VENV"
fi
# exactly the versions in the lock (deploy/flink/requirements.in says how to renew it)
"$UV" pip install -q -p "$VENV/bin/python" -r "$LOCK"
"$UV" pip install -q -p "$VENV/bin/python" --no-deps -e "$ROOT"

mkdir -p "$JARS"
mvn -q -B -f "$POM" dependency:copy-dependencies -DexcludeTransitive=true \
  -DoutputDirectory="$JARS"
touch "$STAMP"
echo "PyFlink $FLINK_VERSION in $VENV; connector jars in $JARS"
