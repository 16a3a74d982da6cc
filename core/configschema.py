"""The marshmallow schema of the kernel's sections of ``crm.toml`` (imported only to validate)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from core import validators


class _ModulesSchema(Schema):
    class Meta:
        unknown = RAISE

    enabled = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class _DatabaseSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.String(load_default="sqlite:///crm.db", validate=validate.Length(min=1))


class _CompanySchema(Schema):
    class Meta:
        unknown = RAISE

    # deprecated: the identity is in the database now (`crm company set`); read once to seed it
    name = fields.String()
    siren = fields.String(validate=lambda v: not v or validators.siren(v))
    vat_number = fields.String(validate=lambda v: not v or validators.vat_number(v))
    street = fields.String()
    postal_code = fields.String()
    city = fields.String()
    country = fields.String(validate=validators.country)
    currency = fields.String(load_default="EUR", validate=validate.OneOf(["EUR"]))
    locale = fields.String(load_default="fr_FR", validate=validate.OneOf(["fr_FR", "en_GB", "en_US"]))


class ConfigSchema(Schema):
    # Unknown top-level sections are plugin sections; the kernel's own are strict.
    modules = fields.Nested(_ModulesSchema, load_default=lambda: _ModulesSchema().load({}))
    database = fields.Nested(_DatabaseSchema, load_default=lambda: _DatabaseSchema().load({}))
    company = fields.Nested(_CompanySchema, load_default=lambda: _CompanySchema().load({}))
