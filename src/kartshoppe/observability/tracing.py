"""OpenTelemetry traces: HTTP request -> log append -> view update and WebSocket push.

`KARTSHOPPE_OTEL_EXPORTER` picks the exporter: `none` (default: a no-op tracer, nothing
recorded), `console` (one JSON span a line on stdout) or `otlp` (OTLP over HTTP to
`OTEL_EXPORTER_OTLP_ENDPOINT`, default `http://localhost:4318`). The log carries no trace
headers, so the append span's context is remembered per event id in this process and the span
of the view update that pushes the event to WebSocket clients is made its child.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanContext, Tracer

EXPORTERS: Final = ("none", "console", "otlp")
PENDING_LIMIT: Final = 10_000


def _one_line(span: ReadableSpan) -> str:
    text: str = span.to_json(indent=None)
    return text + "\n"


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter(formatter=_one_line)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class Tracing:
    """The app's tracer plus the append contexts waiting for their events' push."""

    def __init__(self, exporter: str = "none") -> None:
        name = exporter.lower()
        if name not in EXPORTERS:
            raise ValueError(f"KARTSHOPPE_OTEL_EXPORTER must be one of {EXPORTERS}, not {name!r}")
        self.enabled = name != "none"
        self.provider: TracerProvider | None = None
        self.tracer: Tracer = trace.NoOpTracer()
        if self.enabled:
            self.provider = TracerProvider(resource=Resource.create({"service.name": "kartshoppe"}))
            processor = (
                SimpleSpanProcessor(_exporter(name))
                if name == "console"
                else BatchSpanProcessor(_exporter(name))
            )
            self.provider.add_span_processor(processor)
            self.tracer = self.provider.get_tracer("kartshoppe")
        self._pending: OrderedDict[str, SpanContext] = OrderedDict()

    def remember(self, event_id: str, context: SpanContext) -> None:
        if not self.enabled:
            return
        self._pending[event_id] = context
        if len(self._pending) > PENDING_LIMIT:
            self._pending.popitem(last=False)

    def parent_of(self, event_id: str) -> SpanContext | None:
        return self._pending.pop(event_id, None)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()
