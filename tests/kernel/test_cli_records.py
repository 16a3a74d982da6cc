"""A morning of data entry: partners, contacts, products, users and teams through ``crm``."""

from __future__ import annotations

PARTNER_KEYS = {"id", "name", "kind", "language", "is_customer", "is_supplier", "email", "phone", "street", "postal_code",
                "city", "country", "siren", "siret", "vat_number", "salesperson", "contacts", "created_at"}


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- partners --------------------------------------------------------------------------------

def test_partner_add_with_valid_siren_and_vat(crm):
    data = crm("partner", "add", "Dupont SA", "--siren", "552 100 554", "--vat-number", "FR 96 552100554",
               "--email", "compta@dupont.fr", "--city", "Lyon", "--json").json
    assert data["siren"] == "552100554"
    assert data["vat_number"] == "FR96552100554"
    assert (data["is_customer"], data["is_supplier"], data["kind"], data["country"]) == (True, False, "company", "FR")
    out = crm("partner", "add", "Martin SARL").stdout
    assert out.strip().startswith("partner ") and out.strip().endswith(": Martin SARL")
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Dupont SA", "Martin SARL"]


def test_partner_add_with_siret_gives_the_siren(crm):
    data = crm("partner", "add", "Dupont SA", "--siret", "55210055400013", "--json").json
    assert (data["siret"], data["siren"]) == ("55210055400013", "552100554")


def test_invalid_siren_is_refused_with_one_line_naming_record_and_field(crm):
    result = crm("partner", "add", "Dupont SA", "--siren", "552100555", expect=1)
    line = one_line(result.stderr)
    assert line.startswith("error: partner 'Dupont SA': siren: invalid SIREN '552100555'")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert crm("partner", "list", "--json").json == []


def test_vat_number_not_matching_the_siren_is_refused(crm):
    result = crm("partner", "add", "Dupont SA", "--siren", "552100554", "--vat-number", "FR44732829320", expect=1)
    assert "partner 'Dupont SA': vat_number:" in one_line(result.stderr)
    assert crm("partner", "list", "--json").json == []


def test_duplicate_siren_is_refused_naming_the_existing_partner(crm):
    first = crm("partner", "add", "Dupont SA", "--siren", "552100554", "--json").json
    result = crm("partner", "add", "Dupont Lyon", "--siren", "552100554", expect=1)
    assert one_line(result.stderr) == (f"error: partner 'Dupont Lyon': siren: already used by partner "
                                       f"{first['id']} (Dupont SA)")
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Dupont SA"]
    crm("partner", "add", "Dupont Lyon", "--siren", "552100554", "--allow-duplicate")
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Dupont Lyon", "Dupont SA"]


def test_duplicate_email_is_refused_whatever_its_case(crm):
    first = crm("partner", "add", "Dupont SA", "--email", "compta@dupont.fr", "--json").json
    result = crm("partner", "add", "Durand", "--kind", "person", "--email", "Compta@Dupont.FR", expect=1)
    assert one_line(result.stderr) == (f"error: partner 'Durand': email: already used by partner "
                                       f"{first['id']} (Dupont SA)")
    crm("partner", "add", "Durand", "--kind", "person", "--email", "Compta@Dupont.FR", "--allow-duplicate")
    assert len(crm("partner", "list", "--json").json) == 2


def test_partner_edit_changes_fields_and_reports_them(crm):
    pid = crm("partner", "add", "Dupont SA", "--city", "Lyon", "--json").json["id"]
    result = crm("partner", "edit", str(pid), "--city", "Paris", "--email", "a@dupont.fr", "--supplier")
    assert result.stdout.strip() == "changed: city, email, is_supplier"
    data = crm("partner", "show", str(pid), "--json").json
    assert (data["city"], data["email"], data["is_customer"], data["is_supplier"]) == (
        "Paris", "a@dupont.fr", True, True)
    assert crm("partner", "edit", "dupont sa", "--city", "Paris").stdout.strip() == "nothing changed"


def test_invalid_edit_is_refused_and_changes_nothing(crm):
    pid = crm("partner", "add", "Dupont SA", "--city", "Lyon", "--siren", "552100554", "--json").json["id"]
    before = crm("partner", "show", str(pid), "--json").json
    result = crm("partner", "edit", str(pid), "--city", "Paris", "--siren", "123456789", expect=1)
    assert one_line(result.stderr).startswith(f"error: partner {pid}: siren: invalid SIREN '123456789'")
    result = crm("partner", "edit", str(pid), "--city", "Paris", "--no-customer", expect=1)
    assert "is_customer" in one_line(result.stderr)
    assert crm("partner", "show", str(pid), "--json").json == before


def test_edit_of_an_unknown_partner_is_refused(crm):
    result = crm("partner", "edit", "Nobody", "--city", "Paris", expect=1)
    assert one_line(result.stderr) == "error: partner 'Nobody': no such partner"


def test_partner_contact_is_shown_with_the_partner(crm):
    pid = crm("partner", "add", "Dupont SA", "--json").json["id"]
    out = crm("partner", "contact", "Dupont SA", "Jeanne Martin", "--email", "jeanne@dupont.fr",
              "--function", "Comptable").stdout
    assert out.strip().startswith("contact ") and out.strip().endswith(": Jeanne Martin")
    contacts = crm("partner", "show", str(pid), "--json").json["contacts"]
    assert [(c["name"], c["email"], c["phone"], c["function"]) for c in contacts] == [
        ("Jeanne Martin", "jeanne@dupont.fr", None, "Comptable")]
    result = crm("partner", "contact", "Dupont SA", "Paul", "--email", "not-an-email", expect=1)
    assert "email" in one_line(result.stderr)
    assert len(crm("partner", "show", str(pid), "--json").json["contacts"]) == 1
    assert "Jeanne Martin <jeanne@dupont.fr>" in crm("partner", "show", str(pid)).stdout


def test_partner_show_json_has_stable_keys(crm):
    crm("partner", "add", "Dupont SA", "--siren", "552100554")
    data = crm("partner", "show", "Dupont SA", "--json").json
    assert set(data) == PARTNER_KEYS
    assert set(crm("partner", "list", "--json").json[0]) == PARTNER_KEYS


def test_partner_list_filters(crm):
    crm("partner", "add", "Alpha Clients", "--email", "hello@alpha.fr")
    crm("partner", "add", "Beta Fournitures", "--no-customer", "--supplier", "--siren", "542051180")
    crm("partner", "add", "Gamma Both", "--supplier")
    names = lambda *args: [p["name"] for p in crm("partner", "list", *args, "--json").json]  # noqa: E731
    assert names() == ["Alpha Clients", "Beta Fournitures", "Gamma Both"]
    assert names("--customers") == ["Alpha Clients", "Gamma Both"]
    assert names("--suppliers") == ["Beta Fournitures", "Gamma Both"]
    assert names("--search", "ALPHA") == ["Alpha Clients"]
    assert names("--search", "@alpha.fr") == ["Alpha Clients"]
    assert names("--search", "542 051 180") == ["Beta Fournitures"]
    assert names("--search", "zzz") == []
    assert names("--limit", "1") == ["Alpha Clients"]
    assert crm("partner", "list", "--search", "zzz").stdout.strip() == "no partner"


# --- products --------------------------------------------------------------------------------

def test_product_add_keeps_exact_prices(crm):
    a = crm("product", "add", "WID-1", "Widget", "--price", "12.50", "--json").json
    b = crm("product", "add", "SCR-2", "Screw", "--price", "0,1234", "--vat-rate", "5.5", "--json").json
    assert (a["list_price"], a["vat_rate"], a["unit"], a["stockable"]) == ("12.5000", "20.00", "unit", True)
    assert (b["list_price"], b["vat_rate"]) == ("0.1234", "5.50")
    shown = crm("product", "show", "SCR-2", "--json").json
    assert (shown["list_price"], shown["vat_rate"]) == ("0.1234", "5.50")
    assert crm("product", "show", "WID-1", "--json").json == a  # same text whether just written or read back
    free = crm("product", "add", "SRV-3", "Advice", "--service", "--json").json
    assert (free["list_price"], free["vat_rate"], free["stockable"], free["kind"]) == ("0.0000", "20.00", False, "service")
    assert crm("product", "show", "SRV-3", "--json").json == free
    assert [p["sku"] for p in crm("product", "list", "--json").json] == ["SCR-2", "SRV-3", "WID-1"]


def test_product_price_with_too_many_decimals_is_refused(crm):
    result = crm("product", "add", "SCR-2", "Screw", "--price", "0.12345", expect=1)
    assert one_line(result.stderr) == "error: product 'SCR-2': list_price: at most 4 decimals"
    assert crm("product", "list", "--json").json == []


def test_product_vat_rate_7_is_refused(crm):
    result = crm("product", "add", "WID-1", "Widget", "--vat-rate", "7", expect=1)
    line = one_line(result.stderr)
    assert line.startswith("error: product 'WID-1': vat_rate: must be one of 20, 10, 5.5, 2.1 or 0")
    assert crm("product", "list", "--json").json == []


def test_duplicate_sku_is_refused(crm):
    crm("product", "add", "WID-1", "Widget", "--price", "12.50")
    result = crm("product", "add", "WID-1", "Other widget", "--price", "1", expect=1)
    assert one_line(result.stderr) == "error: product 'WID-1': sku: already exists"
    assert [p["name"] for p in crm("product", "list", "--json").json] == ["Widget"]


# --- users and teams ---------------------------------------------------------------------------

def test_user_add_with_role(crm):
    assert crm("user", "add", "alice", "Alice Martin", "--email", "alice@example.com",
               "--role", "collections").stdout.strip() == "user alice (collections)"
    crm("user", "add", "bob", "Bob")
    users = [u for u in crm("user", "list", "--json").json if not (u["os_login"] or u["db_role"])]  # not the operator
    assert [(u["login"], u["role"], u["email"]) for u in users] == [
        ("alice", "collections", "alice@example.com"), ("bob", "sales", None)]


def test_bad_login_and_taken_login_are_refused(crm):
    result = crm("user", "add", "Alice Martin", "Alice", expect=1)
    assert one_line(result.stderr).startswith("error: user 'Alice Martin': login: use lower-case letters")
    crm("user", "add", "alice", "Alice")
    result = crm("user", "add", "alice", "Another Alice", expect=1)
    assert one_line(result.stderr) == "error: user 'alice': login: already taken"
    assert crm("user", "add", "carol", "Carol", "--role", "boss", expect=2).exit_code == 2
    assert [u["name"] for u in crm("user", "list", "--json").json if not (u["os_login"] or u["db_role"])] == ["Alice"]


def test_team_add_with_leader_and_members(crm):
    for login in ("alice", "bob", "carol"):
        crm("user", "add", login, login.title())
    out = crm("team", "add", "Sales West", "--leader", "alice", "--member", "bob", "--member", "carol").stdout
    assert out.strip() == "team Sales West: 3 member(s)"
    crm("team", "add", "Solo", "--leader", "bob")
    teams = crm("team", "list", "--json").json
    assert [(t["name"], t["leader"], t["members"]) for t in teams] == [
        ("Sales West", "alice", ["alice", "bob", "carol"]), ("Solo", "bob", ["bob"])]


def test_team_with_unknown_member_is_refused_and_nothing_written(crm):
    crm("user", "add", "alice", "Alice")
    result = crm("team", "add", "Sales West", "--leader", "alice", "--member", "zoe", expect=1)
    assert "'zoe'" in one_line(result.stderr)
    assert crm("team", "list", "--json").json == []
    crm("team", "add", "Sales West", "--leader", "alice")
    result = crm("team", "add", "Sales West", expect=1)
    assert one_line(result.stderr) == "error: team 'Sales West': name: already taken"


def test_partner_salesperson_must_exist(crm):
    crm("user", "add", "alice", "Alice")
    data = crm("partner", "add", "Dupont SA", "--salesperson", "alice", "--json").json
    assert data["salesperson"] == "alice"
    result = crm("partner", "add", "Martin", "--salesperson", "nobody", expect=1)
    assert "'nobody'" in one_line(result.stderr)
    assert [p["name"] for p in crm("partner", "list", "--json").json] == ["Dupont SA"]


def test_an_ambiguous_name_asks_for_the_id(crm):
    first = crm("partner", "add", "Dupont", "--json").json["id"]
    crm("partner", "add", "Dupont", "--allow-duplicate")
    result = crm("partner", "show", "dupont", expect=1)
    assert one_line(result.stderr) == f"error: dupont matches 2 partners: {first} Dupont, {first + 1} Dupont (use the id)"
    assert crm("partner", "show", str(first), "--json").json["id"] == first


def test_a_partner_whose_name_starts_with_an_accent_is_found_by_name(crm):
    """SQLite's lower() folds only ASCII: the exact name must still find "Établissements Roux"."""
    crm("partner", "add", "Établissements Roux")
    assert crm("partner", "show", "Établissements Roux", "--json").json["name"] == "Établissements Roux"
    crm("product", "add", "W", "Widget", "--price", "2")
    assert crm("order", "create", "--customer", "Établissements Roux", "--line", "W:1", "--json").json["total"] == "2.40"
