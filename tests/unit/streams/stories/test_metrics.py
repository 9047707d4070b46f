"""The story agent's Prometheus metrics."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

from inference.client import CircuitBreaker
from streams.stories.agent import AgentStats
from streams.stories.metrics import AgentCollector


def test_agent_metrics_expose_generators_failures_and_breaker() -> None:
    stats = AgentStats(
        received=5,
        published=4,
        model_written=3,
        template=1,
        grounding_rejections=7,
        dead_letters=1,
        triton_waits=2,
        in_flight=1,
        by_kind={"STREAK": 4},
    )
    breaker = CircuitBreaker()
    breaker.state = "open"
    registry = CollectorRegistry()
    registry.register(AgentCollector(SimpleNamespace(stats=stats), breaker))
    text = generate_latest(registry).decode()
    assert 'linernotes_stories_published_total{generator="model"} 3.0' in text
    assert 'linernotes_stories_published_total{generator="template"} 1.0' in text
    assert "linernotes_grounding_rejections_total 7.0" in text
    assert "linernotes_triton_circuit_state 2.0" in text
    assert 'linernotes_stories_by_kind_total{kind="STREAK"} 4.0' in text
