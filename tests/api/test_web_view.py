"""The web view over HTTP (a real ``crm serve``): login, session cookie, CSRF, record rules on pages."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.modules("funnel")


@dataclass
class Page:
    status: int
    headers: list
    text: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    @property
    def csrf(self) -> str:
        return re.search(r'name="csrf" value="([^"]*)"', self.text).group(1)


@dataclass
class Browserish:
    """HTTP with a cookie jar, as a browser would (without JavaScript)."""

    port: int
    jar: dict = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict | None = None) -> Page:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=data, headers=headers)
            reply = connection.getresponse()
            page = Page(reply.status, reply.getheaders(), reply.read().decode())
        finally:
            connection.close()
        for cookie in page.cookies():
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if value and "Max-Age=0" not in cookie and "expires=Thu, 01 Jan 1970" not in cookie:
                self.jar[name] = value
            else:
                self.jar.pop(name, None)
        return page

    def log_in(self, login: str, password: str) -> Page:
        form = self.request("GET", "/web/login")
        return self.request("POST", "/web/login", {"csrf": form.csrf, "login": login, "password": password})


@pytest.fixture
def team(crm, api_server):
    """alice and bob (salespeople) with web passwords and a deal each."""
    for login in ("alice", "bob"):
        crm("user", "add", login, login.title(), "--role", "sales")
        crm.as_user(login)("user", "password", login, "--password-stdin", input=f"secret-{login}-1\n")
        crm("deal", "add", f"{login.title()}'s deal", "--value", "1000", "--expected-close", "2026-12-31",
            "--owner", login)
    return api_server


def test_login_sets_a_safe_cookie_and_a_page_needs_it(team, crm):
    web = Browserish(team.port)
    away = web.request("GET", "/web/pipeline")
    assert away.status == 303 and away.header("location").startswith("/web/login?next=/web/pipeline")
    wrong = web.log_in("alice", "not-her-password")
    assert wrong.status == 401 and "wrong login or password" in wrong.text and "crm_session" not in web.jar
    done = web.log_in("alice", "secret-alice-1")
    assert done.status == 303, done
    [cookie] = [c for c in done.cookies() if c.startswith("crm_session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain http here
    board = web.request("GET", "/web/pipeline")
    assert board.status == 200 and "Alice&#39;s deal" in board.text and "Bob&#39;s deal" not in board.text
    out = web.request("POST", "/web/logout", {"csrf": board.csrf})
    assert out.status == 303 and "crm_session" not in web.jar
    assert web.request("GET", "/web/pipeline").status == 303
    listing = crm("audit", "--json").json
    assert any(row["action"] == "password set" and row["record"] == "alice" for row in listing)


def test_a_form_without_its_csrf_token_is_403_and_changes_nothing(team, crm):
    web = Browserish(team.port)
    web.log_in("alice", "secret-alice-1")
    board = web.request("GET", "/web/pipeline")
    deal = next(d for d in crm("deal", "list", "--json").json if d["owner"] == "alice")
    stages = re.findall(r"<option(?: selected)?>([^<]+)</option>", board.text)
    target = next(s for s in stages if s != deal["stage"])
    for token in (None, "forged"):
        form = {"stage": target} | ({"csrf": token} if token else {})
        refused = web.request("POST", f"/web/deals/{deal['id']}/move", form)
        assert refused.status == 403 and "CSRF" in refused.text
    assert crm("deal", "show", str(deal["id"]), "--json").json["stage"] == deal["stage"]
    login_form = Browserish(team.port).request("POST", "/web/login", {"login": "alice", "password": "secret-alice-1"})
    assert login_form.status == 403  # the login form has its own token
    moved = web.request("POST", f"/web/deals/{deal['id']}/move", {"stage": target, "csrf": board.csrf})
    assert moved.status == 303
    shown = crm("deal", "show", str(deal["id"]), "--json").json
    assert shown["stage"] == target and shown["history"][-1]["user"] == "alice"


def test_another_salespersons_deal_is_not_found_on_pages(team, crm):
    bob_deal = next(d for d in crm("deal", "list", "--json").json if d["owner"] == "bob")
    web = Browserish(team.port)
    web.log_in("alice", "secret-alice-1")
    board = web.request("GET", "/web/pipeline")
    stage = re.findall(r"<option(?: selected)?>([^<]+)</option>", board.text)[1]
    hidden = web.request("POST", f"/web/deals/{bob_deal['id']}/move", {"stage": stage, "csrf": board.csrf})
    assert hidden.status == 404
    assert crm("deal", "show", str(bob_deal["id"]), "--json").json["stage"] == bob_deal["stage"]
    # a password is one's own: alice may not set bob's
    assert crm.as_user("alice")("user", "password", "bob", "--password-stdin", input="x" * 10 + "\n",
                                expect=4).exit_code == 4


def test_a_page_answers_its_errors_as_a_page_and_the_api_as_problem_details(team, crm):
    """A browser gets an error as a page of the web view (status, the CLI's line, a way on); the API keeps
    answering problem details, also for an unknown address."""
    bob_deal = next(d for d in crm("deal", "list", "--json").json if d["owner"] == "bob")
    web = Browserish(team.port)
    anonymous = web.request("POST", f"/web/deals/{bob_deal['id']}/move", {"stage": "Won"})
    assert anonymous.status == 401 and anonymous.header("content-type").startswith("text/html")
    assert 'href="/web/login"' in anonymous.text
    web.log_in("alice", "secret-alice-1")
    board = web.request("GET", "/web/pipeline")
    stage = re.findall(r"<option(?: selected)?>([^<]+)</option>", board.text)[1]
    cases = [(web.request("POST", f"/web/deals/{bob_deal['id']}/move", {"stage": stage, "csrf": board.csrf}),
              404, f"deal {bob_deal['id']}: no such deal"),
             (web.request("POST", f"/web/deals/{bob_deal['id']}/move", {"stage": stage}), 403, "CSRF token"),
             (web.request("GET", "/web/nowhere"), 404, "Not Found")]
    for answer, status, line in cases:
        assert answer.status == status and answer.header("content-type").startswith("text/html"), answer
        assert answer.text.startswith("<!DOCTYPE html>") and line in answer.text
        assert 'href="/web/"' in answer.text
    api = web.request("GET", "/api/v1/nowhere")
    assert api.status == 404 and api.header("content-type") == "application/problem+json"


def test_guessing_a_password_is_stopped_for_the_rest_of_the_window(team):
    from core.api.websessions import LOGIN_FAILURES

    web = Browserish(team.port)
    for _ in range(LOGIN_FAILURES):
        assert web.log_in("alice", "a-wrong-guess").status == 401
    late = web.log_in("alice", "secret-alice-1")  # the right password, once the login is throttled
    assert late.status == 429 and "too many failed logins" in late.text and "crm_session" not in web.jar
    assert 0 < int(late.header("retry-after")) <= 15 * 60
    assert Browserish(team.port).log_in("bob", "secret-bob-1").status == 303  # another login from this address


def test_failures_count_per_login_and_per_address_until_their_window_ends(crm, app):
    """The service itself, at chosen instants: the login's limit, the address's limit (one address
    trying many logins), a success clearing its login's count, and a new window starting afresh."""
    from core.api import websessions as ws
    from core.api.tokens import Unauthenticated

    for login in ("alice", "bob"):
        crm("user", "add", login, login.title(), "--role", "sales")
        crm.as_user(login)("user", "password", login, "--password-stdin", input=f"secret-{login}-1\n")

    def attempt(login, password, address, at):
        with app.transaction() as session:  # as the page: a wrong password's failure is committed
            try:
                ws.log_in(session, login, password, address=address, now=at)
                return "in"
            except ws.TooManyFailures as exc:
                return f"wait {exc.retry}"
            except Unauthenticated:
                return "wrong"

    start = 1_800_000_000 // ws.FAILURE_WINDOW * ws.FAILURE_WINDOW
    for _ in range(ws.LOGIN_FAILURES - 1):
        assert attempt("alice", "guess", "10.0.0.1", start) == "wrong"
    assert attempt("alice", "secret-alice-1", "10.0.0.1", start) == "in"  # and her count starts again
    for _ in range(ws.LOGIN_FAILURES):
        assert attempt("alice", "guess", "10.0.0.2", start + 10) == "wrong"
    assert attempt("alice", "secret-alice-1", "10.0.0.3", start + 100) == f"wait {ws.FAILURE_WINDOW - 100}"
    assert attempt("alice", "secret-alice-1", "10.0.0.3", start + ws.FAILURE_WINDOW) == "in"  # a new window
    for number in range(ws.ADDRESS_FAILURES):
        assert attempt(f"nobody{number}", "guess", "10.0.0.9", start + ws.FAILURE_WINDOW) == "wrong"
    assert attempt("bob", "secret-bob-1", "10.0.0.9", start + ws.FAILURE_WINDOW + 1).startswith("wait ")
    assert attempt("bob", "secret-bob-1", "10.0.0.8", start + ws.FAILURE_WINDOW + 1) == "in"
