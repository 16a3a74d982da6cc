"""Every document that leaves crm is in the audit trail: sent by the outbox, or written to a file (both databases)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.modules("billing")


@pytest.fixture
def invoiced(crm, tmp_path):
    crm("user", "add", "alice", "Alice", "--role", "sales")
    crm("user", "add", "claire", "Claire", "--role", "collections")
    crm("user", "role", "claire", "accountant")
    crm("product", "add", "P1", "Lampe", "--price", "100")
    crm("partner", "add", "Alpha", "--siren", "732829320", "--street", "1 rue de la Paix", "--postal-code", "75002",
        "--city", "Paris", "--email", "compta@alpha.example", "--salesperson", "alice")
    crm.as_user("alice")("order", "create", "--customer", "Alpha", "--line", "P1:1", "--confirm")
    number = crm("invoice", "list", "--json").json[0]["number"]
    return crm, number


def trail(crm, action, **where):
    return [row for row in crm("audit", "--json").json
            if row["action"] == action and all(row[k] == v for k, v in where.items())]


def test_a_message_sent_is_in_the_trail_with_who_when_which_command_and_its_documents(invoiced):
    crm, _ = invoiced
    crm.as_user("claire")("partner", "statement", "Alpha", "--send")
    assert trail(crm, "sent") == []  # queued is not sent
    operator = crm("whoami", "--json").json["login"]
    crm("notifications", "deliver")
    [row] = trail(crm, "sent")
    assert row["who"] == operator and row["command"] == "crm notifications deliver"
    assert row["business_date"] == crm.today.isoformat() if isinstance(row["business_date"], str) \
        else row["business_date"] == crm.today
    assert abs(dt.datetime.fromisoformat(row["logged_at"]) - dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)) \
        < dt.timedelta(minutes=10)  # wall time (UTC), beside the business date
    assert row["record_type"] == "billing_statement" and row["record"].endswith(f"{crm.today.isoformat()}")
    assert row["changes"]["to"] == ["compta@alpha.example"]
    assert row["changes"]["documents"] == [f"billing.statement:{row['record']}"]
    crm("notifications", "deliver")
    assert len(trail(crm, "sent")) == 1  # delivered once, recorded once


def test_a_job_run_records_what_it_sends_as_the_system_user(invoiced):
    crm, number = invoiced
    crm("partner", "statement", "Alpha", "--send")
    crm("jobs", "run", "--only", "notifications.deliver")
    rows = trail(crm, "sent")
    assert rows and {row["user"] for row in rows} == {"system"}
    assert {row["command"] for row in rows} == {"crm jobs run --only notifications.deliver"}


def test_documents_written_to_files_are_in_the_trail(invoiced, tmp_path):
    crm, number = invoiced
    crm.as_user("alice")("invoice", "pdf", number, "-o", f"{tmp_path}/one/")
    crm.as_user("claire")("documents", "print", "billing.invoice", number, "-o", str(tmp_path / "many"), "-j", "1")
    rows = crm("audit", "--record", f"invoice:{number}", "--json").json
    printed = [(row["user"], row["command"].split()[1:3]) for row in rows if row["action"] == "printed"]
    assert printed == [("alice", ["invoice", "pdf"]), ("claire", ["documents", "print"])]
    assert all(row["changes"]["file"].endswith(".pdf") for row in rows if row["action"] == "printed")
    # another salesperson cannot print alice's invoice: it does not exist for them
    crm("user", "add", "bob", "Bob", "--role", "sales")
    refused = crm.as_user("bob")("invoice", "pdf", number, "-o", f"{tmp_path}/bob/", expect=1)
    assert "no such invoice" in refused.stderr
