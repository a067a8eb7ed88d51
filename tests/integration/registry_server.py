"""A small Confluent Schema Registry for tests: the REST calls the Python client makes.

Implemented: `GET /schemas/types`, `POST /subjects/{s}/versions`, `GET /schemas/ids/{id}`,
`GET /subjects`, `GET /subjects/{s}/versions`, `GET /subjects/{s}/versions/{v|latest}`, for
the schema types AVRO, JSON and PROTOBUF (with references; a schema is served as registered).
Schema ids are global (one id per distinct schema text), versions count per subject, and every
request is recorded so that tests can see what the client asked.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryServer:
    def __init__(self, password: str | None = None) -> None:
        self.schemas: dict[int, str] = {}  # id -> schema text
        self.types: dict[int, str] = {}  # id -> schema type, when not AVRO
        self.references: dict[int, list[Any]] = {}  # id -> its references, when it has any
        # id -> the Protobuf file descriptor (base64) served for `?format=serialized`, for a
        # schema registered as .proto text (a real registry compiles the text itself)
        self.serialized: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}  # subject -> ids by version
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.password = password  # when set, basic auth "user:<password>" is required
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> RegistryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def register(
        self,
        subject: str,
        schema: str,
        schema_type: str = "AVRO",
        references: list[Any] | None = None,
    ) -> int:
        with self._lock:
            ids = [i for i, text in self.schemas.items() if text == schema]
            schema_id = ids[0] if ids else len(self.schemas) + 1
            self.schemas[schema_id] = schema
            if schema_type != "AVRO":
                self.types[schema_id] = schema_type
            if references:
                self.references[schema_id] = references
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def _typed(self, schema_id: int) -> dict[str, Any]:
        """The schemaType and references of an answer (left out for plain Avro)."""
        out: dict[str, Any] = {}
        if schema_id in self.types:
            out["schemaType"] = self.types[schema_id]
        if schema_id in self.references:
            out["references"] = self.references[schema_id]
        return out

    def answer(self, method: str, path: str, body: Any, query: str = "") -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if method == "GET" and parts == ["schemas", "types"]:
            return 200, ["AVRO", "JSON", "PROTOBUF"]
        if method == "GET" and parts[:2] == ["schemas", "ids"] and len(parts) == 3:
            text = self.schemas.get(int(parts[2]))
            if text is None:
                return 404, {"error_code": 40403, "message": "Schema not found"}
            if "format=serialized" in query and int(parts[2]) in self.serialized:
                text = self.serialized[int(parts[2])]
            return 200, {"schema": text, **self._typed(int(parts[2]))}
        if parts[:1] == ["subjects"]:
            if len(parts) == 1 and method == "GET":
                return 200, sorted(self.subjects)
            subject = parts[1]
            if method == "POST" and parts[2:] == ["versions"]:
                kind = body.get("schemaType", "AVRO")
                if kind not in ("AVRO", "JSON", "PROTOBUF"):
                    return 422, {"error_code": 42201, "message": f"unknown schema type {kind}"}
                schema_id = self.register(subject, body["schema"], kind, body.get("references"))
                return 200, {"id": schema_id}
            versions = self.subjects.get(subject)
            if versions is None:
                return 404, {"error_code": 40401, "message": f"Subject '{subject}' not found."}
            if method == "GET" and parts[2:] == ["versions"]:
                return 200, list(range(1, len(versions) + 1))
            if method == "GET" and len(parts) == 4 and parts[2] == "versions":
                number = len(versions) if parts[3] == "latest" else int(parts[3])
                if not 1 <= number <= len(versions):
                    return 404, {"error_code": 40402, "message": "Version not found."}
                schema_id = versions[number - 1]
                return 200, {
                    "subject": subject,
                    "version": number,
                    "id": schema_id,
                    "schema": self.schemas[schema_id],
                    **self._typed(schema_id),
                }
        return 404, {"error_code": 404, "message": f"no route for {method} {path}"}


def _handler(registry: RegistryServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            path, query = urlsplit(self.path).path, urlsplit(self.path).query
            registry.requests.append((method, path))
            if registry.password is not None and not self._authorized():
                self._send(401, {"error_code": 401, "message": "Unauthorized"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            self._send(*registry.answer(method, path, body, query))

        def _authorized(self) -> bool:
            expected = base64.b64encode(f"user:{registry.password}".encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request list is the log."""

    return Handler
