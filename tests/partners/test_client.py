"""The dispatcher's HTTP/1.1 client against raw answers a partner (or its proxy)
may send: an informational answer before the final one, and a second answer to
one request. Neither may be read as the answer to another request."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl

from app.partners.client import Pool

FINAL_AFTER_EARLY_HINTS = (
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    b"HTTP/1.1 204 No Content\r\n\r\n"
)
TWO_ANSWERS = b"HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-"


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[int]]:
    """A server answering the n-th request on any connection with answers[n];
    it records on which connection (its number) each request came."""
    seen: list[int] = []
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        number = len({*seen}) + 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                seen.append(number)
                writer.write(answers[min(served, len(answers) - 1)])
                served += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def _pool(server: asyncio.Server) -> Pool:
    port = server.sockets[0].getsockname()[1]
    pool = Pool(f"http://127.0.0.1:{port}/hook", ssl.create_default_context(), 5.0)
    pool.use([ipaddress.ip_address("127.0.0.1")])
    return pool


async def test_an_informational_answer_is_not_the_answer() -> None:
    server, seen = await _serve([FINAL_AFTER_EARLY_HINTS])
    async with server:
        pool = _pool(server)
        assert await pool.post(b"", b"{}") == 204
        assert await pool.post(b"", b"{}") == 204  # and the connection carries on
        pool.close()
    assert seen == [1, 1]


async def test_a_second_answer_to_one_request_closes_the_connection() -> None:
    # The stray 500 must not become the next request's answer: the next request
    # goes on a new connection and gets its own answer.
    server, seen = await _serve([TWO_ANSWERS, b"HTTP/1.1 204 No Content\r\n\r\n"])
    async with server:
        pool = _pool(server)
        assert await pool.post(b"", b"{}") == 204
        await asyncio.sleep(0.05)
        assert await pool.post(b"", b"{}") == 204
        pool.close()
    assert seen == [1, 2]
