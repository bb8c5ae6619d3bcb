"""The dispatcher's HTTP/1.1 client: one POST at a time per connection, on
connections kept alive in a pool per target, opened to addresses the caller
checked (SPEC §11: no name is resolved here, so a DNS answer cannot change
between the check and the connect), TLS verifying the URL's host name, and no
redirect ever followed (a 3xx is an answer like any other).

Why not httpx: on this project's loaded two-core machine, httpx (httpcore,
anyio, h11) cost about 1 ms of CPU per request against a loopback receiver,
capping a dispatcher at a few hundred deliveries a second; this client, on
uvicorn's C parser (httptools), costs about 20 µs (BENCHMARKS.md, "Webhooks:
fan-out"). httpx still builds the TLS context and normalises the URL.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import cast

import httptools
import httpx

from app.partners.targets import IPAddress

# A partner's answer is read (so that the connection can carry the next request)
# and dropped; past this much, the connection is closed instead.
MAX_ANSWER = 64 * 1024
KEEP_ALIVE = 30.0  # seconds an idle connection is kept


class AnswerError(Exception):
    """The connection closed, or the answer was not HTTP/1.1."""


class _Connection(asyncio.Protocol):
    """One connection; `answer` is the status of the request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.answer: asyncio.Future[int] | None = None
        self.status: int | None = None  # once the answer's head is in
        self.read = 0
        self.keep = False
        self.idle_since = 0.0

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def request(self, data: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.status, self.read, self.keep = None, 0, False
        self.transport.write(data)
        return self.answer

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _settle(self, status: int | None, error: str | None = None) -> None:
        if self.answer is not None and not self.answer.done():
            if status is None:
                self.answer.set_exception(AnswerError(error or "no answer"))
            else:
                self.answer.set_result(status)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.answer is None or self.answer.done():
            self.close()  # nothing was asked
            return
        self.read += len(data)
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self.close()
            self._settle(None, "the answer is not HTTP/1.1")
            return
        if self.read > MAX_ANSWER and not self.answer.done():
            self.close()  # the status is what counts: not worth reading on
            self._settle(self.status, "the answer's head is too long")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        # An answer whose body runs until the connection closes ends here.
        self._settle(self.status, "the connection closed")

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.answer is None or self.answer.done():
            # A second answer to one request: its bytes must never be read as
            # the next request's answer, so the connection is not reused.
            self.keep = False
            self.close()

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            return  # informational (100, 103): the final answer follows
        self.status = status

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            if status == 101:  # a protocol switch was never asked for
                self.close()
                self._settle(None, "the answer switched protocols")
            return
        self.keep = self.parser.should_keep_alive()
        self._settle(status)


class Pool:
    """Connections to one target, kept alive between requests; at most as many
    as requests are in flight at once (the dispatcher bounds them)."""

    def __init__(self, url: str, tls: ssl.SSLContext, connect_timeout: float) -> None:
        parsed = httpx.URL(url)
        self.host, self.port = parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
        self.tls = tls if parsed.scheme == "https" else None
        self.connect_timeout = connect_timeout
        self.head = b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (parsed.raw_path, parsed.netloc)
        self.idle: list[_Connection] = []
        self.addresses: list[IPAddress] = []

    def use(self, addresses: list[IPAddress]) -> None:
        """New connections go to these (checked) addresses; those kept alive to
        others are closed."""
        if addresses != self.addresses:
            self.close()
            self.addresses = list(addresses)

    async def post(self, headers: bytes, body: bytes) -> int:
        """The status of the answer to a POST (`headers`: CRLF-terminated lines).
        A kept-alive connection the target closed meanwhile is replaced once."""
        data = b"%s%sContent-Length: %d\r\n\r\n%s" % (self.head, headers, len(body), body)
        connection = self._reuse()
        if connection is not None:
            try:
                return await self._exchange(connection, data)
            except AnswerError:
                if connection.read:  # it did answer something: not a stale connection
                    raise
        return await self._exchange(await self._connect(), data)

    async def _exchange(self, connection: _Connection, data: bytes) -> int:
        try:
            status = await connection.request(data)
        except BaseException:
            connection.close()
            raise
        if connection.keep and connection.open:
            connection.idle_since = time.monotonic()
            self.idle.append(connection)
        else:
            connection.close()
        return status

    def _reuse(self) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if connection.open and time.monotonic() - connection.idle_since < KEEP_ALIVE:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        error: Exception = AnswerError("the target has no checked address")
        for address in self.addresses:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    _, connection = await loop.create_connection(
                        _Connection,
                        str(address),
                        self.port,
                        ssl=self.tls,
                        server_hostname=self.host if self.tls else None,
                    )
                return connection
            except (OSError, TimeoutError) as exc:
                error = exc
        raise error

    def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()
