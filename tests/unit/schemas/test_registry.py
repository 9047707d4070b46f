"""schemas.registry tells "no such schema" (bad data) from "cannot answer" (an outage), over real HTTP."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from schemas import RegistryUnavailable, SchemaNotFound
from schemas.registry import Registry


class Answers(BaseHTTPRequestHandler):
    status = 200
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        body = (
            {"schema": json.dumps({"type": "string"})}
            if self.status == 200
            else {"error_code": self.status * 100 + 3, "message": "nope"}
        )
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Answers]]]:
    handler = type("H", (Answers,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429, 401])
def test_an_error_of_the_registry_is_an_outage_and_is_asked_once(
    server: tuple[str, type[Answers]], status: int
) -> None:
    url, handler = server
    handler.status = status
    with pytest.raises(RegistryUnavailable) as e:
        Registry(url).writer_schema(7)
    assert e.value.schema_id == 7
    assert handler.requests == 1, "the client's own retries are off: schemas.retry is the one policy"


def test_not_found_is_an_answer(server: tuple[str, type[Answers]]) -> None:
    url, handler = server
    handler.status = 404
    with pytest.raises(SchemaNotFound):
        Registry(url).writer_schema(7)
    handler.status = 200
    assert json.loads(Registry(url).writer_schema(8)) == {"type": "string"}


def test_an_unreachable_registry_is_an_outage() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(RegistryUnavailable, match="unreachable"):
            Registry(f"http://127.0.0.1:{port}").writer_schema(3)
