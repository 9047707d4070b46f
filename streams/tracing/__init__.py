"""OpenTelemetry tracing: the tracer, span records, their OTLP encoding and the exporter process."""
