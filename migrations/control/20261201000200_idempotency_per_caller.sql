-- Idempotency keys belong to the caller who sent them (IETF `Idempotency-Key` draft, as Stripe
-- does it): one staff member's key never answers another's request. Replaces the table of
-- 20261122000004, whose keys were scoped to method + path alone and which kept request bodies (a
-- login's password among them). Its rows are dropped with it: keys live a day, and a retry of one
-- of them runs as a first request.
DROP TABLE idempotency_keys;

CREATE TABLE idempotency_keys (
    -- Who sent the key, e.g. `staff:{uuid}`.
    caller           text        NOT NULL,
    -- Method and path, e.g. `POST /platform/api/tenants`.
    scope            text        NOT NULL,
    key              text        NOT NULL,
    -- SHA-256 of the first request's body: enough to refuse a key reused with another body,
    -- without keeping the body.
    request_hash     bytea       NOT NULL,
    -- Which claim of the key is running: a request whose lease ran out and was taken over can no
    -- longer complete or release the key.
    claim            uuid        NOT NULL,
    -- While the first request runs (status NULL): until when it holds the key. A crashed
    -- request's key is free again after that.
    locked_until     timestamptz NOT NULL,
    -- The kept answer, once there is one.
    status           smallint,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Swept by a periodic task after this.
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (caller, scope, key)
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
