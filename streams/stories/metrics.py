"""Prometheus metrics of the story agent (``/metrics`` on ``LINERNOTES_STORY_AGENT_METRICS_PORT``)."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


class AgentCollector:
    def __init__(self, agent: Any, breaker: Any) -> None:
        self.agent, self.breaker = agent, breaker

    def collect(self) -> Any:
        st = self.agent.stats
        for name, value, doc in (
            ("linernotes_story_requests_received", st.received, "Story requests consumed"),
            ("linernotes_grounding_rejections", st.grounding_rejections, "Model candidates the checker rejected"),
            ("linernotes_story_dead_letters", st.dead_letters, "Requests sent to story-requests.dlq"),
            ("linernotes_triton_waits", st.triton_waits, "Backoffs while Triton was unreachable"),
            ("linernotes_story_registry_waits", st.registry_waits, "Requests that waited for the schema registry"),
            ("linernotes_story_duplicates", st.duplicates, "Redelivered requests skipped"),
            ("linernotes_stories_ungrounded", st.ungrounded, "Published stories whose text failed the check"),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        published = CounterMetricFamily("linernotes_stories_published", "Stories published", labels=["generator"])
        published.add_metric(["model"], st.model_written)
        published.add_metric(["template"], st.template)
        yield published
        kinds = CounterMetricFamily("linernotes_stories_by_kind", "Stories published by kind", labels=["kind"])
        for kind, n in sorted(st.by_kind.items()):
            kinds.add_metric([kind], n)
        yield kinds
        yield GaugeMetricFamily("linernotes_stories_in_flight", "Stories being written", value=st.in_flight)
        yield GaugeMetricFamily(
            "linernotes_triton_circuit_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            value=BREAKER_STATES.get(self.breaker.state, 0),
        )


def serve(agent: Any, breaker: Any, port: int) -> Histogram:
    """Start the metrics endpoint; returns the story-writing latency histogram to observe into."""
    registry = CollectorRegistry()
    registry.register(AgentCollector(agent, breaker))
    latency = Histogram(
        "linernotes_story_write_seconds",
        "Time to write one story through Triton (all rounds and checks)",
        buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128),
        registry=registry,
    )
    if port:
        try:
            start_http_server(port, addr="0.0.0.0", registry=registry)  # noqa: S104 - scraped from other pods
        except OSError as e:
            logging.getLogger("linernotes.stories").warning("metrics not served on port %s: %s", port, e)
    return latency
