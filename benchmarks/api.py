"""The HTTP API under load on loopback: reads per second and orders created and confirmed per second.

A real ``crm serve`` (gunicorn, sync workers) on a fresh workspace of the benchmark's database
(``--database``: a SQLite file, or a PostgreSQL schema of its own, dropped) with the funnel, billing and
procurement enabled; a threaded client (``http.client``, one connection per request as gunicorn's sync
workers close them) sends requests for a bounded time and records each latency.
Targets (issue 19), on 2 cores: reads >= 300 requests/s and order creation + confirmation (one
``POST /api/v1/orders/`` with ``"confirm": true``: the order, its posted invoice and its stock
reservation in one transaction) >= 100/s, with 0 errors. The server's CPU time (master and
workers, from /proc) and the load average are printed beside the wall time: the machine may be
shared, and ``2_cores_per_s`` says what two cores of our own would serve (requests per CPU second
of the server and the client, times two).
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

READ_TARGET = 300
WRITE_TARGET = 100
WORKERS = 4
CLIENTS = 8


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children (the gunicorn master and its workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # the server has no children yet, or they just exited: count the master alone
        pass
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _request(port: int, token: str, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def _load(port: int, token: str, requests, seconds: float, clients: int, server_pid: int) -> dict:
    """Send ``requests(n) -> (method, path, body, expected status)`` from ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(number: int) -> None:
        n = number
        mine, wrong = [], []
        while time.perf_counter() < stop:
            method, path, body, expected = requests(n)
            n += clients
            began = time.perf_counter()
            try:
                status, answer = _request(port, token, method, path, body)
            except OSError as exc:
                wrong.append(f"{method} {path}: {exc}")
                continue
            mine.append(time.perf_counter() - began)
            if status != expected:
                wrong.append(f"{method} {path}: {status} {answer[:200]!r}")
        with lock:
            latencies.extend(mine)
            errors.extend(wrong)

    cpu_before, self_before, began = _cpu_seconds(server_pid), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    count = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(count - 1, int(count * p))] * 1000, 1) if count else 0.0

    cpu = _cpu_seconds(server_pid) - cpu_before
    client_cpu = self_after.ru_utime + self_after.ru_stime - self_before.ru_utime - self_before.ru_stime
    return {"requests": count, "seconds": round(wall, 2), "per_second": round(count / wall) if wall else 0,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(latencies[-1] * 1000, 1) if count else 0.0,
            "errors": len(errors), "first_error": errors[0] if errors else "",
            "server_cpu_s": round(cpu, 2), "client_cpu_s": round(client_cpu, 2),
            # what 2 cores of our own would serve: requests per CPU second of server and client, twice
            "2_cores_per_s": round(2 * count / (cpu + client_cpu)) if cpu + client_cpu else 0,
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def _crm(config: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", "from core.cli.main import main; main()", "--config", str(config),
                           *args], capture_output=True, text=True, env=_env(), timeout=300)
    if done.returncode:
        raise RuntimeError(f"crm {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("CRM_")} | {"CRM_TODAY": "2026-11-28"}


def _seed(folder: Path, customers: int) -> tuple[Path, str, list[str]]:
    from benchmarks._db import init_workspace
    from core.testing import TEST_COMPANY, sample_siren

    app = init_workspace(folder, company=TEST_COMPANY, modules=["funnel", "billing", "procurement"])
    config = folder / "crm.toml"
    try:
        from core.services.catalog import create_product
        from core.services.partners import create_partner
        from plugins.procurement.services_stock import adjust_stock

        with app.transaction() as session:
            create_product(session, {"sku": "WID", "name": "Widget", "list_price": "12.50"}, app=app)
            adjust_stock(app, session, {"sku": "WID", "quantity": "10000000", "reason": "benchmark"})
            for n in range(customers):
                create_partner(app, session, {"name": f"Client {n:04d}", "email": f"c{n}@client.fr",
                                              "street": f"{n} rue du Port", "postal_code": "44000", "city": "Nantes",
                                              "siren": sample_siren(n)})
    finally:
        app.close()
    token = json.loads(_crm(config, "token", "create", "benchmark", "--json"))["token"]
    return config, token, [f"Client {n:04d}" for n in range(customers)]


def _serve(config: Path, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", "from core.cli.main import main; main()", "--config", str(config),
                                "serve", "--port", str(port), "--workers", str(workers)],
                               env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _request(port, "", "GET", "/api/v1/health", None)[0] == 200:
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"crm serve did not start: {process.stderr.read().decode()[-2000:]}")


def run(quick: bool = False) -> list[dict]:
    from core.api.testing import free_port

    seconds = 2.0 if quick else 15.0
    workers = int(os.environ.get("CRM_BENCH_WORKERS", WORKERS))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        config, token, customers = _seed(Path(folder) / "ws", 20 if quick else 200)
        port = free_port()
        server = _serve(config, port, workers)
        try:
            # a few orders (with their invoices) for the reads to find
            for n in range(20):
                body = json.dumps({"customer": customers[n % len(customers)], "confirm": True,
                                   "lines": [{"sku": "WID", "quantity": "2"}]}).encode()
                _request(port, token, "POST", "/api/v1/orders/", body)
            reads = [("GET", "/api/v1/partners/{c}", 200), ("GET", "/api/v1/orders/?page_size=20", 200),
                     ("GET", "/api/v1/products/WID", 200), ("GET", "/api/v1/orders/{o}", 200),
                     ("GET", "/api/v1/invoices/?page_size=20", 200)]

            def read(n):
                method, path, status = reads[n % len(reads)]
                return method, path.format(c=n % len(customers) + 1, o=n % 20 + 1), None, status

            def order(n):
                body = {"customer": customers[n % len(customers)], "confirm": True,
                        "lines": [{"sku": "WID", "quantity": "1"}, {"sku": "WID", "quantity": "3", "discount": "5"}]}
                return "POST", "/api/v1/orders/", json.dumps(body).encode(), 201

            # warm every worker up (modules, rights, compiled statements) before measuring
            _load(port, token, read, 1.0, CLIENTS, server.pid)
            _load(port, token, order, 1.0, CLIENTS, server.pid)
            label = f"{workers} workers, {CLIENTS} clients, {seconds:.0f}s"
            rows.append({"benchmark": f"reads: GET mix ({label})",
                         **_load(port, token, read, seconds, CLIENTS, server.pid), "target": f">= {READ_TARGET}/s"})
            rows.append({"benchmark": f"orders created + confirmed ({label})",
                         **_load(port, token, order, seconds, CLIENTS, server.pid), "target": f">= {WRITE_TARGET}/s"})
        finally:
            server.terminate()
            server.wait(timeout=30)
    return rows
