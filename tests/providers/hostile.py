"""Hostile vendors on loopback, for what the emulator cannot (or must not) do.

- `HostileVendor`: answers what a test scripts and forwards the rest to the emulator: echo the
  request's auth header back, trickle an answer one byte at a time, ask to retry in an hour.
- `hostile_vendor`: answers every request from a function with JSON the vendor pages do not
  allow (a `"false"` string for a boolean, `null` list items, endless empty pages), so the
  providers' border checks can be seen failing over real HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx


@dataclass(frozen=True)
class Answer:
    """One scripted answer; `gap_s` > 0 sends the whole response a byte at a time."""

    status: int
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    gap_s: float = 0.0


# (method, path, headers) -> the answer to give, or None to forward to the upstream.
Rule = Callable[[str, str, dict[str, str]], Answer | None]


class HostileVendor:
    """A vendor on loopback whose answers a test scripts with `rule`."""

    def __init__(self, rule: Rule, *, upstream: str | None = None) -> None:
        self.rule = rule
        self.seen: list[tuple[str, str]] = []
        self._stop = threading.Event()
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                vendor.seen.append((self.command, self.path))
                answer = vendor.rule(self.command, self.path, headers)
                if answer is None:
                    answer = vendor._forward(self.command, self.path, headers, body, upstream)
                raw = self._raw(answer)
                try:
                    if answer.gap_s <= 0:
                        self.wfile.write(raw)
                        return
                    for i in range(len(raw)):
                        if vendor._stop.wait(answer.gap_s):
                            return
                        self.wfile.write(raw[i : i + 1])
                        self.wfile.flush()
                except OSError:
                    return  # the client gave up: what a deadline is for

            def _raw(self, answer: Answer) -> bytes:
                lines = [f"HTTP/1.1 {answer.status} Scripted"]
                extra = {"content-type": "application/json", **answer.headers}
                lines += [f"{k}: {v}" for k, v in extra.items()]
                lines.append(f"content-length: {len(answer.body)}")
                return ("\r\n".join(lines) + "\r\n\r\n").encode() + answer.body

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def _forward(
        method: str, path: str, headers: dict[str, str], body: bytes, upstream: str | None
    ) -> Answer:
        if upstream is None:
            return Answer(404, b'{"errors": [{"error": "NOT_SCRIPTED", "message": "no rule"}]}')
        keep = {k: v for k, v in headers.items() if k in ("authorization", "content-type")}
        response = httpx.request(method, upstream + path, headers=keep, content=body, timeout=10)
        return Answer(response.status_code, response.content)

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


# (method, path, query) -> (status, JSON body, or bytes sent as they are)
JsonAnswer = Callable[[str, str, dict[str, str]], tuple[int, object]]


@dataclass
class Hostile:
    """The server's base URL and every request it was sent, in order."""

    url: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def hostile_vendor(answer: JsonAnswer) -> Iterator[Hostile]:
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
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
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
