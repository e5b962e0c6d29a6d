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
- 400 `invalid_query` on `min_position` beyond the end of the log, or on a tenant's events'
  `after` past its last event: any position up to `i64::MAX` is schema-valid, but which ones
  exist depends on what has been written (the 400 says so at once, instead of a wait and a 503).

So the run uses `positive_data_acceptance_with_state` instead of the built-in check: the built-in
check itself, with exactly these refusals excused. Everything else a schema-valid request gets
must still be an acceptance.

`use_after_free` wants a deleted resource to be 404. DELETE of a tenant starts its deletion, and
the tenant stays readable by its id, by design (docs/API.md, `GET /platform/api/tenants/{id}`):
200 with `status: deleting`, then `deleted`, and its history (the event log is never erased). So
`use_after_free_but_history` is the built-in check with exactly that excused: a 200 to a read of
the tenant or its events (without `min_position`, the read models may not show the deletion yet),
or to a `PATCH` with nothing to change, which answers the tenant as it is, deleting or deleted.
Any other use after a delete still fails.

`negative_data_rejection` wants a request the schema does not allow to be refused. An idempotent
retry (the same `Idempotency-Key` and body as an earlier request) is answered the first answer,
marked `Idempotent-Replayed: true`, whatever else it carries: the point is that a retry gets the
same answer. So `negative_data_rejection_but_replays` excuses exactly the replays.
"""

import schemathesis
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData, UseAfterFree
from schemathesis.specs.openapi.checks import negative_data_rejection as builtin_negative
from schemathesis.specs.openapi.checks import positive_data_acceptance as builtin
from schemathesis.specs.openapi.checks import use_after_free as builtin_use_after_free


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
        return "cursor" in query or "after" in query
    if response.status_code == 400 and code == "invalid_query":
        message = error.get("message", "")
        if field == "min_position":
            return "min_position" in query and "beyond the end of the log" in message
        if field == "after":
            return "after" in query and "past the tenant's last event" in message
    return False


@schemathesis.check
def positive_data_acceptance_with_state(ctx, response, case):
    try:
        return builtin(ctx, response, case)
    except RejectedPositiveData:
        if _excused(response, case):
            return None
        raise


def _kept_after_delete(response, case) -> bool:
    if response.status_code != 200 or not case.path.startswith("/platform/api/tenants/{id}"):
        return False
    # A read: the tenant as the read models show it (right after the DELETE, without
    # `min_position`, that may still be its state before), or its history.
    if case.method.upper() == "GET":
        return True
    try:
        return response.json().get("status") in ("deleting", "deleted")
    except Exception:
        return False


@schemathesis.check
def use_after_free_but_history(ctx, response, case):
    try:
        return builtin_use_after_free(ctx, response, case)
    except UseAfterFree:
        if _kept_after_delete(response, case):
            return None
        raise


@schemathesis.check
def negative_data_rejection_but_replays(ctx, response, case):
    try:
        return builtin_negative(ctx, response, case)
    except AcceptedNegativeData:
        if response.headers.get("idempotent-replayed") in (["true"], "true"):
            return None
        raise
