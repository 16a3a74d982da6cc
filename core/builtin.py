"""The kernel's own hook implementations, registered as the plugin ``core`` (always on).

Built-in features go through the same hooks as any module's: the kernel's import kinds are
declared here exactly as a plugin declares its own.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_models():
    from core import models, outbox, scheduler
    from core.api import models as api_models

    return [models, outbox, scheduler, api_models]


@hookimpl
def register_template_dirs():
    from pathlib import Path

    return [Path(__file__).parent / "templates"]


@hookimpl
def register_channels(register):
    from core.channels import BUILT_IN

    for channel in BUILT_IN:
        register(channel)


@hookimpl
def register_jobs(register):
    from core.jobs import Job

    # a sweep: it runs after the jobs that write messages, on every run, so they go out with it
    register(Job(name="notifications.deliver", run=_deliver_notifications, every_minutes=1, own_transactions=True,
                 catch_up="latest", sweep=True,
                 summary="send the outbox's pending notifications (retries with backoff)"))


def _deliver_notifications(app, session, as_of):
    from core.delivery import deliver

    report = deliver(app)
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed}


@hookimpl
def register_data_kinds(register):
    from core.importexport import DataKind
    from core.schemas import PartnerSchema, ProductSchema

    register(DataKind(name="partners", schema=PartnerSchema, write=_write_partner, export=_export_partners,
                      columns=tuple(PartnerSchema().fields), key="siren", entity="partner",
                      summary="customers and suppliers (matched on SIREN or e-mail)"))
    register(DataKind(name="products", schema=ProductSchema, write=_write_product, export=_export_products,
                      columns=tuple(ProductSchema().fields), key="sku", entity="product",
                      summary="products (matched on SKU)"))


def _write_partner(app, session, data, *, update, record, provided):
    from core.errors import ValidationError
    from core.services import partners

    data = dict(data)
    extensions = data.pop("extensions", None)
    existing = partners.find_duplicate(session, data)
    if existing is None:
        partners.create_partner(app, session, data, record=record, validated=True, extensions=extensions)
        return "created"
    if not update:
        field = "siren" if data.get("siren") and existing.siren == data["siren"] else "email"
        raise ValidationError(f"already used by partner {existing.id} ({existing.name}); "
                              f"use --update to update it", record=record, field=field)
    changes = partners.update_partner(app, session, existing, {k: data[k] for k in provided if k in data},
                                      record=record, extensions=extensions)
    return "updated" if changes else "skipped"


def _export_partners(app, session):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from core.models import Partner

    from core import extensions

    query = select(Partner).options(selectinload(Partner.salesperson)).order_by(Partner.id)
    # every partner's extension fields in one query (a join per extending module)
    extra = extensions.read(app, session, "partner", select(Partner.id)) if extensions.of(app, "partner") else {}
    for partner in session.scalars(query):
        row = extensions.flat(extra.get(partner.id, {}))
        row.update({column: getattr(partner, column, None) for column in
               ("name", "kind", "is_customer", "is_supplier", "email", "phone", "street", "postal_code",
                "city", "country", "siren", "siret", "vat_number", "language")})
        row["salesperson"] = partner.salesperson.login if partner.salesperson else None
        yield row


def _write_product(app, session, data, *, update, record, provided):
    from sqlalchemy import select

    from core.errors import ValidationError
    from core.models import Product
    from core.services import catalog

    data = dict(data)
    extensions = data.pop("extensions", None)
    existing = session.scalars(select(Product).where(Product.sku == data["sku"])).first()
    if existing is None:
        catalog.create_product(session, data, record=record, validated=True, app=app, extensions=extensions)
        return "created"
    if not update:
        raise ValidationError("already exists; use --update to update it", record=record, field="sku")
    changes = catalog.update_product(session, existing, {k: data[k] for k in provided if k in data}, app=app,
                                     extensions=extensions, record=record)
    return "updated" if changes else "skipped"


def _export_products(app, session):
    from sqlalchemy import select

    from core.models import Product

    from core import extensions

    extra = extensions.read(app, session, "product", select(Product.id)) if extensions.of(app, "product") else {}
    for product in session.scalars(select(Product).order_by(Product.sku)):
        yield {**extensions.flat(extra.get(product.id, {})), **{column: getattr(product, column) for column in
               ("sku", "name", "unit", "list_price", "vat_rate", "stockable", "kind")}}


@hookimpl
def register_permissions(register):
    from core.rights import KERNEL_PERMISSIONS

    for permission in KERNEL_PERMISSIONS:
        register(permission)


@hookimpl
def register_record_rules(register):
    from core.rights import kernel_record_rules

    kernel_record_rules(register)


@hookimpl
def register_routes(register):
    from core.api import kernel, kernel_pages, orders, pages

    for blueprint in (kernel.meta, kernel.partners, kernel.products, orders.orders, orders.reports, pages.web,
                      kernel_pages.pages):
        register(blueprint)
