"""The funnel's endpoints: leads (with their duplicates), deals and their stage moves."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields, validate

from core.api.http import Page, Record, Rows, body, each, payload, requires, session
from core.api.http import app as crm
from plugins.funnel.schemas import DealLineSchema, DealSchema, LeadSchema

leads = Blueprint("leads", __name__, url_prefix="/api/v1/leads", description="Leads: the wide end of the funnel")
deals = Blueprint("deals", __name__, url_prefix="/api/v1/deals", description="Deals and their stages")
LEAD_STATES = ("new", "qualified", "disqualified", "converted", "merged")


class LeadOut(Record):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    company = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": list(LEAD_STATES)})
    duplicate_of = fields.Integer(allow_none=True, metadata={"description": "the older lead it duplicates"})
    duplicate_partner = fields.Integer(allow_none=True, metadata={"description": "the partner it matches"})
    duplicate_keys = fields.String(allow_none=True, metadata={"description": "e.g. email,domain"})


class LeadIn(LeadSchema):
    duplicates = fields.String(validate=validate.OneOf(("create", "skip")), metadata={
        "description": "create (default): create it, flagged as a duplicate; skip: when it duplicates a lead, "
                       "create nothing and answer 200 with that lead"})


class LeadQuery(Record):
    state = fields.String(load_default=None, validate=validate.OneOf(LEAD_STATES))
    owner = fields.String(load_default=None)
    duplicates = fields.Boolean(load_default=False, metadata={"description": "only the flagged duplicates"})
    search = fields.String(load_default=None)


class ReasonIn(Record):
    reason = fields.String(required=True)


def _acting():
    from core.security import acting_user

    return acting_user(crm(), session())


@leads.get("/")
@leads.arguments(LeadQuery, location="query", as_kwargs=True)
@leads.response(200, LeadOut(many=True))
@leads.paginate(Page)
@requires("funnel.read")
def list_leads(state, owner, duplicates, search):
    """Leads in order of arrival (``crm lead list``): a salesperson sees their own and the unassigned."""
    from core.services.people import get_user
    from plugins.funnel.leads import lead_dict, leads_query, load_leads

    query = leads_query(state=state, owner=get_user(session(), owner) if owner else None, duplicates=duplicates,
                        search=search)
    return Rows(query, each(lambda lead: lead_dict(session(), lead)), load=lambda page: load_leads(session(), page))


@leads.get("/<ref>")
@leads.response(200, LeadOut)
@requires("funnel.read")
def show_lead(ref):
    """One lead with its history (``crm lead show``)."""
    from plugins.funnel.leads import get_lead, lead_dict

    return lead_dict(session(), get_lead(session(), ref), history=True)


@leads.post("/")
@body(LeadIn, example={"name": "Jeanne Martin", "company": "Martin SARL", "email": "jeanne@martin.fr"})
@leads.response(201, LeadOut)
@leads.alt_response(200, schema=LeadOut, description="skip: the lead it duplicates, nothing created")
@requires("funnel.lead.write")
def create_lead():
    """Add a lead; one that matches a lead or partner (e-mail, phone, SIREN, company, domain) is flagged."""
    from plugins.funnel.leads import create_lead as create, find_duplicate, get_lead, lead_dict

    data = payload()
    policy = data.pop("duplicates", "create")
    if policy not in ("create", "skip"):
        from core.errors import ValidationError

        raise ValidationError("must be create or skip", field="duplicates")
    if policy == "skip":
        existing, _, _ = find_duplicate(session(), data)
        if existing is not None:
            return lead_dict(session(), get_lead(session(), existing)), 200
    return lead_dict(session(), create(crm(), session(), data, user=_acting()))


@leads.post("/<ref>/qualify")
@leads.response(200, LeadOut)
@requires("funnel.lead.write")
def qualify_lead(ref):
    """Qualify a new lead."""
    from plugins.funnel.leads import get_lead, lead_dict, qualify

    return lead_dict(session(), qualify(crm(), session(), get_lead(session(), ref), user=_acting()))


@leads.post("/<ref>/disqualify")
@body(ReasonIn)
@leads.response(200, LeadOut)
@requires("funnel.lead.write")
def disqualify_lead(ref):
    """Disqualify a lead, with a reason."""
    from plugins.funnel.leads import disqualify, get_lead, lead_dict

    lead = disqualify(crm(), session(), get_lead(session(), ref), str(payload().get("reason") or ""), user=_acting())
    return lead_dict(session(), lead)


# --- deals ------------------------------------------------------------------------------------------

class DealOut(Record):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    pipeline = fields.String()
    stage = fields.String()
    state = fields.String(metadata={"enum": ["open", "won", "lost"]})
    value = fields.String()
    probability = fields.String()
    weighted_value = fields.String()
    expected_close = fields.String(metadata={"format": "date"})
    owner = fields.String(allow_none=True)
    customer = fields.Dict(allow_none=True)
    order = fields.Dict(allow_none=True)


class DealQuery(Record):
    state = fields.String(load_default=None, validate=validate.OneOf(("open", "won", "lost")))
    owner = fields.String(load_default=None)
    pipeline = fields.String(load_default=None)


class MoveIn(Record):
    stage = fields.String(required=True)
    note = fields.String()


def _deal(deal) -> dict:
    from core.extensions import attach
    from plugins.funnel.deals import deal_dict

    return attach(crm(), session(), "deal", deal.id, deal_dict(session(), deal, history=True))


@deals.get("/")
@deals.arguments(DealQuery, location="query", as_kwargs=True)
@deals.response(200, DealOut(many=True))
@deals.paginate(Page)
@requires("funnel.read")
def list_deals(state, owner, pipeline):
    """Deals (``crm deal list``): a salesperson sees their own, a manager their team's."""
    from core.services.people import get_user
    from plugins.funnel.deals import deal_dict, deals_query, load_deals
    from plugins.funnel.pipelines import get_pipeline

    chosen = get_pipeline(session(), pipeline) if pipeline else None
    query = deals_query(state=state, owner=get_user(session(), owner) if owner else None, pipeline=chosen)
    return Rows(query, each(lambda deal: deal_dict(session(), deal)), load=lambda page: load_deals(session(), page))


@deals.get("/<ref>")
@deals.response(200, DealOut)
@requires("funnel.read")
def show_deal(ref):
    """One deal with its lines and stage history; another salesperson's deal is not found (404)."""
    from plugins.funnel.deals import get_deal

    return _deal(get_deal(session(), ref))


@deals.post("/")
@body(DealSchema, example={"name": "Martin: 40 chairs", "customer": "Martin SARL", "value": "4800.00",
                           "expected_close": "2027-01-31"})
@deals.response(201, DealOut)
@requires("funnel.deal.write")
def create_deal():
    """Add a deal in its pipeline's first stage (or ``stage``)."""
    from plugins.funnel.deals import create_deal as create

    return _deal(create(crm(), session(), payload(), user=_acting()))


@deals.post("/<ref>/move")
@body(MoveIn, example={"stage": "Proposal"})
@deals.response(200, DealOut)
@requires("funnel.deal.write")
def move_deal(ref):
    """Move a deal to another stage of its pipeline (kept in its history with the user and date)."""
    from plugins.funnel.deals import get_deal, move

    data = payload()
    deal = get_deal(session(), ref, lock=True)
    return _deal(move(crm(), session(), deal, str(data.get("stage") or ""), user=_acting(), note=data.get("note")))


@deals.post("/<ref>/lines")
@body(DealLineSchema, example={"sku": "WIDGET", "quantity": "40"})
@deals.response(200, DealOut)
@requires("funnel.deal.write")
def add_deal_line(ref):
    """Add a product line (its value becomes the lines' total; a won deal's order takes them)."""
    from plugins.funnel.deals import add_line, get_deal

    deal = get_deal(session(), ref, lock=True)
    add_line(crm(), session(), deal, payload())
    return _deal(deal)


@deals.post("/<ref>/won")
@deals.response(200, DealOut)
@requires("funnel.deal.write")
def win_deal(ref):
    """Mark a deal won: its sales order is created and confirmed."""
    from plugins.funnel.deals import get_deal, win

    return _deal(win(crm(), session(), get_deal(session(), ref, lock=True), user=_acting()))


@deals.post("/<ref>/lost")
@body(ReasonIn)
@deals.response(200, DealOut)
@requires("funnel.deal.write")
def lose_deal(ref):
    """Mark a deal lost, with a reason."""
    from plugins.funnel.deals import get_deal, lose

    deal = get_deal(session(), ref, lock=True)
    return _deal(lose(crm(), session(), deal, str(payload().get("reason") or ""), user=_acting()))
