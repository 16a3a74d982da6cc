"""The reminder run's summaries and collection tasks, written while the customers stream by (issue 22:
memory flat whatever the ledger's size): each summary keeps its first lines and counts the rest, the
tasks go to the database a batch at a time."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.modules("billing")


def test_summaries_list_the_first_customers_and_count_the_others(books, monkeypatch):
    from plugins.billing import services_reminder_messages as messages

    monkeypatch.setattr(messages, "SUMMARY_LINES", 2)  # a summary lists 2 customers, then "... et N autre(s)"
    monkeypatch.setattr(messages, "TALLY_BATCH", 2)    # 2 customers a fetch, 2 tasks an insert
    numbers = {name: books.confirm("2026-01-05", books.customer(name)) for name in ("Alpha", "Bravo", "Charlie")}
    report = books.run("2026-03-22")  # 46 days late: level 4 at once, handed over to collections
    assert (report.customers, report.tasks) == (3, 3)
    assert [c["customer"] for c in report.messages] == ["Alpha", "Bravo", "Charlie"]
    tasks = books.sql("SELECT p.name, t.summary FROM billing_collection_task t JOIN core_partner p "
                      "ON p.id = t.partner_id ORDER BY p.name")
    assert [(name, numbers[name] in summary) for name, summary in tasks] == [
        ("Alpha", True), ("Bravo", True), ("Charlie", True)]
    summaries = {tuple(recipients): (subject, body) for recipients, subject, _, body in
                 books.messages("billing:summary:%")}
    subject, body = summaries[("bob@acme.fr",)]
    assert subject.endswith(": 3 client(s)")
    assert [line.split(" :")[0] for line in body.splitlines() if line.startswith("- ")] == ["- Alpha", "- Bravo"]
    assert "... et 1 autre(s)" in body
    subject, body = summaries[("cora@acme.fr",)]
    handed = body.split("Dossiers transmis au recouvrement :")[1]
    assert [line.split(" :")[0] for line in handed.splitlines() if line.startswith("- ")] == ["- Alpha", "- Bravo"]
    assert handed.strip().endswith("... et 1 autre(s)")
    assert "- niveau 4 (" in body and "3 client(s)" in body
