"""``Idempotency-Key`` on POSTs: a retried request gets the first response back and creates nothing.

The response is stored in the request's own transaction (``core_api_idempotency``, unique per
user and key), so a request that failed keeps nothing and may be retried, and two concurrent
requests with one key cannot both commit (the second gets 409 and, retried, the first's response).
The same key sent with another method, path or body is refused (422).
"""

from __future__ import annotations

import hashlib

from flask import request

HEADER = "Idempotency-Key"
MAX_KEY = 200


def _key():
    if request.method != "POST":
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    from core.errors import ValidationError

    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise ValidationError(f"{HEADER} must hold 1 to {MAX_KEY} characters", field=HEADER)
    return key


def _request() -> tuple[str, str]:
    return f"{request.method} {request.full_path.rstrip('?')}"[:300], hashlib.sha256(request.get_data()).hexdigest()


def replay(crm, session):
    """The stored response of this request's key, or None when it is new (or there is no key)."""
    from flask import Response
    from sqlalchemy import select

    from core.api.models import IdempotentResponse
    from core.errors import ValidationError

    key = _key()
    if key is None or crm.actor.user_id is None:
        return None
    row = session.scalars(select(IdempotentResponse).where(IdempotentResponse.user_id == crm.actor.user_id,
                                                           IdempotentResponse.key == key)).first()
    if row is None:
        return None
    what, fingerprint = _request()
    if (row.request, row.fingerprint) != (what, fingerprint):
        raise ValidationError(f"{HEADER} {key!r} was used for another request ({row.request}): use a new key "
                              f"for a new request", field=HEADER)
    response = Response(row.body, status=row.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def keep(crm, session, response) -> None:
    """Store a successful response to a keyed POST, in the request's transaction."""
    from core.api.models import IdempotentResponse
    from core.db import utcnow

    key = _key()
    if key is None or crm.actor.user_id is None or response.status_code >= 400:
        return
    what, fingerprint = _request()
    session.add(IdempotentResponse(user_id=crm.actor.user_id, key=key, request=what, fingerprint=fingerprint,
                                   status=response.status_code, body=response.get_data(as_text=True),
                                   created_at=utcnow()))
    session.flush()
