"""The Flink SQL the job runs: the Kafka source and sinks, and the Paimon event table.

Kept free of PyFlink and of pypaimon (neither is in both venvs); the Paimon table comes from
`kartshoppe.eventstore.schema`, the definition `eventstore.table` creates too (a unit test
checks the table pypaimon creates against the DDL rendered here).

The source reads every topic a processor or the store needs with per-partition watermarks. A
record's event time is `model.event_time`: its `timestamp` field, but never later than its
Kafka timestamp (the append time). Event-table rows follow `eventstore.sink.records_to_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from kartshoppe.eventstore import schema

Delivery = Literal["at-least-once", "exactly-once"]

SOURCE_TABLE: Final = "kafka_in"
CATALOG: Final = "kartshoppe_store"
DATABASE: Final = schema.DATABASE
TABLE: Final = schema.TABLE
STORED_TOPICS: Final = schema.STORED_TOPICS
PAIMON_COLUMNS: Final[tuple[tuple[str, str], ...]] = tuple(
    (c.name, c.type if c.nullable else f"{c.type} NOT NULL") for c in schema.COLUMNS
)
PAIMON_PRIMARY_KEY: Final = schema.PRIMARY_KEY
PAIMON_PARTITION: Final = schema.PARTITION
PAIMON_TABLE_OPTIONS: Final[Mapping[str, str]] = schema.TABLE_OPTIONS
"""Used only when this job creates the table; an existing table keeps its own options."""

TRANSACTION_TIMEOUT_MS: Final = 900_000
"""Kafka brokers refuse transactions longer than `transaction.max.timeout.ms` (15 min)."""


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _with(options: Mapping[str, str]) -> str:
    return ",\n  ".join(f"{_quote(k)} = {_quote(v)}" for k, v in options.items())


@dataclass(frozen=True)
class KafkaOptions:
    bootstrap: str
    group_id: str = "kartshoppe-flink"
    startup: Literal["earliest-offset", "latest-offset", "group-offsets"] = "earliest-offset"
    out_of_orderness_ms: int = 200
    delivery: Delivery = "at-least-once"
    transactional_id_prefix: str = "kartshoppe-flink"
    source_options: Mapping[str, str] = field(default_factory=dict)
    """Further options of the source table (`properties.*` go to the Kafka consumer), over the
    defaults of `source_ddl`."""


def source_ddl(topics: Sequence[str], kafka: KafkaOptions) -> str:
    """One table over all input topics; `rowtime` is the event time, with its watermark."""
    seconds = f"{kafka.out_of_orderness_ms / 1000:.3f}"
    options = {
        "connector": "kafka",
        "topic": ";".join(topics),
        "properties.bootstrap.servers": kafka.bootstrap,
        "properties.group.id": kafka.group_id,
        "properties.auto.offset.reset": "earliest",
        # the processors must never see an output of an aborted exactly-once transaction
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": kafka.startup,
        "value.format": "raw",
        **kafka.source_options,
    }
    return f"""CREATE TEMPORARY TABLE {SOURCE_TABLE} (
  `v` STRING,
  `topic` STRING METADATA FROM 'topic' VIRTUAL,
  `log_partition` INT METADATA FROM 'partition' VIRTUAL,
  `log_offset` BIGINT METADATA FROM 'offset' VIRTUAL,
  `append_ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  `rowtime` AS LEAST(
    COALESCE(TO_TIMESTAMP_LTZ(TRY_CAST(JSON_VALUE(`v`, '$.timestamp') AS BIGINT), 3), `append_ts`),
    `append_ts`),
  WATERMARK FOR `rowtime` AS `rowtime` - INTERVAL '{seconds}' SECOND
) WITH (
  {_with(options)}
)"""


def source_query() -> str:
    return f"SELECT `topic`, `v`, `rowtime` FROM {SOURCE_TABLE}"


OUTPUTS_TABLE: Final = "kafka_outputs"


def outputs_sink_ddl(topics: Sequence[str], kafka: KafkaOptions) -> str:
    """One sink for every output topic: each row names its topic (the connector's writable
    `topic` metadata, one of `topics`), so that no operator has to split the outputs by topic.
    Plain JSON values under string keys, as every other writer of the topics produces."""
    options = {
        "connector": "kafka",
        "topic": ";".join(topics),
        "properties.bootstrap.servers": kafka.bootstrap,
        "key.format": "raw",
        "key.fields": "k",
        "value.format": "raw",
        "value.fields-include": "EXCEPT_KEY",
        "sink.delivery-guarantee": kafka.delivery,
    }
    if kafka.delivery == "exactly-once":
        options["sink.transactional-id-prefix"] = f"{kafka.transactional_id_prefix}-outputs"
        options["properties.transaction.timeout.ms"] = str(TRANSACTION_TIMEOUT_MS)
    return f"""CREATE TEMPORARY TABLE {OUTPUTS_TABLE} (
  `topic` STRING METADATA,
  `k` STRING,
  `v` STRING
) WITH (
  {_with(options)}
)"""


def catalog_ddl(warehouse: str) -> str:
    return f"CREATE CATALOG {CATALOG} WITH ('type' = 'paimon', 'warehouse' = {_quote(warehouse)})"


def table_identifier() -> str:
    return f"{CATALOG}.{DATABASE}.{TABLE}"


def table_ddls() -> list[str]:
    columns = ",\n  ".join(f"`{name}` {kind}" for name, kind in PAIMON_COLUMNS)
    key = ", ".join(f"`{c}`" for c in PAIMON_PRIMARY_KEY)
    partition = ", ".join(f"`{c}`" for c in PAIMON_PARTITION)
    return [
        f"CREATE DATABASE IF NOT EXISTS {CATALOG}.{DATABASE}",
        f"""CREATE TABLE IF NOT EXISTS {table_identifier()} (
  {columns},
  PRIMARY KEY ({key}) NOT ENFORCED
) PARTITIONED BY ({partition}) WITH (
  {_with(PAIMON_TABLE_OPTIONS)}
)""",
    ]


def _text(path: str) -> str:
    return f"NULLIF(JSON_VALUE(`v`, '$.{path}'), '')"


def store_insert() -> str:
    """Rows as `eventstore.sink.records_to_rows` builds them (the payload verbatim)."""
    # Flink SQL has no TIMESTAMP_LTZ -> epoch-millis cast; seconds and millis via UTC text
    append_ms = (
        "(UNIX_TIMESTAMP(DATE_FORMAT(`append_ts`, 'yyyy-MM-dd HH:mm:ss')) * 1000"
        " + CAST(DATE_FORMAT(`append_ts`, 'SSS') AS BIGINT))"
    )
    ts = f"COALESCE(TRY_CAST(JSON_VALUE(`v`, '$.timestamp') AS BIGINT), {append_ms})"
    stored = ", ".join(_quote(t) for t in STORED_TOPICS)
    return f"""INSERT INTO {table_identifier()}
SELECT
  DATE_FORMAT(TO_TIMESTAMP_LTZ(`ts`, 3), 'yyyy-MM-dd'),
  COALESCE({_text("eventId")}, `topic` || ':' || CAST(`log_partition` AS STRING)
    || ':' || CAST(`log_offset` AS STRING)),
  COALESCE({_text("eventType")}, 'UNKNOWN'),
  {_text("sessionId")},
  {_text("userId")},
  {_text("productId")},
  {_text("orderId")},
  `ts`,
  `v`,
  `topic`,
  `log_partition`,
  `log_offset`,
  `append_ms`
FROM (
  SELECT *, {ts} AS `ts`, {append_ms} AS `append_ms` FROM {SOURCE_TABLE}
  WHERE `topic` IN ({stored})
)"""
