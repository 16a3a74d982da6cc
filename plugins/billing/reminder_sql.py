"""The SQL of a reminder run (:mod:`plugins.billing.services_reminders`,
:mod:`plugins.billing.services_reminder_messages`): its temporary tables and the statements that fill
them and write its messages, for SQLite and PostgreSQL alike (:mod:`plugins.billing.jsonsql`).

- ``billing_run_rate_days`` (:func:`fill_rate_days`): the late interest's percent-days by due date;
- ``billing_run_split`` (:func:`split_instalments`, :func:`rate_instalments`): of the invoices paid
  in instalments, what is overdue today and the interest it earns;
- ``billing_run_customer`` (:func:`customers_sql`): one row per customer reminded today;
- the outbox rows of the run (:func:`messages_sql`, through ``core.outbox.notify_select``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, bindparam, text

from core.errors import CrmError
from plugins.billing.formatting import as_date
from plugins.billing.jsonsql import (DialectSql, JsonSql, join_nonempty, json_bool, json_int, json_money, json_object,
                                      json_plain, json_string)


def fill_rate_days(session, rates, today: dt.date, open_condition: str) -> bool:
    """Fill the temporary table ``billing_run_rate_days`` (due date -> percent-days x 10,000).

    The late interest depends on the amount and the due date only (``RateTable.rate_days``), so it
    is computed once per day from the oldest open overdue due date to yesterday (listing the
    distinct due dates would read the invoices once more); the database then gives each invoice
    its interest in cents, rounded half up once:
    ``(2 x cents x rate_days + 365,000,000) / 730,000,000`` in integers. A day without a known
    rate is left out (NULL): the run asks the rate table again for those, which names the gap.
    :returns: False when no level claims interest (nothing to fill).
    """
    if rates is None:
        return False
    oldest = session.execute(text(f"SELECT MIN(i.due_date) FROM billing_invoice i WHERE {open_condition} "
                                  "AND i.due_date < :today").bindparams(bindparam("today", type_=Date)),
                             {"today": today}).scalar()
    values = []
    day = today if oldest is None else as_date(oldest)
    while day < today:
        try:
            values.append({"due_date": day, "rate_days": int(rates.rate_days(day, today) * 10000)})
        except CrmError:  # no rate known that day: left NULL, and the run's own lookup names the gap
            pass
        day += dt.timedelta(days=1)
    if values:
        session.execute(text("INSERT INTO billing_run_rate_days (due_date, rate_days) VALUES (:due_date, :rate_days)")
                        .bindparams(bindparam("due_date", type_=Date)), values)
    return True


# --- the SQL: JSON written by the database ----------------------------------------------------------

#: The run's temporary tables (dropped at its end; on PostgreSQL also at commit).
TEMP_TABLES = {
    "billing_run_split": "invoice_id INTEGER PRIMARY KEY, overdue BIGINT NOT NULL, interest_units BIGINT",
    "billing_run_rate_days": "due_date DATE PRIMARY KEY, rate_days BIGINT NOT NULL",
    "billing_run_customer": "partner_id INTEGER PRIMARY KEY, level INTEGER NOT NULL, owner_id INTEGER, "
                            "has_email INTEGER NOT NULL, invoices INTEGER NOT NULL, total_open BIGINT NOT NULL, "
                            "total_interest BIGINT, first_invoice_id INTEGER NOT NULL, unrated DATE, numbers TEXT, "
                            "lines TEXT, attachments TEXT",
    "billing_run_route": "level INTEGER NOT NULL, owner_id INTEGER NOT NULL, has_email INTEGER NOT NULL, "
                         "seq INTEGER NOT NULL, channel VARCHAR(40) NOT NULL, to_customer VARCHAR(10) NOT NULL, "
                         "others TEXT NOT NULL, subject_head TEXT NOT NULL, subject_head_en TEXT NOT NULL, "
                         "key_suffix VARCHAR(10) NOT NULL, "
                         "template VARCHAR(200) NOT NULL, PRIMARY KEY (level, owner_id, has_email, seq)",
}


def create_run_tables(session) -> None:
    """Make the run's temporary tables (empty), before its first statement."""
    drop_run_tables(session)  # left on the connection by a run committed without Composer.finish()
    pg = session.get_bind().dialect.name == "postgresql"
    for name, columns in TEMP_TABLES.items():
        session.execute(text(f"CREATE TEMP TABLE {name} ({columns})" + (" ON COMMIT DROP" if pg else "")))


def drop_run_tables(session) -> None:
    schema = "pg_temp" if session.get_bind().dialect.name == "postgresql" else "temp"  # never a table of that name
    for name in TEMP_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {schema}.{name}"))


def split_instalments(session, open_condition: str, today: dt.date) -> None:
    """Fill ``billing_run_split``: what is overdue of each open invoice paid in instalments.

    An invoice's due date is its oldest instalment not yet covered (payments and credit notes
    settle the oldest first); the instalments falling due later are not overdue: the reminder
    claims ``overdue`` = the residual less those, and interest only on what each instalment still
    owes, from its own due date (:func:`rate_instalments`). An invoice with a single due date has
    no row here: all of its residual is overdue from its due date. ``overdue`` is 0 when credits
    already covered every instalment due (the invoice is then not reminded).
    """
    session.execute(text(f"""
        INSERT INTO billing_run_split (invoice_id, overdue)
        SELECT i.id, CASE WHEN i.residual > later THEN i.residual - later ELSE 0 END
        FROM (SELECT i.id AS id, COALESCE(SUM(CASE WHEN d.due_date >= :today THEN d.amount END), 0) AS later
              FROM billing_invoice i JOIN billing_invoice_due d ON d.invoice_id = i.id
              WHERE {open_condition} AND i.due_date < :today AND i.final_due_date > i.due_date
              GROUP BY i.id) x
        JOIN billing_invoice i ON i.id = x.id""").bindparams(bindparam("today", type_=Date)), {"today": today})


def rate_instalments(session, today: dt.date) -> None:
    """Set ``interest_units`` of ``billing_run_split``: per invoice, the sum over its overdue instalments of
    what each still owes x its percent-days x 10,000 (``billing_run_rate_days``); NULL when a day has no rate.

    What an instalment still owes: the instalments are covered oldest first by ``total - residual``.
    """
    session.execute(text("""
        UPDATE billing_run_split SET interest_units = a.units
        FROM (SELECT x.invoice_id,
                     CASE WHEN COUNT(r.rate_days) = COUNT(*) THEN SUM(x.owed * r.rate_days) END AS units
              FROM (SELECT y.invoice_id, y.due_date,
                           CASE WHEN y.cum - y.covered >= y.amount THEN y.amount ELSE y.cum - y.covered END AS owed
                    FROM (SELECT d.invoice_id, d.due_date, d.amount, i.total - i.residual AS covered,
                                 SUM(d.amount) OVER (PARTITION BY d.invoice_id ORDER BY d.sequence) AS cum
                          FROM billing_run_split s JOIN billing_invoice i ON i.id = s.invoice_id
                          JOIN billing_invoice_due d ON d.invoice_id = s.invoice_id) y
                    WHERE y.due_date < :today AND y.cum > y.covered) x
              LEFT JOIN billing_run_rate_days r ON r.due_date = x.due_date
              GROUP BY x.invoice_id) a
        WHERE a.invoice_id = billing_run_split.invoice_id""").bindparams(bindparam("today", type_=Date)),
                    {"today": today})


def customers_sql(dialect: str, open_condition: str, with_rates: bool, indemnity_text: str) -> str:
    """Fill ``billing_run_customer``: per customer reminded in run ``:run``, the level and the invoice lines.

    The customer's level is the highest sent today; ``lines`` are the JSON entries of all of the
    customer's overdue invoices, oldest due first (a window ordered by due date: an aggregate's
    order is not guaranteed), with the interest to the day when the level claims it (from
    ``billing_run_rate_days``, rounded half up once per invoice, in integers) and the indemnity
    for a business customer; ``attachments`` the documents ``billing.invoice`` of those invoices
    when the level attaches them. The sales owner is the oldest invoice's salesperson, else the
    customer's. ``unrated`` is set when interest is claimed on a day without a known rate.

    Written for SQLite's planner, harmless to PostgreSQL's: the ``CROSS JOIN`` keeps the open
    invoices (by their due-date index) as the outer loop, and the outer query has no join, so
    the window's rows stream through ``seq = 1`` instead of being stored first.
    """
    sql = DialectSql(dialect)
    interest = ("CASE WHEN s.invoice_id IS NULL THEN (2 * i.residual * d.rate_days + 365000000) / 730000000 "
                "ELSE (2 * s.interest_units + 365000000) / 730000000 END" if with_rates else "NULL")
    overdue = "COALESCE(s.overdue, i.residual)"
    line = json_object([("number", json_string("i.number")),
                        ("invoice_date", json_plain(sql.date("i.invoice_date"))),
                        ("due_date", json_plain(sql.date("i.due_date"))),
                        ("days_late", json_int(sql.days_late("i.due_date"))),
                        ("total", json_money("i.total")), ("open", json_money(overdue))],
                       [("i.residual > s.overdue", "not_due", json_money("i.residual - s.overdue")),
                        ("c.claims_interest", "interest", json_money(interest)),
                        ("c.claims_indemnity", "indemnity", json_plain(f"'{indemnity_text}'"))]).sql(dialect)
    rates = "LEFT JOIN billing_run_rate_days d ON d.due_date = i.due_date" if with_rates else ""
    attachment = json_object([("document", JsonSql('"billing.invoice"', [], "'\"billing.invoice\"'")),
                              ("ref", json_string("i.number"))]).sql(dialect)
    columns = "partner_id, level, owner_id, has_email, invoices, total_open, total_interest, first_invoice_id, " \
              "unrated, numbers, lines, attachments"
    return f"""
        INSERT INTO billing_run_customer ({columns})
        SELECT {columns}
        FROM (SELECT c.partner_id, c.level, c.has_email,
                     COALESCE(first_value(i.salesperson_id) OVER w, c.salesperson_id) AS owner_id,
                     row_number() OVER w AS seq, count(*) OVER w AS invoices,
                     CAST(sum({overdue}) OVER w AS BIGINT) AS total_open,
                     CAST(sum(CASE WHEN c.claims_interest THEN {interest} END) OVER w AS BIGINT) AS total_interest,
                     min(i.id) OVER w AS first_invoice_id,
                     min(CASE WHEN c.claims_interest AND {interest} IS NULL THEN i.due_date END) OVER w AS unrated,
                     {sql.concat("CASE WHEN c.handover THEN i.number END", ", ")} OVER w AS numbers,
                     {sql.concat(line, ",")} OVER w AS lines,
                     {sql.concat(f"CASE WHEN c.attach_invoices THEN {attachment} END", ",")} OVER w AS attachments
              FROM billing_invoice i
              CROSS JOIN (SELECT g.partner_id, g.level, l.interest AS claims_interest, l.handover, l.attach_invoices,
                                 l.indemnity AND p.kind = 'company' AS claims_indemnity, p.salesperson_id,
                                 CASE WHEN COALESCE(p.email, '') <> '' THEN 1 ELSE 0 END AS has_email
                          FROM (SELECT partner_id, MAX(level) AS level FROM billing_reminder
                                WHERE run_id = :run AND status = 'sent' GROUP BY partner_id) g
                          JOIN billing_reminder_level l ON l.level = g.level
                          JOIN core_partner p ON p.id = g.partner_id) c
              LEFT JOIN billing_run_split s ON s.invoice_id = i.id
              {rates}
              WHERE {open_condition} AND i.due_date < :today AND c.partner_id = i.partner_id
                AND COALESCE(s.overdue, 1) > 0
              WINDOW w AS (PARTITION BY c.partner_id ORDER BY i.due_date, i.id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) x
        WHERE seq = 1"""


def messages_sql(dialect: str) -> str:
    """The outbox rows of the run (for ``notify_select``): each customer joined to its routes, in customer order.

    Recipients as ``notification_row`` makes them (a JSON list, stripped), the subject
    "<level> : <n> facture(s) en retard (<customer>)" and the dedup key
    ``billing:reminder:<customer>:<date>:L<level>:<oldest invoice id>``, ``:copy`` for the owner's
    copy of a letter: one message per customer, level and day, whichever run writes it first.
    """
    city = join_nonempty(["p.postal_code", "p.city"], " ")
    address = f"trim({join_nonempty(['p.name', 'p.street', city], ', ')})"
    indemnity = "l.indemnity AND p.kind = 'company'"
    total_interest = "CASE WHEN l.interest THEN COALESCE(c.total_interest, 0) ELSE 0 END"
    total_indemnity = f"CASE WHEN {indemnity} THEN c.invoices * :indemnity ELSE 0 END"
    context = json_object([
        ("customer", json_object([(key, json_string(f"p.{key}"))
                                  for key in ("name", "email", "street", "postal_code", "city")])),
        ("level", json_object([("level", json_int("l.level")), ("name", json_string("l.name")),
                               ("handover", json_bool("l.handover"))])),
        ("today", json_plain("CAST(:today_iso AS TEXT)")), ("business", json_bool("p.kind = 'company'")),
        ("interest", json_bool("l.interest")), ("indemnity", json_bool(indemnity)),
        ("total_open", json_money("c.total_open")), ("total_interest", json_money(total_interest)),
        ("total_indemnity", json_money(total_indemnity)),
        ("total_claimed", json_money(f"c.total_open + {total_interest} + {total_indemnity}")),
        ("invoices", JsonSql("[%s]", ["c.lines"], "'[' || c.lines || ']'")),
        ("attached", json_bool("c.attachments IS NOT NULL")),
        # the customer reads the message in their language; none (null): the company's, at delivery
        ("locale", json_string("CASE p.language WHEN 'en' THEN 'en_GB' WHEN 'fr' THEN 'fr_FR' END"))
    ]).sql(dialect)
    return f"""
        SELECT r.channel AS channel,
               CASE r.to_customer
                    WHEN 'email' THEN '[' || {json_string("trim(p.email)").sql(dialect)}
                                      || CASE WHEN r.others = '[]' THEN ']' ELSE ', ' || substr(r.others, 2) END
                    WHEN 'letter' THEN '[' || {json_string(address).sql(dialect)} || ']'
                    ELSE r.others END AS recipients,
               CASE WHEN r.to_customer <> '' AND COALESCE(p.language, :company_language) = 'en'
                    THEN r.subject_head_en || CAST(c.invoices AS TEXT) || ' overdue invoice'
                         || CASE WHEN c.invoices > 1 THEN 's' ELSE '' END || ' (' || p.name || ')'
                    ELSE r.subject_head || CAST(c.invoices AS TEXT) || ' facture'
                         || CASE WHEN c.invoices > 1 THEN 's' ELSE '' END || ' en retard (' || p.name || ')'
               END AS subject,
               r.template AS template, {context} AS context,
               'core_partner:' || CAST(c.partner_id AS TEXT) AS related,
               '[' || c.attachments || ']' AS attachments,
               'billing:reminder:' || CAST(c.partner_id AS TEXT) || ':' || CAST(:today_iso AS TEXT) || '\\:L'
                   || CAST(c.level AS TEXT) || ':' || CAST(c.first_invoice_id AS TEXT) || r.key_suffix AS dedup_key
        FROM billing_run_customer c
        JOIN core_partner p ON p.id = c.partner_id
        JOIN billing_reminder_level l ON l.level = c.level
        JOIN billing_run_route r ON r.level = c.level AND r.owner_id = COALESCE(c.owner_id, 0)
                                AND r.has_email = c.has_email
        ORDER BY c.partner_id, r.seq"""
