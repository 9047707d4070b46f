"""Every Kafka client gets the security settings when ``security_protocol`` is not PLAINTEXT: faust's
consumer and producer (built with what ``make_faust_app`` gives faust), and the confluent-kafka
clients (built from ``Settings.kafka_conf``). deploy/k8s offers only a SASL_SSL listener, so a
client left on PLAINTEXT cannot connect at all."""

from __future__ import annotations

import ast
import asyncio
import ssl
from pathlib import Path
from typing import Any

import certifi
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.config.settings import Settings
from streams.worker.consumer import BatchTransport
from streams.worker.faust_app import broker_credentials, make_faust_app

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = {"Consumer", "Producer", "AdminClient"}


def secure(protocol: str = "SASL_SSL", **extra: Any) -> Settings:
    fields: dict[str, Any] = {
        "bootstrap_servers": "broker-0:9093",
        "security_protocol": protocol,
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "linernotes-features",
        "sasl_password": "s3cret",
        "ssl_ca_location": certifi.where(),
    }
    return Settings(**(fields | extra))


def recording(cls: type) -> type:
    """A subclass of an aiokafka client class that keeps the keyword arguments faust builds it
    with; it stays a real client (constructing one connects to nothing)."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        type(self).seen.append(kwargs)
        cls.__init__(self, *args, **kwargs)

    return type(f"Recording{cls.__name__}", (cls,), {"seen": [], "__init__": __init__})


def faust_client_kwargs(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The kwargs faust passes to aiokafka's consumer (the worker's BatchConsumer, as build_worker
    swaps it in) and producer, without connecting to anything."""
    aiokafka = faust_aiokafka.aiokafka
    consumers, producers = recording(aiokafka.AIOKafkaConsumer), recording(aiokafka.AIOKafkaProducer)
    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", consumers)
    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", producers)

    async def build() -> None:
        app = make_faust_app(settings, data_dir=tmp_path)
        app.transport = BatchTransport(app.conf.broker_consumer, app)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        producer = app.producer._new_producer()
        await consumer.stop()
        await producer.stop()

    asyncio.run(build())
    return {"consumer": consumers.seen[-1], "producer": producers.seen[-1]}


def test_faust_consumer_and_producer_get_sasl_and_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = faust_client_kwargs(secure(), tmp_path, monkeypatch)
    for role, kwargs in seen.items():
        assert kwargs["security_protocol"] == "SASL_SSL", role
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512", role
        assert kwargs["sasl_plain_username"] == "linernotes-features", role
        assert kwargs["sasl_plain_password"] == "s3cret", role
        context = kwargs["ssl_context"]
        assert isinstance(context, ssl.SSLContext), role
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname, role
        assert context.get_ca_certs(), f"{role}: the CA file was not loaded"


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("SASL_PLAINTEXT", "SASL_PLAINTEXT"), ("SSL", "SSL"), ("PLAINTEXT", "PLAINTEXT")],
)
def test_faust_clients_follow_the_protocol(
    protocol: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = faust_client_kwargs(secure(protocol), tmp_path, monkeypatch)
    for role, kwargs in seen.items():
        assert kwargs["security_protocol"] == expected, role
        has_context = kwargs.get("ssl_context") is not None
        assert has_context == protocol.endswith("SSL"), role
        assert ("sasl_plain_username" in kwargs) == protocol.startswith("SASL"), role


def test_sasl_without_a_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="sasl_mechanism"):
        broker_credentials(secure(sasl_mechanism=None))


def test_confluent_conf_carries_the_security_settings() -> None:
    conf = secure().kafka_conf()
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"
    assert conf["sasl.username"] == "linernotes-features"
    assert conf["sasl.password"] == "s3cret"
    assert conf["ssl.ca.location"] == certifi.where()


def test_record_producer_and_topic_admin_use_the_security_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.kafka import producer, topics

    built: list[dict[str, Any]] = []

    class Client:
        def __init__(self, conf: dict[str, Any]) -> None:
            built.append(conf)

    monkeypatch.setattr(producer, "Producer", Client)
    monkeypatch.setattr(topics, "AdminClient", Client)
    producer.RecordProducer(secure())
    topics._admin(secure())
    assert len(built) == 2
    for conf in built:
        assert conf["security.protocol"] == "SASL_SSL" and conf["sasl.password"] == "s3cret"


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _runtime_modules() -> list[tuple[Path, str, ast.Module]]:
    out = []
    for path in sorted((ROOT / "streams").rglob("*.py")):
        if "devstack" not in path.parts:  # the local stack is PLAINTEXT by design
            source = path.read_text()
            out.append((path, source, ast.parse(source)))
    return out


def _from_kafka_conf(expr: str) -> bool:
    return "kafka_conf()" in expr


def test_every_confluent_client_is_built_from_kafka_conf() -> None:
    """Each Consumer/Producer/AdminClient of the runtime takes its config from ``kafka_conf()``:
    directly, through a local built from it, or through a ``conf`` parameter whose every caller
    passes ``kafka_conf()`` (or passes its own such parameter on). A client given a hand-made config
    would miss the SASL/TLS settings."""
    modules = _runtime_modules()
    offenders: list[str] = []
    conf_params: dict[str, int] = {}  # function or class taking the config -> its argument's index
    attributes: set[str] = set()  # instance attributes a client's config is read from
    for path, source, tree in modules:
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) in CLIENTS):
            arg = ast.get_source_segment(source, call.args[0]) if call.args else None
            if arg is None:
                offenders.append(f"{path.name}:{call.lineno}: no config")
                continue
            if _from_kafka_conf(arg):
                continue
            names = {_name(n) for n in ast.walk(call.args[0])} - {None}
            local = [
                ast.get_source_segment(source, n.value) or ""
                for n in ast.walk(tree)
                if isinstance(n, ast.Assign) and any(_name(t) in names for t in n.targets)
            ]
            if any(_from_kafka_conf(v) for v in local):
                continue
            owner = next(f for f in functions if f.lineno <= call.lineno <= (f.end_lineno or f.lineno))
            params = [a.arg for a in owner.args.args]
            if "conf" in names and "conf" in params:
                conf_params[owner.name] = params.index("conf") - (1 if params[0] == "self" else 0)
            elif names & {"_conf", "probe_conf"}:
                attributes |= names & {"_conf", "probe_conf"}
                if owner.name != "__init__":
                    init = next(
                        (f for f in functions if f.name == "__init__" and "conf" in [a.arg for a in f.args.args]), None
                    )
                    cls = next((c for c in ast.walk(tree) if isinstance(c, ast.ClassDef) and init in c.body), None)
                    if init is not None and cls is not None:
                        conf_params[cls.name] = [a.arg for a in init.args.args].index("conf") - 1
            else:
                offenders.append(f"{path.name}:{call.lineno}: {arg[:60]}")
    assert not offenders, offenders
    assert conf_params, "expected some clients to receive their config as a parameter"
    for path, source, tree in modules:
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) in conf_params):
            index = conf_params[_name(call.func) or ""]
            given = next((k.value for k in call.keywords if k.arg == "conf"), None)
            given = given if given is not None else (call.args[index] if len(call.args) > index else None)
            text = ast.get_source_segment(source, given) if given is not None else None
            assert text is not None, f"{path.name}:{call.lineno}: no config passed"
            assert (
                _from_kafka_conf(text) or text in {"conf", "dict(conf)"} or "probe_conf" in text or "_conf" in text
            ), f"{path.name}:{call.lineno}: {text}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(_name(t) in attributes for t in node.targets):
                value = ast.get_source_segment(source, node.value) or ""
                assert _from_kafka_conf(value) or value in {"conf", "None"}, f"{path.name}:{node.lineno}: {value}"
