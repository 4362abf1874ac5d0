"""A tiny HTTP server that answers as a hostile or sloppy vendor would, for one test.

The emulator answers as the vendor pages say; this one sends what they do not allow (a
`"false"` string for a boolean, `null` list items, endless empty pages), so the providers'
border checks can be seen failing over real HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

# (method, path, query) -> (status, JSON body)
Answer = Callable[[str, str, dict[str, str]], tuple[int, object]]


@dataclass
class Hostile:
    """The server's base URL and every request it was sent, in order."""

    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def hostile_vendor(answer: Answer) -> Iterator[Hostile]:
    """Serve `answer` on a loopback port for the length of the block."""
    log: list[tuple[str, str, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet."""

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            split = urlsplit(self.path)
            query = dict(parse_qsl(split.query))
            path = unquote(split.path)
            log.append((self.command, path, query))
            status, body = answer(self.command, path, query)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield Hostile(url=f"http://127.0.0.1:{server.server_address[1]}", requests=log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
