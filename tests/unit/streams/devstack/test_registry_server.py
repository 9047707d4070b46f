"""The registry's HTTP front without Kafka: routing and the error bodies confluent-kafka's client reads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from streams.devstack.registry.server import serve
from streams.devstack.registry.store import Store

SCHEMA = json.dumps({"type": "record", "name": "T", "fields": [{"name": "a", "type": "string"}]})


@pytest.fixture
def url() -> Iterator[str]:
    log: list = []
    server = serve("127.0.0.1", 0, Store(log.append))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_registered_schema_is_found_by_id_and_by_subject(url: str) -> None:
    r = httpx.post(f"{url}/subjects/t-value/versions", json={"schema": SCHEMA})
    assert r.status_code == 200
    sid = r.json()["id"]
    assert httpx.get(f"{url}/schemas/ids/{sid}").json() == {"schema": SCHEMA}
    assert httpx.get(f"{url}/subjects/t-value/versions").json() == [1]
    assert httpx.get(f"{url}/subjects").json() == ["t-value"]


def test_errors_carry_the_status_and_the_registry_error_code(url: str) -> None:
    missing = httpx.get(f"{url}/subjects/nope/versions/1")
    assert missing.status_code == 404 and missing.json()["error_code"] == 40401
    unknown_path = httpx.get(f"{url}/no/such/path")
    assert unknown_path.status_code == 404 and unknown_path.json()["error_code"] == 404
    wrong_method = httpx.put(f"{url}/subjects", json={})
    assert wrong_method.status_code == 405 and wrong_method.json()["error_code"] == 405
    not_json = httpx.post(f"{url}/subjects/t-value/versions", content=b"{")
    assert not_json.status_code == 400
    not_avro = httpx.post(f"{url}/subjects/t-value/versions", json={"schema": SCHEMA, "schemaType": "JSON"})
    assert not_avro.status_code == 422 and not_avro.json()["error_code"] == 42201
