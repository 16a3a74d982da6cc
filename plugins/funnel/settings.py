"""The ``[funnel]`` section of ``crm.toml``: its schema, checked when the config loads.

```toml
[funnel]
default_pipeline = "Sales"   # name of the pipeline seeded when the module is enabled
default_close_days = 30      # a deal without an expected close date is expected this many days on
learn_months = 12            # the learned probabilities read the deals closed in the last 12 months
learn_min_sample = 30        # below this many closed deals a stage (or segment) keeps its configured probability
learn_amount_bands = [1000, 10000]   # amount bands of the learned probabilities: < 1000, 1000-10000, >= 10000

[funnel.forms.contact]       # a website's form posting leads to /api/v1/forms/KEY (plugins.funnel.capture)
key = "kq2V8-contact-9fZ"    # the public key in the form's URL (16 to 64 letters, digits, - or _)
owner = "alice"              # who gets the leads and is notified (and/or team = "Paris")
origins = ["https://www.example.fr"]   # the pages allowed to post (CORS); none: any page
fields = {name = "nom", email = "courriel", notes = "message"}   # lead field = the form's field name
honeypot = "url2"            # a hidden field people leave empty (default "hp"); filled: refused as spam
rate_limit = 5               # posts per source address per rate_window seconds (then 429)
rate_window = 3600
max_body = 16384             # bytes (413 above), max_field: characters of one field (413 above)
redirect = "https://www.example.fr/merci"   # an HTML form post is answered 303 to this page
```
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import ValidationError, fields, validate, validates

from core.configschema import Amount, SettingsSchema, Text, WholeNumber

LEAD_INPUTS = ("name", "company", "email", "phone", "siren", "website", "notes", "campaign")


def _origin(value: str) -> None:
    if not value.startswith(("http://", "https://")) or value.count("/") != 2 or value.endswith("/"):
        raise ValidationError(f"{value!r} is not an origin such as https://www.example.fr (no path)")


class FormSettings(SettingsSchema):
    """``[funnel.forms.NAME]``: a website's form whose posts become leads (``plugins.funnel.capture``)."""

    key = Text(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{16,64}$",
                                                        error="16 to 64 letters, digits, - or _"))
    owner = Text(load_default=None)
    team = Text(load_default=None)
    source = Text(load_default=None, validate=validate.Length(min=1, max=100))
    campaign = Text(load_default=None, validate=validate.Length(min=1, max=100))
    origins = fields.List(Text(validate=_origin), load_default=list)
    mapping = fields.Dict(keys=Text(validate=validate.OneOf(LEAD_INPUTS)), values=Text(validate=validate.Length(min=1)),
                          load_default=dict, data_key="fields")
    honeypot = Text(load_default="hp", validate=validate.Length(min=1, max=100))
    rate_limit = WholeNumber(minimum=1, maximum=1000000, load_default=5)
    rate_window = WholeNumber(minimum=1, maximum=86400 * 7, load_default=3600)
    max_body = WholeNumber(minimum=256, maximum=1024 * 1024, load_default=16384)
    max_field = WholeNumber(minimum=10, maximum=10000, load_default=2000)
    redirect = Text(load_default=None)


class FunnelSettings(SettingsSchema):
    """``[funnel]``: the default pipeline and close date, and what the probabilities learn from."""

    default_pipeline = Text(load_default="Sales", validate=validate.Length(min=1, max=100))
    default_close_days = WholeNumber(minimum=0, maximum=3650, load_default=30)
    learn_months = WholeNumber(minimum=1, maximum=120, load_default=12)
    learn_min_sample = WholeNumber(minimum=1, maximum=1000000, load_default=30)
    learn_amount_bands = fields.List(Amount(), load_default=lambda: [Decimal(1000), Decimal(10000)])
    forms = fields.Dict(keys=Text(validate=validate.Regexp(r"^[a-z0-9_-]{1,40}$",
                                                           error="a form's name: a-z, 0-9, - or _")),
                        values=fields.Nested(FormSettings), load_default=dict)

    @validates("learn_amount_bands")
    def _increasing(self, value, **kwargs):
        if not value or any(low >= high for low, high in zip(value, value[1:])) or value[0] <= 0:
            raise ValidationError("give one or more amounts above 0 in increasing order, such as [1000, 10000]")
