"""Webhook ingest: signed push deliveries against `pushgrade web` (SQLite) and against a bare
aiohttp handler that only verifies the signature, in the same run, under the same load.

    .venv/bin/python bench/ingest.py [--deliveries 2000] [--concurrency 16]

Each server runs as its own process; the load generator sends real push payloads (the shape of
../shared/github/payloads/push/with-new-branch.payload.json, a fresh GUID and head sha each) and
records every request's latency. Prints deliveries/s, p50 and p99 for both, and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
PAYLOAD = ROOT.parent / "shared" / "github" / "payloads" / "push" / "with-new-branch.payload.json"
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_bare(port: int) -> None:
    """The baseline: verify the signature, answer 202, store nothing."""

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
            return web.Response(status=401)
        return web.Response(status=202)

    app = web.Application(client_max_size=25 * 1024 * 1024)
    app.router.add_post("/webhooks/github", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.post(url, data=b"{}") as response:
                    if response.status in (400, 401):
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def load(url: str, deliveries: int, concurrency: int) -> tuple[float, list[float]]:
    template = json.loads(PAYLOAD.read_text())
    bodies = []
    for i in range(deliveries):
        template["after"] = hashlib.sha1(f"{i}-{uuid.uuid4()}".encode()).hexdigest()
        bodies.append(json.dumps(template).encode())
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            headers = {
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": str(uuid.uuid4()),
                "X-Hub-Signature-256": "sha256="
                + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/bench",
            }
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 202:
                    raise SystemExit(f"{url} answered {response.status}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(name: str, deliveries: int, elapsed: float, latencies: list[float]) -> dict:
    figures = {
        "rate": deliveries / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
    }
    print(
        f"  {name:<28} {figures['rate']:8.0f} deliveries/s   p50 {figures['p50']:6.2f} ms"
        f"   p99 {figures['p99']:6.2f} ms"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as workdir:
        bare_port, app_port = free_port(), free_port()
        env = dict(
            os.environ,
            PUSHGRADE_APP_ID="1",
            PUSHGRADE_WEBHOOK_SECRET=SECRET,
            PUSHGRADE_PORT=str(app_port),
            PUSHGRADE_DATABASE_URL=f"sqlite+aiosqlite:///{workdir}/bench.sqlite3",
        )
        cli = str(Path(sys.executable).with_name("pushgrade"))
        servers = [
            subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)]),
            subprocess.Popen([cli, "web"], env=env, stdout=subprocess.DEVNULL),
        ]
        try:
            bare_url = f"http://127.0.0.1:{bare_port}/webhooks/github"
            app_url = f"http://127.0.0.1:{app_port}/webhooks/github"
            asyncio.run(wait_up(bare_url))
            asyncio.run(wait_up(app_url))
            asyncio.run(load(app_url, 200, args.concurrency))  # warm-up, both sides
            asyncio.run(load(bare_url, 200, args.concurrency))
            print(f"{args.deliveries} signed push deliveries, {args.concurrency} concurrent")
            bare = report(
                "bare aiohttp (verify only)",
                args.deliveries,
                *asyncio.run(load(bare_url, args.deliveries, args.concurrency)),
            )
            app = report(
                "pushgrade web (SQLite)",
                args.deliveries,
                *asyncio.run(load(app_url, args.deliveries, args.concurrency)),
            )
            print(
                f"  ratio pushgrade/bare: throughput {app['rate'] / bare['rate']:.2f}, "
                f"p50 {app['p50'] / bare['p50']:.1f}x, p99 {app['p99'] / bare['p99']:.1f}x"
            )
        finally:
            for server in servers:
                server.terminate()
                server.wait(10)


if __name__ == "__main__":
    main()
