"""All configuration, read once from ``LINERNOTES_*`` environment variables (and CLI flags).

Frozen and strict: an unknown ``LINERNOTES_*`` variable is an error, not a silent typo.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from features.config import DEFAULT_TRIGGERS, KINDS

_TRIGGERS = DEFAULT_TRIGGERS


def _csv(numbers: tuple[int, ...]) -> str:
    return ",".join(map(str, numbers))


DEV_TRACE_USER_KEY = "linernotes-dev-trace-key"  # development only: set LINERNOTES_TRACE_USER_KEY

ENV_PREFIX = "LINERNOTES_"


class TopicSpec(BaseSettings):
    """Not read from the environment on its own; see :attr:`Settings.topic_specs`."""

    model_config = SettingsConfigDict(frozen=True)
    name: str
    partitions: int
    compact: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # -- Kafka ------------------------------------------------------------------------------
    bootstrap_servers: str = "127.0.0.1:19092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    schema_registry_url: str = "http://127.0.0.1:18081"
    replication_factor: int = 1
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    """Producer-side compression of the records linernotes writes through confluent-kafka (every bulk
    write: states, snapshots, requests, stories). Production: zstd; off locally, where it costs the
    worker CPU and saves no network. faust's own producer stays uncompressed: aiokafka needs extra
    codec packages for lz4/zstd, and it only writes faust's bookkeeping."""

    # -- topics (names are part of the external contract; see DESIGN.md) ------------------
    topic_events: str = "listening-events"
    topic_catalog: str = "catalog"
    topic_features: str = "user-features"
    topic_requests: str = "story-requests"
    topic_stories: str = "user-stories"
    topic_events_dlq: str = "listening-events.dlq"
    topic_requests_dlq: str = "story-requests.dlq"
    events_partitions: int = Field(default=6, ge=1)
    catalog_partitions: int = Field(default=1, ge=1)
    features_partitions: int = Field(default=6, ge=1)
    requests_partitions: int = Field(default=6, ge=1)
    stories_partitions: int = Field(default=6, ge=1)
    dlq_partitions: int = Field(default=1, ge=1)

    # -- feature worker ----------------------------------------------------------------------
    app_id: str = "linernotes-features"
    """faust application id: consumer group, and prefix of changelog topic names (keep stable)."""
    worker_web_port: int = 6066
    worker_web_host: str = "127.0.0.1"
    worker_data_dir: Path = Path(".linernotes/worker")
    flush_interval_s: float = Field(default=5.0, gt=0)
    """State changelog writes and snapshots are coalesced per user over this interval."""
    flush_max_events: int = Field(default=100_000, ge=1)
    flush_publishers: int = Field(default=2, ge=1)
    """Helper processes that build and publish a flush's snapshots and story requests."""
    max_poll_records: int = Field(default=5000, ge=1)
    fetch_max_wait_ms: int = Field(default=100, ge=1)
    """How long the broker may hold a fetch for data (faust's own 1500 ms left the worker idle)."""
    session_gap_s: float = Field(default=1800.0, gt=0)
    grace_s: float = Field(default=600.0, ge=0)
    state_cache_users: int = Field(default=100_000, ge=1)
    """Listener states a feature worker (or a replay shard) keeps in memory; the least recently used
    leave first and are read back from RocksDB on their next event. Memory follows this, not the
    number of listeners (docs/operations.md)."""
    state_block_cache_mb: int = Field(default=16, ge=1)
    """RocksDB's block cache of each state partition the worker holds (faust's default, 2 GiB a
    partition, would let the states read back from disk grow memory with the listeners again)."""
    state_write_buffer_mb: int = Field(default=64, ge=1)
    """RocksDB's memtable size of each state partition, three of them at most (faust's default: smaller
    ones cost the worker more flushes to disk, for memory that does not grow with the listeners)."""
    standby_replicas: int = Field(default=0, ge=0)

    # -- triggers (features/triggers.py documents each) ---------------------------------------
    # Defaults come from features.config.TriggerConfig, the one place they are defined.
    triggers: str = ",".join(sorted(_TRIGGERS.enabled, key=KINDS.index))
    """Comma-separated trigger kinds to fire; empty turns story requests off."""
    trigger_milestones: str = _csv(_TRIGGERS.milestones)
    trigger_streak_days: str = _csv(_TRIGGERS.streak_days)
    trigger_session_min_plays: int = Field(default=_TRIGGERS.session_min_plays, ge=1)
    trigger_discovery_min_history: int = Field(default=_TRIGGERS.discovery_min_history, ge=0)
    trigger_cooldowns_s: str = ",".join(f"{k}={ms // 1000}" for k, ms in _TRIGGERS.cooldown_ms.items() if ms)
    """Per-kind cooldowns in event-time seconds, KIND=SECONDS pairs separated by commas."""
    trigger_user_cooldown_s: float = Field(default=_TRIGGERS.user_cooldown_ms / 1000, ge=0)

    # -- story agent ----------------------------------------------------------------------------
    stories_app_id: str = "linernotes-stories"
    story_max_in_flight: int = Field(default=32, ge=1)
    story_candidates: int = Field(default=2, ge=1, le=8)
    story_regenerations: int = Field(default=1, ge=0, le=5)
    story_max_new_tokens: int = Field(default=48, ge=8, le=256)
    story_attempts: int = Field(default=3, ge=1)
    """Model failures on one request before it goes to the DLQ (an unreachable Triton is waited out)."""
    triton_timeout_s: float = Field(default=300.0, gt=0)
    """Deadline of one Triton call, queueing included (a CPU server with 32 stories in flight is slow)."""
    story_agent_metrics_port: int = Field(default=6067, ge=0)
    """Prometheus /metrics of the story agent (0: off)."""

    # -- Triton -----------------------------------------------------------------------------
    triton_url: str = "127.0.0.1:18001"
    triton_model: str = "story_generator"

    # -- tracing ----------------------------------------------------------------------------
    otlp_endpoint: str = "http://127.0.0.1:16006/v1/traces"
    """OTLP/HTTP traces endpoint (Phoenix locally, a collector in production); empty turns tracing off."""
    trace_ratio: float = Field(default=0.01, ge=0.0, le=1.0)
    """Share of ordinary events (those that lead to no story) whose spans are recorded too."""
    trace_user_key: SecretStr = SecretStr(DEV_TRACE_USER_KEY)
    """Key of the keyed hash (HMAC-SHA256) that replaces user ids in span attributes
    (``enduser.pseudo.id``). Set your own secret in production; the same one on every worker keeps
    a listener's traces findable across services."""
    trace_debug: bool = False
    """Debugging only: spans also carry raw user ids (``enduser.id``) and story texts."""

    # -- local stack (development only) ---------------------------------------------------
    run_dir: Path = Path(".linernotes")
    broker_port: int = 19092
    registry_port: int = 18081
    triton_http_port: int = 18000
    triton_grpc_port: int = 18001
    triton_metrics_port: int = 18002
    phoenix_port: int = 16006
    phoenix_grpc_port: int = 14317
    model_repository: Path = Path("deploy/triton/models")
    stack_timeout_s: float = Field(default=120.0, gt=0)

    def topic_specs(self) -> list[TopicSpec]:
        return [
            TopicSpec(name=self.topic_events, partitions=self.events_partitions),
            TopicSpec(name=self.topic_catalog, partitions=self.catalog_partitions, compact=True),
            TopicSpec(name=self.topic_features, partitions=self.features_partitions, compact=True),
            TopicSpec(name=self.topic_requests, partitions=self.requests_partitions),
            TopicSpec(name=self.topic_stories, partitions=self.stories_partitions),
            TopicSpec(name=self.topic_events_dlq, partitions=self.dlq_partitions),
            TopicSpec(name=self.topic_requests_dlq, partitions=self.dlq_partitions),
        ]

    def feature_config(self) -> Any:
        """The FeatureConfig these settings describe (session gap and grace, in ms)."""
        from features import FeatureConfig

        return FeatureConfig(session_gap_ms=int(self.session_gap_s * 1000), grace_ms=int(self.grace_s * 1000))

    def trigger_config(self) -> Any:
        """The TriggerConfig these settings describe (ValueError on a malformed list)."""
        from features.triggers import TriggerConfig

        def ints(text: str) -> tuple[int, ...]:
            return tuple(sorted(int(x) for x in text.split(",") if x.strip()))

        cooldowns = dict.fromkeys(KINDS, 0)  # a kind not listed has no cooldown
        for pair in filter(None, (x.strip() for x in self.trigger_cooldowns_s.split(","))):
            kind, _, seconds = pair.partition("=")
            cooldowns[kind.strip()] = int(float(seconds) * 1000)
        return TriggerConfig(
            enabled=frozenset(k.strip() for k in self.triggers.split(",") if k.strip()),
            milestones=ints(self.trigger_milestones),
            streak_days=ints(self.trigger_streak_days),
            session_min_plays=self.trigger_session_min_plays,
            discovery_min_history=self.trigger_discovery_min_history,
            cooldown_ms=cooldowns,
            user_cooldown_ms=int(self.trigger_user_cooldown_s * 1000),
        )

    def kafka_conf(self) -> dict[str, Any]:
        """librdkafka settings for confluent-kafka clients."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "logger": logging.getLogger("linernotes.librdkafka"),  # not straight to stderr
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_ca_location:
            conf["ssl.ca.location"] = self.ssl_ca_location
        return conf


def load(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit ``overrides`` (e.g. CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def known_env() -> set[str]:
    return {env_name(f) for f in Settings.model_fields}


READ_ELSEWHERE = {
    "LINERNOTES_DEBUG": "the CLI: 1 shows tracebacks",
    "LINERNOTES_MODEL_CACHE": "the story model inside Triton: where converted weights are cached",
    "LINERNOTES_TORCH_THREADS": "the story model inside Triton: torch's thread count",
    "LINERNOTES_STORY_ADAPTER": "the story model inside Triton: which frame adapter to serve",
    "LINERNOTES_VENV": "deploy/triton/stub.sh: the Python environment of the model",
    "LINERNOTES_SKIP_PHOENIX": "the tests: 1 skips the ones that need the Phoenix UI",
    "LINERNOTES_PYTHON": "scripts/setup: the Python that builds the environment",
}
"""``LINERNOTES_*`` variables that are not settings: other processes read them."""


def unread_env(known: set[str], environ: dict[str, str] | None = None) -> list[str]:
    """``LINERNOTES_*`` variables in the environment that nothing reads, each with the nearest known
    name when one is close (a misspelt variable is an error, not a silently ignored setting)."""
    import difflib

    env = os.environ if environ is None else environ
    allowed = known | known_env() | set(READ_ELSEWHERE)
    out = []
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX) and n not in allowed):
        near = difflib.get_close_matches(name, allowed, n=1, cutoff=0.8)
        out.append(f"{name} (did you mean {near[0]}?)" if near else name)
    return out
