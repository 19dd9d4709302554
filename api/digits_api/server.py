"""The HTTP server under the app: uvicorn, with the limits a server open to clients needs.

uvicorn's httptools protocol is fast but has none of the limits a server open to clients needs: it takes a
request's line and headers of any size, in any number and at any pace, keeps a connection that never sends a
byte, and answers what it refuses in plain text. :class:`LimitedHttpProtocol` adds those limits and answers in
JSON like the app. Request bodies are the app's to bound (``body.py``): their limits differ per route.

What stays plain text: uvicorn's own "Internal Server Error", sent only when the ASGI application raises before
Starlette's error middleware (which answers in JSON) sees it, so never with this app.
"""

from __future__ import annotations

import asyncio
import http
from typing import Any

import httptools
import orjson
from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from digits_api.settings import ApiSettings

# How long a client refused for load should wait before retrying, in seconds.
RETRY_AFTER_S = 1
# Answered even over the concurrency limit (see routes/service.py).
LIVENESS_PATH = b"/healthz"


def _json_body(detail: str) -> bytes:
    return orjson.dumps({"detail": detail})


async def _over_capacity(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer over ``limit_concurrency`` (uvicorn's own is plain text)."""
    body = _json_body("the server is at its concurrency limit; retry shortly")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _Refused(Exception):
    """Raised in a parser callback to stop parsing a request over a limit (httptools then raises its own)."""


class _CoalescedWrites:
    """A connection's transport whose writes made in one turn of the event loop leave as one.

    uvicorn writes a response's head and its body separately; on their own, that is two sends and two
    packets per response, for the server and for its client. Held bytes leave at the end of the turn (or
    before a close), so a streamed body is not delayed further.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(data)

    def _flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with limits on connections and request heads, refusing in JSON.

    - a connection that sends nothing is closed after the keep-alive timeout (uvicorn times out only the idle
      time between requests);
    - a request's line and headers must arrive within ``header_timeout_s`` of their first byte (else 408) and
      fit in ``max_header_bytes`` (else 414 for the line, 431 for the headers) and ``max_header_count`` fields
      (else 431): a slow drip of headers, or 64 MB of them, no longer holds a connection or the event loop;
    - over uvicorn's ``limit_concurrency`` a request gets 503 with Retry-After, except the liveness probe's;
    - what httptools cannot parse gets 400.

    Every refusal closes the connection. The limits are class attributes: see :func:`limited_protocol`.
    """

    header_timeout_s = 10.0
    max_header_bytes = 16 * 1024
    max_header_count = 100

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # The concurrency check is made here, to answer in JSON; uvicorn's own would answer first in plain text.
        self.capacity, self.limit_concurrency = self.limit_concurrency, None
        self.application = self.app
        self.in_head = False
        self.head_bytes = 0  # of the request line and header fields the parser has passed on
        self.head_data_bytes = 0  # received while the head was incomplete: covers a field still being parsed
        self.header_count = 0
        self.header_timer: asyncio.TimerHandle | None = None
        self.refusal = (400, "invalid HTTP request")

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescedWrites(transport, self.loop))  # type: ignore[arg-type]
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Unlike uvicorn's, bytes that start no request (a stream of blank lines) do not stop the keep-alive
        # timeout: on_message_begin does.
        if self.in_head:
            self.head_data_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # no WebSocket here (ws="none"): the request was served as plain HTTP
        except httptools.HttpParserError:
            self._refuse(*self.refusal)
            return
        if self.in_head:
            if self.head_data_bytes > self.max_header_bytes:
                self._refuse(431, f"request line and headers exceed {self.max_header_bytes} bytes")
            elif self.header_timer is None:
                self.header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._unset_keepalive_if_required()
        self.in_head = True
        self.head_bytes = self.head_data_bytes = self.header_count = 0
        self.refusal = (400, "invalid HTTP request")

    def on_url(self, url: bytes) -> None:
        self.head_bytes += len(url)
        if self.head_bytes > self.max_header_bytes:
            self._stop(414, f"request line exceeds {self.max_header_bytes} bytes")
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        self.header_count += 1
        if self.header_count > self.max_header_count:
            self._stop(431, f"more than {self.max_header_count} header fields")
        if self.head_bytes > self.max_header_bytes:
            self._stop(431, f"request line and headers exceed {self.max_header_bytes} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._cancel_header_timer()
        capacity = self.capacity
        over = capacity is not None and (len(self.connections) >= capacity or len(self.tasks) >= capacity)
        # Liveness always answers: a pod at its limit is busy, not dead (readiness may say it is full).
        over = over and self.url.partition(b"?")[0] != LIVENESS_PATH
        if over:
            self.logger.warning("Exceeded concurrency limit.")
        self.app = _over_capacity if over else self.application
        super().on_headers_complete()

    def _stop(self, status: int, detail: str) -> None:
        self.refusal = (status, detail)
        raise _Refused(detail)

    def _header_timeout(self) -> None:
        self.header_timer = None
        if self.in_head:
            self._refuse(408, f"request headers not received within {self.header_timeout_s:g} s")

    def _cancel_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` in JSON, unless a response is under way on this connection, and close it."""
        if self.transport.is_closing():
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        self.logger.warning("Refused a request from %s: %d %s", client, status, detail)
        if self.cycle is None or self.cycle.response_complete:
            body = _json_body(detail)
            head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
            head += [name + b": " + value for name, value in self.server_state.default_headers]
            head += [b"content-type: application/json", b"content-length: %d" % len(body), b"connection: close"]
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()


def limited_protocol(settings: ApiSettings) -> type[LimitedHttpProtocol]:
    """The protocol class with the limits of ``settings`` (uvicorn makes one instance per connection)."""

    class Limited(LimitedHttpProtocol):
        header_timeout_s = settings.header_timeout_s
        max_header_bytes = settings.max_header_bytes
        max_header_count = settings.max_header_count

    return Limited


def uvicorn_options(settings: ApiSettings) -> dict[str, Any]:
    """How uvicorn runs the app (also used by ``make bench`` for its no-op apps, so they share the stack)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": limited_protocol(settings),
        "ws": "none",  # no WebSocket routes: an upgrade request is served as plain HTTP
        "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "log_level": settings.log_level,
        "access_log": False,
        # Nothing here reads the client's address: no X-Forwarded-For rewriting on every request.
        "proxy_headers": False,
        # The model runs inline on the event loop; one process per container, scale with replicas.
        "workers": 1,
    }
