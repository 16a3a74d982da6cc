"""Real servers for the notification channels, and a PostgreSQL-only workspace.

- ``smtp_server``: an aiosmtpd server on 127.0.0.1 (a free port), in a thread of its own, that
  keeps every envelope it accepts and the Message-ID of every message offered;
  ``smtp_server.refuse = "550 ..."`` makes it refuse messages, ``smtp_server.on_data`` sees each
  message as it arrives, and a login is checked against ``smtp_server.credentials`` when set.
- ``webhook_server``: a ``ThreadingHTTPServer`` on 127.0.0.1 that keeps every POST (headers and
  body) and answers ``webhook_server.status``.
- ``pg_workspace``: a migrated workspace on a fresh PostgreSQL schema, for the tests that only
  mean something with several processes on one database server (concurrent deliverers).
- ``configure(workspace, text)``: appends TOML to the workspace's ``crm.toml``.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def configure():
    """``configure(workspace, toml)``: append a fragment (a ``[notifications]`` section) to crm.toml."""

    def append(workspace, text: str) -> None:
        with open(workspace.config_path, "a", encoding="utf-8") as handle:
            handle.write("\n" + text.strip() + "\n")

    return append


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


# --- SMTP -----------------------------------------------------------------------------------------

@dataclass
class SmtpServer:
    host: str
    port: int
    envelopes: list = field(default_factory=list)
    logins: list = field(default_factory=list)
    refuse: str | None = None
    credentials: tuple[str, str] | None = None
    #: the Message-ID of every message offered, accepted or refused, in order
    offered: list = field(default_factory=list)
    #: called with the Message-ID of each message offered, before it is answered
    on_data: object = None

    def message_ids(self) -> list[str]:
        """The Message-IDs of the accepted messages, in order."""
        return [message_id(envelope.content) for envelope in self.envelopes]


def message_id(content: bytes) -> str:
    from email.parser import BytesHeaderParser

    return BytesHeaderParser().parsebytes(content)["Message-ID"]


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_DATA(self, smtp, session, envelope):
        offered = message_id(envelope.content)
        self.server.offered.append(offered)
        if self.server.on_data:
            self.server.on_data(offered)
        if self.server.refuse:
            return self.server.refuse
        self.server.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer("127.0.0.1", free_port())

    def authenticator(smtp, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword) or server.credentials is None:
            return AuthResult(success=False, handled=False)
        login = (auth_data.login.decode(), auth_data.password.decode())
        server.logins.append(login[0])
        # handled=False: let aiosmtpd answer "535" itself on a bad password
        return AuthResult(success=login == server.credentials, handled=False)

    controller = Controller(_Handler(server), hostname=server.host, port=server.port,
                            authenticator=authenticator, auth_require_tls=False)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# --- webhook --------------------------------------------------------------------------------------

@dataclass
class WebhookServer:
    url: str
    requests: list = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook_server():
    state = WebhookServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # keep the test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hooks/crm"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# --- PostgreSQL only ------------------------------------------------------------------------------

@pytest.fixture
def pg_workspace(tmp_path, pg_database_url, monkeypatch):
    """A migrated workspace on its own PostgreSQL schema (dropped afterwards)."""
    from core.testing import make_workspace

    for name in ("CRM_DATABASE_URL", "CRM_CONFIG", "CRM_TODAY"):
        monkeypatch.delenv(name, raising=False)
    return make_workspace(tmp_path / "workspace", pg_database_url)
