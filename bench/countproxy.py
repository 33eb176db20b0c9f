"""A counting reverse proxy for the benchmarks: between a bridge (or any client) and
Keycloak, it forwards HTTP/1.1 bytes as they are and counts each request by method and path
pattern (ids and the realm's name replaced, the query string dropped), with the time
Keycloak took to start answering it (request forwarded -> first byte back) and the bytes of
the request's body.

Standard library only, one process of its own (`python bench/countproxy.py`), so that its
work does not share the load generator's interpreter. Each `--listen NAME=PORT` forwards to
`--upstream HOST:PORT` and counts under NAME. The `Host` header is rewritten to the one a
direct client sends (`--host-header`), so that Keycloak builds its links, token issuers and
redirects as if called directly. A control port answers `GET /counts` (JSON: {name:
{pattern: [requests, seconds, body bytes]}}) and `POST /reset`.

It assumes what the bridge and httpx send: no pipelining (one request in flight per
connection), request bodies with Content-Length or chunked. Responses are piped through
unread; the next request on a connection ends the previous one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

# Counted as a pattern of its own: TCP connections opened (clients that reuse theirs open few).
CONNECTIONS = "TCP connections opened"
IDS = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REALM = re.compile(r"^/(admin/realms|realms)/[^/]+")


def pattern(method: str, target: str) -> str:
    path = target.split("?", 1)[0]
    path = IDS.sub("/{id}", path)
    path = REALM.sub(lambda m: f"/{m.group(1)}/{{realm}}", path)
    return f"{method} {path}"


class Counts:
    def __init__(self) -> None:
        # name -> pattern -> [requests, seconds until Keycloak's first byte, body bytes]
        self.table: dict[str, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0.0, 0])
        )

    def add(self, name: str, key: str, seconds: float, body: int) -> None:
        row = self.table[name][key]
        row[0] += 1
        row[1] += seconds
        row[2] += body

    def snapshot(self) -> dict[str, dict[str, list[float]]]:
        return {name: {k: list(v) for k, v in rows.items()} for name, rows in self.table.items()}

    def reset(self) -> None:
        self.table.clear()


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        body += line
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, then the empty line
                trailer = await reader.readuntil(b"\r\n")
                body += trailer
                if trailer == b"\r\n":
                    return bytes(body)
        body += await reader.readexactly(size + 2)


class Exchange:
    """The request of a connection waiting for its answer's first byte."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.body = 0
        self.sent_at = 0.0


async def serve_connection(
    name: str,
    upstream: tuple[str, int],
    host_header: str,
    counts: Counts,
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
) -> None:
    host, port = upstream
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        client_writer.close()
        return
    pending = Exchange()
    counts.add(name, CONNECTIONS, 0.0, 0)

    async def answers() -> None:
        try:
            while data := await up_reader.read(65536):
                if pending.key is not None:
                    counts.add(
                        name, pending.key, time.perf_counter() - pending.sent_at, pending.body
                    )
                    pending.key = None
                client_writer.write(data)
                await client_writer.drain()
        except ConnectionError:
            pass
        finally:
            client_writer.close()

    pump = asyncio.create_task(answers())
    try:
        while (head := await read_head(client_reader)) is not None:
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            length, chunked = 0, False
            for line in lines[1:]:
                if not line:
                    continue
                field, _, value = line.partition(":")
                lower = field.strip().lower()
                if lower == "host":
                    line = f"Host: {host_header}"
                elif lower == "content-length":
                    length = int(value.strip())
                elif lower == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                headers.append(line)
            if chunked:
                body = await read_chunked(client_reader)
            else:
                body = await client_reader.readexactly(length) if length else b""
            pending.key = pattern(method, target)
            pending.body = len(body)
            pending.sent_at = time.perf_counter()
            up_writer.write(("\r\n".join([lines[0], *headers]) + "\r\n\r\n").encode("latin-1"))
            up_writer.write(body)
            await up_writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        up_writer.close()
        await asyncio.gather(pump, return_exceptions=True)


async def control(
    counts: Counts, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    head = await read_head(reader)
    if head is not None:
        if head.startswith(b"POST /reset"):
            counts.reset()
            body = b"{}"
        else:
            body = json.dumps(counts.snapshot()).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    writer.close()


async def main(
    listen: list[tuple[str, int]], upstream: tuple[str, int], host_header: str, control_port: int
) -> None:
    counts = Counts()

    def handler(
        name: str,
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        return lambda r, w: serve_connection(name, upstream, host_header, counts, r, w)

    servers = [
        await asyncio.start_server(handler(name), "127.0.0.1", port) for name, port in listen
    ]
    servers.append(
        await asyncio.start_server(lambda r, w: control(counts, r, w), "127.0.0.1", control_port)
    )
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="HOST:PORT to connect to")
    parser.add_argument("--host-header", required=True, help="the Host a direct client sends")
    parser.add_argument("--listen", action="append", required=True, help="NAME=PORT")
    parser.add_argument("--control", type=int, required=True, help="port of GET /counts")
    args = parser.parse_args()
    up_host, _, up_port = args.upstream.rpartition(":")
    pairs = [(n, int(p)) for n, _, p in (item.partition("=") for item in args.listen)]
    asyncio.run(main(pairs, (up_host, int(up_port)), args.host_header, args.control))
