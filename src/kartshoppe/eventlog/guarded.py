"""The event log as the API uses it: the configured adapter behind a circuit breaker and
retries, counted (events per type, append latency) and traced (one span per append).

While the log refuses writes the breaker opens, and commands fail fast with 503
`log_unavailable` and a `Retry-After` instead of each waiting on a dead log. Retries are only
for the embedded log, whose failed transaction wrote nothing; the Kafka producer retries inside
librdkafka (idempotent), and one more retry here could write a record twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import orjson

from kartshoppe.eventlog.port import Consumer, EventLog, LogUnavailableError, Message, Record
from kartshoppe.observability.logging import note_event_ids
from kartshoppe.observability.metrics import Metrics
from kartshoppe.observability.tracing import Tracing
from kartshoppe.resilience import Backoff, CircuitBreaker, State, retry


def _type_and_id(message: Message) -> tuple[str, str | None]:
    if message.event is not None:  # no need to parse what was just encoded from it
        return str(getattr(message.event, "event_type", "UNKNOWN")), message.event.event_id
    try:
        event = orjson.loads(message.value)
    except orjson.JSONDecodeError:
        return "UNDECODABLE", None
    if not isinstance(event, dict):
        return "UNDECODABLE", None
    kind, event_id = event.get("eventType"), event.get("eventId")
    return (
        kind if isinstance(kind, str) else "UNKNOWN",
        event_id if isinstance(event_id, str) else None,
    )


class GuardedEventLog(EventLog):
    def __init__(
        self,
        inner: EventLog,
        metrics: Metrics,
        tracing: Tracing,
        *,
        attempts: int = 3,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.inner = inner
        self.metrics = metrics
        self.tracing = tracing
        self.attempts = attempts
        self.breaker = breaker or CircuitBreaker("event-log", failure_threshold=5, reset_timeout=5)
        self.breaker.on_change = self._on_breaker
        self._backoff = Backoff(initial=0.05, maximum=0.5)

    def _on_breaker(self, state: State) -> None:
        self.metrics.circuit_open.labels(self.breaker.name).set(1 if state is State.OPEN else 0)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    def consumer(self, topics: Sequence[str], group: str | None = None) -> Consumer:
        return self.inner.consumer(topics, group)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return await self.inner.end_offsets(topic)

    async def start_offsets(self, topic: str) -> dict[int, int]:
        return await self.inner.start_offsets(topic)

    async def delete_before(self, topic: str, offsets: Mapping[int, int]) -> None:
        await self.inner.delete_before(topic, offsets)

    def look_again(self) -> None:
        self.inner.look_again()

    async def append(self, messages: Sequence[Message]) -> list[Record]:
        described = [(m.topic, *_type_and_id(m)) for m in messages]
        with self.tracing.tracer.start_as_current_span("log.append") as span:
            if self.tracing.enabled:
                span.set_attribute("messaging.batch.message_count", len(messages))
                span.set_attribute("kartshoppe.event_types", [kind for _, kind, _ in described])
            # remembered before the append: this process's fold may apply the records (and
            # look for their parent span) before the append's caller resumes
            context = span.get_span_context()
            for _, _, event_id in described:
                if event_id is not None:
                    self.tracing.remember(event_id, context)
            started = time.perf_counter()
            records = await self.breaker.call(
                lambda: retry(
                    lambda: self.inner.append(messages),
                    attempts=self.attempts,
                    backoff=self._backoff,
                    retry_on=(LogUnavailableError,),
                )
            )
            self.metrics.append_latency.observe(time.perf_counter() - started)
        ids = []
        for topic, kind, event_id in described:
            self.metrics.events_appended.labels(topic, kind).inc()
            if event_id is not None:
                ids.append(event_id)
        note_event_ids(ids)
        return records
