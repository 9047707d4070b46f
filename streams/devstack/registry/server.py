"""HTTP front of the local registry: the Confluent REST subset the client and serializers use.

Run: ``python -m streams.devstack.registry.server --port 8081 --bootstrap 127.0.0.1:9092``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from streams.devstack.registry.log import KafkaLog
from streams.devstack.registry.store import RegistryHTTPError, Store

log = logging.getLogger("linernotes.registry")
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

Route = tuple[str, re.Pattern[str], str]
_ROUTES: list[Route] = [
    (m, re.compile(f"^{p}$"), h)
    for m, p, h in [
        ("GET", r"/", "root"),
        ("GET", r"/subjects", "list_subjects"),
        ("GET", r"/subjects/(?P<subject>[^/]+)/versions", "list_versions"),
        ("POST", r"/subjects/(?P<subject>[^/]+)/versions", "register"),
        ("GET", r"/subjects/(?P<subject>[^/]+)/versions/(?P<version>[^/]+)", "get_version"),
        ("GET", r"/subjects/(?P<subject>[^/]+)/versions/(?P<version>[^/]+)/schema", "get_version_schema"),
        ("POST", r"/subjects/(?P<subject>[^/]+)", "lookup"),
        ("DELETE", r"/subjects/(?P<subject>[^/]+)", "delete_subject"),
        ("GET", r"/schemas/ids/(?P<id>\d+)", "get_schema"),
        ("GET", r"/schemas/ids/(?P<id>\d+)/schema", "get_schema_raw"),
        ("GET", r"/schemas/ids/(?P<id>\d+)/versions", "get_schema_versions"),
        ("GET", r"/schemas/ids/(?P<id>\d+)/subjects", "get_schema_subjects"),
        ("GET", r"/schemas/types", "schema_types"),
        ("POST", r"/compatibility/subjects/(?P<subject>[^/]+)/versions/(?P<version>[^/]+)", "compat_version"),
        ("POST", r"/compatibility/subjects/(?P<subject>[^/]+)/versions", "compat_all"),
        ("GET", r"/config", "get_global_config"),
        ("PUT", r"/config", "put_global_config"),
        ("GET", r"/config/(?P<subject>[^/]+)", "get_config"),
        ("PUT", r"/config/(?P<subject>[^/]+)", "put_config"),
        ("DELETE", r"/config/(?P<subject>[^/]+)", "delete_config"),
    ]
]


class Api:
    """Maps requests to the store; every handler returns a JSON-able body."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _schema_of(body: dict[str, Any]) -> str:
        if body.get("schemaType", "AVRO") != "AVRO":
            raise RegistryHTTPError(422, 42201, "Only AVRO schemas are supported by this local registry")
        if body.get("references"):
            raise RegistryHTTPError(422, 42201, "Schema references are not supported by this local registry")
        schema = body.get("schema")
        if not isinstance(schema, str):
            raise RegistryHTTPError(422, 42201, "Request body needs a 'schema' string")
        return schema

    def _version_body(self, subject: str, version: str) -> dict[str, Any]:
        v = self.store.version(subject, version)
        return {"subject": v.subject, "version": v.version, "id": v.schema_id, "schema": v.schema}

    def root(self, **_: Any) -> Any:
        return {}

    def list_subjects(self, **_: Any) -> Any:
        return self.store.subjects()

    def list_versions(self, subject: str, **_: Any) -> Any:
        return self.store.versions(subject)

    def register(self, subject: str, body: dict[str, Any], **_: Any) -> Any:
        sid = self.store.register(subject, self._schema_of(body))
        return {"id": sid}

    def get_version(self, subject: str, version: str, **_: Any) -> Any:
        return self._version_body(subject, version)

    def get_version_schema(self, subject: str, version: str, **_: Any) -> Any:
        return json.loads(self.store.version(subject, version).schema)

    def lookup(self, subject: str, body: dict[str, Any], **_: Any) -> Any:
        v = self.store.lookup(subject, self._schema_of(body))
        return {"subject": v.subject, "version": v.version, "id": v.schema_id, "schema": v.schema}

    def delete_subject(self, subject: str, **_: Any) -> Any:
        return self.store.delete_subject(subject)

    def get_schema(self, id: str, **_: Any) -> Any:
        return {"schema": self.store.schema(int(id))}

    def get_schema_raw(self, id: str, **_: Any) -> Any:
        return json.loads(self.store.schema(int(id)))

    def get_schema_versions(self, id: str, **_: Any) -> Any:
        return [{"subject": s, "version": v} for s, v in self.store.subjects_of(int(id))]

    def get_schema_subjects(self, id: str, **_: Any) -> Any:
        return sorted({s for s, _ in self.store.subjects_of(int(id))})

    def schema_types(self, **_: Any) -> Any:
        return ["AVRO"]

    def compat_version(self, subject: str, version: str, body: dict[str, Any], query: dict[str, str], **_: Any) -> Any:
        ok, why = self.store.test_compatibility(subject, self._schema_of(body), version)
        return {"is_compatible": ok, **({"messages": why} if query.get("verbose") == "true" else {})}

    def compat_all(self, subject: str, body: dict[str, Any], query: dict[str, str], **_: Any) -> Any:
        ok, why = self.store.test_compatibility(subject, self._schema_of(body), None)
        return {"is_compatible": ok, **({"messages": why} if query.get("verbose") == "true" else {})}

    def get_global_config(self, **_: Any) -> Any:
        return {"compatibilityLevel": self.store.level(None)}

    def put_global_config(self, body: dict[str, Any], **_: Any) -> Any:
        level = str(body.get("compatibility", "")).upper()
        self.store.set_level(None, level)
        return {"compatibility": level}

    def get_config(self, subject: str, query: dict[str, str], **_: Any) -> Any:
        fallback = query.get("defaultToGlobal", "false") == "true"
        return {"compatibilityLevel": self.store.level(subject, fallback=fallback)}

    def put_config(self, subject: str, body: dict[str, Any], **_: Any) -> Any:
        level = str(body.get("compatibility", "")).upper()
        self.store.set_level(subject, level)
        return {"compatibility": level}

    def delete_config(self, subject: str, **_: Any) -> Any:
        level = self.store.level(subject, fallback=False)
        self.store.set_level(subject, None)
        return {"compatibilityLevel": level}


def route(api: Api, method: str, path: str, body: Any, query: dict[str, str]) -> tuple[int, Any]:
    """The status and body of the response to a request, with errors as the Confluent registry writes them."""
    matched_path = False
    for m, pattern, handler in _ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        matched_path = True
        if m != method:
            continue
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        try:
            return 200, getattr(api, handler)(body=body, query=query, **params)
        except RegistryHTTPError as e:
            return e.status, {"error_code": e.code, "message": e.message}
        except Exception as e:
            log.exception("registry request failed")
            return 500, {"error_code": 50001, "message": f"Error in the backend data store: {e}"}
    if matched_path:
        return 405, {"error_code": 405, "message": f"Method {method} not allowed"}
    return 404, {"error_code": 404, "message": f"HTTP {HTTPStatus.NOT_FOUND.phrase}"}


def make_handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # A response is written as headers, then body. On a kept-alive connection, Nagle's algorithm
        # would hold the body until the client's delayed ACK of the headers.
        disable_nagle_algorithm = True

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self, method: str) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = url.path.rstrip("/") or "/"
            try:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
            except (ValueError, json.JSONDecodeError):
                self._send(400, {"error_code": 400, "message": "Request body is not valid JSON"})
                return
            self._send(*route(api, method, path, body, query))

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PUT(self) -> None:
            self._dispatch("PUT")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

    return Handler


def build(bootstrap: str, *, topic: str = "_schemas", client_conf: dict[str, Any] | None = None) -> Store:
    """A store whose log is the ``topic`` on ``bootstrap``, with that log replayed into it."""
    kafka_log = KafkaLog(bootstrap, topic, client_conf=client_conf)
    kafka_log.ensure_topic()
    store = Store(kafka_log.append)
    count = 0
    for entry in kafka_log.replay():
        store.apply(entry)
        count += 1
    log.info("registry: replayed %d entries from %s", count, topic)
    return store


def serve(host: str, port: int, store: Store) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(Api(store)))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="linernotes local schema registry (local stack only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="_schemas")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = build(args.bootstrap, topic=args.topic)
    server = serve(args.host, args.port, store)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    log.info("registry: listening on http://%s:%d", args.host, args.port)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
