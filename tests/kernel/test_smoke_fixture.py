def test_partner_roundtrip(crm, workspace):
    crm("partner", "add", "Dupont SA", "--siren", "732829320", "--email", "contact@dupont.fr")
    rows = crm("partner", "list", "--json").json
    assert [r["name"] for r in rows] == ["Dupont SA"]
    assert rows[0]["siren"] == "732829320"
