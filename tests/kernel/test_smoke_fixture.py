def test_partner_roundtrip(crm, workspace):
    crm("partner", "add", "Dupont SA", "--siren", "732829320", "--email", "contact@dupont.fr")
    rows = crm("partner", "list", "--json").json
    assert [r["name"] for r in rows] == ["Dupont SA"]
    assert rows[0]["siren"] == "732829320"


def test_outbox_fixture_sees_what_was_written(app, outbox):
    from core.outbox import notify

    with app.transaction() as session:
        notify(app, session, recipients=["a@x.fr", "b@x.fr"], subject="Hello", text="Body", related="core_partner:1")
        notify(app, session, recipients=["c@x.fr"], subject="Other", text="Two")
    assert len(outbox) == 2
    [hello] = outbox.messages(recipient="b@x.fr")
    assert (hello["subject"], hello["text"], hello["state"]) == ("Hello", "Body", "pending")
    assert [m["subject"] for m in outbox.messages(related="core_partner:1")] == ["Hello"]
