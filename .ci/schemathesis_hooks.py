"""Checks for .ci/schemathesis.

`positive_data_acceptance` wants every request the schema allows to be accepted (2xx, or 401, 403,
404, 409, 429). A few refusals of schema-valid requests are right, and JSON Schema cannot say when
they happen, because they depend on what the server has seen or on a rule over a transliteration:

- 422 `idempotency_key_reused`: the request's `Idempotency-Key` was used before with another body
  (IETF httpapi-idempotency-key-header); the fuzzer draws keys from a small space and reuses them.
- 422 `invalid_slug`/`reserved_slug` on `slug` when the body has no slug: the slug is derived from
  the name (accents folded, other scripts transliterated, then the slug rules), and a name like
  "0" or "Admin" derives none that is allowed; the 422 says "give a slug explicitly".
- 400 `invalid_cursor` for a `cursor`/`after` the API never handed out: cursors are opaque tokens
  (any string is schema-valid; only those from a page's `next_cursor`/`next` mean something).

So the run uses `positive_data_acceptance_with_state` instead of the built-in check: the built-in
check itself, with exactly these refusals excused. Everything else a schema-valid request gets
must still be an acceptance.
"""

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance as builtin


def _error(response):
    try:
        return response.json()["error"]
    except Exception:
        return None


def _excused(response, case) -> bool:
    error = _error(response)
    if error is None:
        return False
    code, field = error.get("code"), error.get("field")
    headers = {name.lower() for name in (case.headers or {})}
    query = case.query or {}
    body = case.body if isinstance(case.body, dict) else {}
    if response.status_code == 422 and code == "idempotency_key_reused":
        return "idempotency-key" in headers
    if response.status_code == 422 and code in ("invalid_slug", "reserved_slug"):
        return field == "slug" and body.get("slug") is None and "name" in body
    if response.status_code == 400 and code == "invalid_cursor":
        return bool(query.get("cursor") or query.get("after"))
    return False


@schemathesis.check
def positive_data_acceptance_with_state(ctx, response, case):
    try:
        return builtin(ctx, response, case)
    except RejectedPositiveData:
        if _excused(response, case):
            return None
        raise
