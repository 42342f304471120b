#!/usr/bin/env sh
# Run a local single-node Apache Kafka broker (KRaft) on 127.0.0.1, fetched from Maven Central
# into .cache/kafka (or $KARTSHOPPE_CACHE/kafka) on first use.
#   scripts/kafka.sh start [--port 9092] | status | stop
set -eu
cd "$(dirname "$0")/.."
exec .venv/bin/python -m kartshoppe.infra.kafka_broker "$@"
