-- Idempotency keys of POST requests: the first response to a key is kept and replayed to every
-- retry that carries the same key (and the same body). `status` is NULL while the first request
-- is still running.
CREATE TABLE idempotency_keys (
    scope            text        NOT NULL,
    key              text        NOT NULL,
    request_body     bytea       NOT NULL,
    status           smallint,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
