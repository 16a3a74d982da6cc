"""The schemas of ``crm.toml``: the kernel's sections, and the field types modules build theirs from.

Every section is checked when the config loads, each by the schema of the kernel or of the module
that owns it (``register_settings``): an unknown key is refused with the closest valid key
suggested, a value of the wrong type or outside its choices is refused naming its key, a channel
name must name a channel of the kernel or of an enabled module, and a key that would hold a secret
(``password``, ``token``...) is refused: secrets come from the environment, never from the file.

The field types here are strict about TOML's own types (``true`` is a boolean, ``"yes"`` is text,
``30`` a whole number) and each can turn what a person types after ``crm config set`` into the
TOML value it expects (:func:`value_from_text`).
"""

from __future__ import annotations

import copy
import difflib
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core import validators

#: The channel names of the kernel and the enabled modules while a config is checked against them
#: (None when no app is at hand: the names are then checked when the app loads).
KNOWN_CHANNELS: ContextVar[frozenset | None] = ContextVar("known_channels", default=None)

#: Words that make a key a secret's (``password``, ``smtp_token``, ``api_key``...); ``*_env`` keys
#: name the environment variable that holds one, and are fine.
SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "private_key", "credential")


class SettingsSchema(Schema):
    """The base of a config section's schema: every key known, nothing else accepted.

    ``secret_variable`` names the environment variable the section's secret comes from (the refusal
    of a ``password`` key says to set it instead).
    """

    secret_variable: str | None = None

    class Meta:
        unknown = RAISE


# --- field types ------------------------------------------------------------------------------------

class Boolean(fields.Field):
    """``true`` or ``false`` (a TOML boolean: the text ``"yes"`` is refused)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class WholeNumber(fields.Field):
    """A TOML integer within ``minimum``..``maximum``."""

    def __init__(self, *, minimum: int | None = None, maximum: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be a whole number, not {_kind(value)}")
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ValidationError(_range(self.minimum, self.maximum))
        return value


class Number(fields.Field):
    """A TOML integer or float greater than zero (a timeout in seconds)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"must be a number, not {_kind(value)}")
        if not value > 0 or value > 86400:
            raise ValidationError("must be more than 0 (and at most 86400)")
        return value


class Text(fields.Field):
    """A TOML string, optionally one of ``choices``."""

    def __init__(self, *, choices: tuple | None = None, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(f"must be text (in quotes), not {_kind(value)}")
        if self.choices is not None and value not in self.choices:
            raise ValidationError(f"{value!r} is not one of {', '.join(self.choices)}")
        return value


class Amount(fields.Field):
    """An exact decimal written as a string (``"8.5"``) or an integer; a float is refused."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float):
            raise ValidationError(f'write it as a string ("{value}"), money is exact')
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ValidationError(f"must be a number written as a string, not {_kind(value)}")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not a number") from None
        if not number.is_finite() or number < 0 or number > 1000000:
            raise ValidationError(f"{value!r} must be a number from 0 to 1000000")
        return number


class ChannelName(Text):
    """The name of a delivery channel of the kernel or an enabled module (``aliases`` also accepted)."""

    def __init__(self, *, aliases: tuple = (), **kwargs):
        super().__init__(**kwargs)
        self.aliases = aliases

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        known = KNOWN_CHANNELS.get()
        if known is not None and value not in known and value not in self.aliases:
            names = ", ".join(sorted({*known, *self.aliases}))
            raise ValidationError(f"no channel named {value!r} (available: {names})")
        return value


def _kind(value) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "text", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)


def _range(minimum, maximum) -> str:
    if maximum is None:
        return f"must be at least {minimum}"
    if minimum is None:
        return f"must be at most {maximum}"
    return f"must be from {minimum} to {maximum}"


# --- the kernel's sections --------------------------------------------------------------------------

def _database_url(value: str) -> str:
    from core.config import check_database_url
    from core.errors import ConfigError

    try:
        return check_database_url(value)
    except ConfigError as exc:
        raise ValidationError(str(exc)) from None


class _ModulesSchema(SettingsSchema):
    enabled = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)


class _DatabaseSchema(SettingsSchema):
    url = fields.String(load_default="sqlite:///crm.db", validate=[validate.Length(min=1), _database_url])


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


def _web_url(value: str) -> None:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValidationError(f"{value!r} is not an http:// or https:// URL")


class SmtpSettings(SettingsSchema):
    """``[notifications.smtp]``: the server e-mail is sent through (the password from the environment)."""

    secret_variable = "CRM_SMTP_PASSWORD"
    host = Text(validate=validate.Length(min=1))
    port = WholeNumber(minimum=1, maximum=65535)
    security = Text(choices=("starttls", "ssl", "none"))
    user = Text()
    timeout = Number()
    password_env = Text(validate=validate.Length(min=1))


class WebhookSettings(SettingsSchema):
    """``[notifications.webhook]``: where webhooks are POSTed (the HMAC secret from the environment)."""

    secret_variable = "CRM_WEBHOOK_SECRET"
    url = Text(validate=_web_url)
    timeout = Number()
    secret_env = Text(validate=validate.Length(min=1))


class NotificationsSettings(SettingsSchema):
    """``[notifications]``: how the outbox delivers."""

    email = ChannelName(load_default="file")
    sender = Text(load_default=None)
    folder = Text(load_default="outbox", validate=validate.Length(min=1))
    max_attempts = WholeNumber(minimum=1, maximum=100, load_default=5)
    backoff_seconds = WholeNumber(minimum=0, maximum=86400 * 7, load_default=60)
    # messages a deliverer claims at once (core.delivery): a crash leaves them to its lease
    batch_size = WholeNumber(minimum=1, maximum=100000, load_default=50)
    lease_seconds = WholeNumber(minimum=1, maximum=86400, load_default=300)
    smtp = fields.Nested(SmtpSettings)
    webhook = fields.Nested(WebhookSettings)


class JobsSettings(SettingsSchema):
    """``[jobs]``: the scheduled jobs."""

    allow_future_dates = Boolean(load_default=False)


class TemplatesSettings(SettingsSchema):
    """``[templates]``: the folder (relative to crm.toml) whose templates override the modules'."""

    folder = Text(load_default=None, validate=validate.Length(min=1))


def _business_day(value: str) -> None:
    import datetime as dt

    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not a date (expected YYYY-MM-DD)") from None
    if not validators.FIRST_DATE <= day <= validators.LAST_DATE:
        raise ValidationError(f"{value} is out of range ({validators.FIRST_DATE} to {validators.LAST_DATE})")


class WorkspaceSettings(SettingsSchema):
    """``[workspace]``: the business day this workspace lives on when no ``--today`` is given.

    A replayed or training workspace (``crm demo`` writes it) stays on its own last day instead of
    following the calendar, so what it shows matches its story; ``--today`` and ``CRM_TODAY`` win.
    """

    today = Text(load_default=None, validate=_business_day)


#: The kernel's sections parsed into :class:`core.config.Config`'s own fields.
CORE_SECTIONS = {"modules": _ModulesSchema, "database": _DatabaseSchema, "company": _CompanySchema}
#: The kernel's other sections, read with ``app.config.section(name)`` like a module's.
KERNEL_SECTIONS = {"notifications": NotificationsSettings, "jobs": JobsSettings, "templates": TemplatesSettings,
                   "workspace": WorkspaceSettings}


def kernel_schemas() -> dict[str, Schema]:
    """The schemas of the kernel's readable sections, by name (new instances)."""
    return {name: schema() for name, schema in KERNEL_SECTIONS.items()}


# --- checking a section -----------------------------------------------------------------------------

def check_section(label: str, name: str, schema: Schema, raw) -> tuple[dict | None, list[str]]:
    """Validate section ``name`` with ``schema``.

    :returns: the loaded section (None if it has a problem) and every problem as one line
        (``crm.toml: billing.post_on_confirn: unknown key (did you mean post_on_confirm?)``).
    """
    if not isinstance(raw, dict):
        return None, [f"{label}: {name}: must be a table ([{name}]), not {_kind(raw)}"]
    problems = [f"{label}: {name}.{key}: {message}" for key, message in _secrets(schema, raw)]
    try:
        data = schema.load(_without_secrets(raw, schema))
    except ValidationError as exc:
        problems += [f"{label}: {name}.{key}: {message}" for key, message in describe(schema, exc.messages)]
        return None, problems
    return (None if problems else data), problems


def is_secret(key: str) -> bool:
    lowered = str(key).lower()
    return not lowered.endswith("_env") and any(word in lowered for word in SECRET_WORDS)


def _secrets(schema, raw: dict, prefix: str = ""):
    for key, value in raw.items():
        if is_secret(key) and not _misspelt_variable(schema, key):
            env = getattr(schema, "secret_variable", None)
            where = f"set ${env} instead" if env else "set it in the environment instead"
            yield f"{prefix}{key}", f"secrets do not belong in the config file: {where}"
        elif isinstance(value, dict):
            field = schema.fields.get(key) if schema is not None else None
            inner = field.schema if isinstance(field, fields.Nested) else None
            yield from _secrets(inner, value, f"{prefix}{key}.")


def _misspelt_variable(schema, key: str) -> bool:
    """``password_enx`` is a typo of ``password_env`` (naming a variable), not a secret."""
    variables = [name for name in (schema.fields if schema is not None else ()) if name.endswith("_env")]
    return any(len(key) >= len(name) - 1 and difflib.SequenceMatcher(None, key, name).ratio() >= 0.85
               for name in variables)


def closest(word: str, known) -> str | None:
    """The known word ``word`` most likely misspells (difflib; ties go to the longest common start)."""
    def start(candidate: str) -> int:
        return next((i for i, (a, b) in enumerate(zip(word, candidate)) if a != b), min(len(word), len(candidate)))

    scored = [(difflib.SequenceMatcher(None, word, candidate).ratio(), start(candidate), candidate)
              for candidate in known]
    scored = [item for item in scored if item[0] >= 0.6]
    return max(scored)[2] if scored else None


def _without_secrets(raw, schema=None):
    if isinstance(raw, dict):
        result = {}
        for key, value in raw.items():
            if is_secret(key) and not _misspelt_variable(schema, key):
                continue
            field = schema.fields.get(key) if schema is not None else None
            result[key] = _without_secrets(value, field.schema if isinstance(field, fields.Nested) else None)
        return result
    return copy.deepcopy(raw)


def describe(schema, messages, prefix: str = ""):
    """Yield ``(dotted.key, message)`` from marshmallow's errors, an unknown key with its likely meaning."""
    if isinstance(messages, (list, tuple)):
        for message in messages:
            if isinstance(message, dict):
                yield from describe(schema, message, prefix)
            else:
                yield prefix.rstrip(".") or "_", _message(message)
        return
    for key, value in messages.items():
        if key == "_schema":
            yield from describe(schema, value, prefix)
            continue
        field = schema.fields.get(key) if schema is not None and isinstance(key, str) else None
        dotted = f"{prefix}[{key + 1}]" if isinstance(key, int) else f"{prefix}{key}"
        if isinstance(value, dict):
            if isinstance(field, fields.Nested):
                yield from describe(field.schema, value, dotted + ".")
            elif isinstance(field, fields.List):
                inner = field.inner.schema if isinstance(field.inner, fields.Nested) else None
                for index, sub in value.items():
                    yield from describe(inner, sub, f"{dotted}[{index + 1}].")
            else:
                yield from describe(schema, value, dotted + ".")
            continue
        text = value[0] if isinstance(value, list) and value else value
        if text == "Unknown field.":
            close = closest(str(key), schema.fields if schema is not None else ())
            yield dotted, "unknown key" + (f" (did you mean {close}?)" if close else "")
        else:
            yield dotted, _message(text)


def _message(text) -> str:
    return str(text).rstrip(".").replace("Missing data for required field", "required")


def value_from_text(schema: Schema, path: list[str], text: str):
    """The TOML value for ``text`` typed after ``crm config set`` for the key at ``path`` in ``schema``.

    :raises ValueError: the key is unknown, or is a table or a list (edit those in the file).
    """
    field = None
    for index, key in enumerate(path):
        if schema is None or key not in schema.fields:
            close = closest(key, schema.fields if schema is not None else ())
            raise ValueError("unknown key" + (f" (did you mean {close}?)" if close else ""))
        field = schema.fields[key]
        last = index == len(path) - 1
        if isinstance(field, fields.Nested):
            if last:
                raise ValueError("is a table: set its keys one by one (SECTION.TABLE.KEY)")
            schema = field.schema
        elif not last:
            raise ValueError(f"{key} is not a table")
    if isinstance(field, fields.List):
        raise ValueError("is a list: edit it in the file")
    if isinstance(field, Boolean):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"{text!r}: must be true or false")
    if isinstance(field, (WholeNumber, Number)):
        try:
            return int(text.strip())
        except ValueError:
            pass
        if isinstance(field, Number):
            try:
                return float(text.strip())
            except ValueError:
                pass
        raise ValueError(f"{text!r} is not a {'whole ' if isinstance(field, WholeNumber) else ''}number")
    return text
