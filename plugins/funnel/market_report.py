"""What we hold of the market: coverage per segment, and the companies we have never contacted.

A company is a SIREN. Its relation to us is read from the kernel and the funnel, never from
billing: a **customer** has a confirmed or delivered kernel sales order (a partner with that
SIREN), a **lead** is a lead with that SIREN (any state), **lost** is a partner with that SIREN
that has a lost deal; a company may be in several of these. Our **revenue** there is the sum of
those orders excluding VAT; the three are one ``UNION ALL`` grouped by SIREN. The companies per
segment are counted from the segment's index alone (the distinct (segment, SIREN) pairs, in index
order, counted: PostgreSQL sorts for a ``COUNT(DISTINCT siren)`` where a ``SELECT DISTINCT`` reads
the index in order);
our relations, a few thousand SIRENs, look their establishments up by SIREN.

A company with active establishments in two segments (two départements) counts in both; the
total counts it once.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Integer, exists, func, literal, select, true, union_all

from core.errors import ValidationError
from core.models import Partner, SalesOrder
from core.types import ScaledDecimal, round_money
from plugins.funnel.market import bands_within, size_label
from plugins.funnel.models import Lead, MarketCompany, Opportunity

M = MarketCompany.__table__.c
SEGMENTS = {"naf": M.naf, "department": M.department, "size": M.size_band}
SOURCE = "Sirene"
LOOKUP_CHUNK = 500  # SIRENs per IN (...) lookup: under every driver's parameter limit


def relations():
    """Per SIREN: customer, lead, lost (0/1) and revenue (confirmed or delivered orders, excl. VAT)."""
    money = ScaledDecimal(2)
    customers = (select(Partner.siren.label("siren"), literal(1, Integer).label("customer"),
                        literal(0, Integer).label("lead"), literal(0, Integer).label("lost"),
                        SalesOrder.total_untaxed.label("revenue"))
                 .join(SalesOrder, SalesOrder.customer_id == Partner.id)
                 .where(Partner.siren.is_not(None), SalesOrder.state.in_(("confirmed", "delivered"))))
    leads = select(Lead.siren, literal(0, Integer), literal(1, Integer), literal(0, Integer),
                   literal(0, money)).where(Lead.siren.is_not(None))
    lost = (select(Partner.siren, literal(0, Integer), literal(0, Integer), literal(1, Integer), literal(0, money))
            .join(Opportunity, Opportunity.customer_id == Partner.id)
            .where(Partner.siren.is_not(None), Opportunity.state == "lost"))
    every = union_all(customers, leads, lost).subquery()
    return (select(every.c.siren, func.max(every.c.customer).label("customer"), func.max(every.c.lead).label("lead"),
                   func.max(every.c.lost).label("lost"), func.sum(every.c.revenue).label("revenue"))
            .group_by(every.c.siren).subquery())


def filters(*, naf: str | None = None, department: str | None = None, size: str | None = None) -> list:
    """Conditions on the establishments: NAF code or prefix (``4321A``, ``43.21A``, ``43``), département, size."""
    conditions = [M.active == true()]
    if naf:
        code = naf.strip().upper().replace(".", "")
        if not re.match(r"^(\d{1,4}|\d{4}[A-Z])$", code, re.ASCII):
            raise ValidationError(f"{naf!r} is not a NAF code or prefix (4321A, 43.21A, 43)", record="market",
                                  field="naf")
        conditions.append(M.naf == code if len(code) == 5 else M.naf.startswith(code))
    if department:
        conditions.append(M.department == department.strip().upper())
    if size:
        conditions.append(M.size_band.in_(bands_within(size)))
    return conditions


def coverage(session, *, by: str = "naf", **wanted) -> dict:
    """Per segment: companies in the market, our customers, leads and lost deals there, our revenue.

    The companies are counted from the segment's index alone (the million rows are read once, in
    order); our relations, a few thousand SIRENs, look their establishments up by SIREN (chunked
    ``IN``) and are added up per segment here.
    """
    if by not in SEGMENTS:
        raise ValidationError(f"{by!r}: naf, department or size", record="market coverage", field="by")
    where = filters(**wanted)
    segment = SEGMENTS[by]
    pairs_in_market = select(segment.label("segment"), M.siren).where(*where).distinct().subquery()
    companies = dict(session.execute(select(pairs_in_market.c.segment, func.count())
                                     .group_by(pairs_in_market.c.segment)).all())
    related = relations()
    ours = {siren: figures for siren, *figures in session.execute(select(
        related.c.siren, related.c.customer, related.c.lead, related.c.lost, related.c.revenue))}
    pairs, sirens = set(), list(ours)
    for start in range(0, len(sirens), LOOKUP_CHUNK):
        pairs.update(session.execute(select(segment, M.siren).where(
            *where, M.siren.in_(sirens[start:start + LOOKUP_CHUNK]))).all())
    per_segment: dict = {}
    for key, siren in pairs:
        sums = per_segment.setdefault(key, [0, 0, 0, Decimal(0)])
        for index, value in enumerate(ours[siren]):
            sums[index] += value or 0
    segments = [_figures(by, key, count, *per_segment.get(key, (0, 0, 0, 0))) for key, count in companies.items()]
    segments.sort(key=lambda row: (-row["companies"], row["segment"] or ""))
    total = [0, 0, 0, Decimal(0)]
    for siren in {siren for _, siren in pairs}:
        for index, value in enumerate(ours[siren]):
            total[index] += value or 0
    total_companies = session.scalar(select(func.count()).select_from(
        select(M.siren).where(*where).distinct().subquery()))
    return {"by": by, "segments": segments, "total": _figures(by, None, total_companies, *total)}


def _figures(by: str, segment, companies, customers, leads, lost, revenue) -> dict:
    customers, leads, lost = int(customers or 0), int(leads or 0), int(lost or 0)
    label = segment
    if by == "size" and segment is not None:
        label = size_label(segment)
    elif by == "naf" and segment and len(segment) == 5:
        label = f"{segment[:2]}.{segment[2:]}"
    share = (Decimal(customers) * 100 / Decimal(companies)).quantize(Decimal("0.01"), ROUND_HALF_UP) \
        if companies else None
    return {"segment": segment, "label": label, "companies": companies or 0, "customers": customers, "leads": leads,
            "lost": lost, "penetration": str(share) if share is not None else None,
            "revenue": str(round_money(Decimal(revenue or 0)))}


def prospects(session, *, limit: int = 50, **wanted) -> list[dict]:
    """Active companies of the segment we have never contacted (no lead, no partner with their SIREN).

    One row per SIREN (its head office first when it is in the segment), by SIREN.
    """
    if limit < 1:
        raise ValidationError("must be at least 1", record="market prospects", field="limit")
    never = [~exists().where(Lead.siren == M.siren), ~exists().where(Partner.siren == M.siren)]
    query = (select(MarketCompany).where(*filters(**wanted), *never)
             .order_by(M.siren, M.head_office.desc(), M.siret))
    rows, seen = [], set()
    for company in session.scalars(query.execution_options(yield_per=500)):
        if company.siren in seen:
            continue
        seen.add(company.siren)
        rows.append(prospect_dict(company))
        if len(rows) >= limit:
            break
    return rows


def prospect_dict(company: MarketCompany) -> dict:
    """A prospect as listed (``--json`` keys): SIREN, SIRET, name, NAF with its dot, place, size."""
    return {"siren": company.siren, "siret": company.siret, "name": company.name,
            "naf": f"{company.naf[:2]}.{company.naf[2:]}" if company.naf else None,
            "postal_code": company.postal_code, "city": company.city, "department": company.department,
            "size": size_label(company.size_band), "created_on": company.created_on.isoformat()
            if company.created_on else None, "head_office": company.head_office}


def create_leads(app, session, rows: list[dict], *, owner: str | None = None, team: str | None = None,
                 user=None) -> list[int]:
    """A lead per prospect (its name, SIREN, source ``Sirene``), in the caller's transaction; their ids."""
    from plugins.funnel.leads import create_lead

    created = []
    for row in rows:
        name = row["name"] or f"SIREN {row['siren']}"
        lead = create_lead(app, session, {k: v for k, v in {
            "name": name, "company": name, "siren": row["siren"], "source": SOURCE, "owner": owner,
            "team": team, "notes": f"SIRET {row['siret']}, NAF {row['naf'] or '-'}, {row['postal_code'] or ''} "
                                   f"{row['city'] or ''}".strip()}.items() if v is not None},
            user=user, record=f"prospect {row['siren']}")
        created.append(lead.id)
    return created

