"""A module for the extension benchmark: two listed fields on the partner, in its own table."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "bench_fields", "version": "1.0", "depends": [], "migrations": None}


@hookimpl
def register_fields(register):
    from marshmallow import fields, validate

    from core.extensions import Extension, Field

    register(Extension("partner", TABLE, key="partner_id", fields=(
        Field("limit", fields.Decimal(places=2, as_string=True), label={"en": "Credit limit"}, listed=True),
        Field("segment", fields.String(validate=validate.OneOf(["smb", "key"])), label={"en": "Segment"},
              listed=True),
    )))


def _table():
    from sqlalchemy import Column, Integer, MetaData, String, Table

    from core.types import ScaledDecimal

    return Table("bench_fields_partner", MetaData(),
                 Column("partner_id", Integer, primary_key=True),
                 Column("limit", ScaledDecimal(2)), Column("segment", String(20)))


TABLE = _table()
