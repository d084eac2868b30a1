"""A fast static persons-list server for the iteration benchmark (run as its own process).

    python bench/static_server.py PERSONS

It binds a loopback port, precomputes every page of PERSONS persons in the 2026 list shape
(actors: `id` is the UUID, see ../shared/posthog-persons-api.md) at 100 a page, prints
`URL http://127.0.0.1:PORT` and serves them over HTTP/1.1 keep-alive with next links. No
routing, validation or auth beyond finding `limit` and `offset` in the request target: its
cost per request is a dictionary lookup and one write, so that the time measured against it
is the client's. Other page sizes are computed on first request and cached.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import uuid
from typing import Any

PROJECT_ID = 1
API_KEY = "phx_bench_static_server_key_0123456789"
_PARAM = re.compile(rb"[?&](limit|offset)=(\d+)")
_PLANS = ("free", "pro", "enterprise")


def person(i: int) -> dict[str, Any]:
    """One list result as the 2026 server sends it (an actor)."""
    person_uuid = str(uuid.UUID(int=0x0190_0000_0000_7000_8000_0000_0000_0000 + i))
    return {
        "id": person_uuid,
        "uuid": person_uuid,
        "type": "person",
        "is_identified": True,
        "name": f"user{i}@example.com",
        "distinct_ids": [f"user-{i:07d}", str(uuid.UUID(int=i + 1))],
        "properties": {
            "email": f"user{i}@example.com",
            "name": f"User {i}",
            "plan": _PLANS[i % 3],
            "$browser": "Chrome",
            "$os": "Mac OS X",
            "$geoip_country_code": "DE",
            "logins": i % 97,
            "is_beta": i % 2 == 0,
        },
        "created_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:{i % 60:02d}:00.123000Z",
        "last_seen_at": f"2026-01-{1 + i % 28:02d}T08:{i % 60:02d}:00Z",
        "matched_recordings": [],
        "value_at_data_point": None,
    }


class Pages:
    def __init__(self, url: str, persons: int) -> None:
        self.url, self.persons = url, persons
        self.records = [json.dumps(person(i)).encode() for i in range(persons)]
        self.cache: dict[tuple[int, int], bytes] = {}

    def answer(self, limit: int, offset: int) -> bytes:
        key = (limit, offset)
        cached = self.cache.get(key)
        if cached is None:
            rows = self.records[offset : offset + limit]
            more = offset + limit < self.persons
            path = f"{self.url}/api/projects/{PROJECT_ID}/persons/"
            next_url = json.dumps(f"{path}?limit={limit}&offset={offset + limit}" if more else None)
            body = b'{"results":[' + b",".join(rows) + b'],"next":' + next_url.encode()
            body += b',"previous":null}'
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            cached = self.cache[key] = head.encode() + body
        return cached


async def serve(pages: Pages, sock: socket.socket) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1]
                params = {name: int(value) for name, value in _PARAM.findall(target)}
                writer.write(pages.answer(params.get(b"limit", 100), params.get(b"offset", 0)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, sock=sock)
    async with server:
        await server.serve_forever()


def main() -> None:
    persons = int(sys.argv[1])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    pages = Pages(url, persons)
    for offset in range(0, persons, 100):
        pages.answer(100, offset)
    print("URL", url, flush=True)
    asyncio.run(serve(pages, sock))


if __name__ == "__main__":
    main()
