"""The ``api_server`` fixture: a real ``crm serve`` process on a free loopback port, and its clients.

::

    @pytest.mark.modules("funnel")
    def test_leads(api_server, crm):
        alice = api_server.client("alice")          # a token of user alice (created with crm token)
        assert alice.get("/api/v1/leads/").status == 200
        assert api_server.client().get("/api/v1/leads/", token=None).status == 401

No mock stands in for anything: gunicorn serves the workspace's database, and the client talks
HTTP over loopback (``http.client``, so no extra dependency).
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

#: a sentinel: the client's own token
OWN = object()


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return jsonlib.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:400]!r}>"


class ApiClient:
    """HTTP requests to the server with one bearer token (``token=None`` on a call sends none)."""

    def __init__(self, port: int, token: str | None, login: str | None = None):
        self.port = port
        self.token = token
        self.login = login

    def request(self, method: str, path: str, *, json=None, headers=None, token=OWN, data: bytes | None = None,
                expect: int | None = None) -> Response:
        sent = dict(headers or {})
        token = self.token if token is OWN else token
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if json is not None:
            data = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=data, headers=sent)
            reply = connection.getresponse()
            response = Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read())
        finally:
            connection.close()
        if expect is not None and response.status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {response!r}")
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> Response:
        return self.request("POST", path, json=json if json is not None else ({} if "data" not in kwargs else None),
                            **kwargs)


class ApiServer:
    """A ``crm serve`` process for one workspace; :meth:`client` gives a token of a user."""

    def __init__(self, config_path, crm, today, *, env: dict | None = None, workers: int = 2):
        """``crm(*args)`` runs a command on the workspace of ``config_path`` (for the tokens); ``env``: the
        server's environment (default: this one, without ``CRM_*``)."""
        self.crm = crm
        self.port = free_port()
        env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("CRM_")}
        argv = [sys.executable, "-c", "from core.cli.main import main; main()", "--config", str(config_path)]
        if today is not None:
            argv += ["--today", str(today)]
        argv += ["serve", "--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"crm serve exited ({self.process.returncode}): "
                                     f"{self.process.stdout.read().decode()[-3000:]}")
            try:
                if ApiClient(self.port, None).get("/api/v1/health").status == 200:
                    return
            except OSError:  # not listening yet: poll again until the deadline
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"crm serve did not answer within {seconds}s")

    def client(self, login: str | None = None, *, rights=(), days: int | None = None) -> ApiClient:
        """A client with a new token of ``login`` (default: the workspace's admin), limited to ``rights``."""
        args = ["token", "create", f"test-{login or 'admin'}", "--json"]
        if login:
            args += ["--user", login]
        for right in rights:
            args += ["--right", right]
        if days:
            args += ["--days", str(days)]
        data = self.crm(*args).json
        return ApiClient(self.port, data["token"], data["user"])

    def stop(self) -> str:
        """Stop the server (SIGTERM, as a supervisor would); returns what it logged."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stdout.read().decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def api_server(workspace, crm, app_today):
    """``crm serve`` on the workspace, started for the test and stopped after it."""
    server = ApiServer(workspace.config_path, crm, app_today)
    yield server
    log = server.stop()
    if "Traceback" in log:  # an unexpected error in a view is a failure even if the test did not look
        raise AssertionError(f"the server logged an error:\n{log[-4000:]}")
