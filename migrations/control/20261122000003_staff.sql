-- Platform staff: the operators who use the control-plane API (`/platform/api/*`), their revoked
-- access tokens, and the platform's own generated secrets.
--
-- Staff accounts are plain rows, not an event-sourced aggregate: login needs a fast lookup by
-- email and holds a password hash, which must never enter the append-only event log. Creating an
-- account still appends a `StaffAccountCreated` event (without the hash) so it shows in the audit
-- log.

CREATE TABLE staff_accounts (
    id            uuid        PRIMARY KEY,
    -- stored lower-cased, so that uniqueness and login ignore case
    email         text        NOT NULL CHECK (email = lower(email)),
    -- an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- set when the account may no longer log in
    disabled_at   timestamptz,
    CONSTRAINT staff_accounts_email_key UNIQUE (email)
);

-- Access tokens are stateless JWTs; logging out records the token's id here until the token would
-- have expired anyway. Rows past `expires_at` are useless and are deleted as new ones arrive.
CREATE TABLE revoked_tokens (
    jti        uuid        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- Secrets Tenantry generates for itself when the operator did not configure them, e.g. the key
-- that signs staff access tokens when TENANTRY_JWT_SECRET is unset. Written once, never rotated
-- in place.
CREATE TABLE platform_secrets (
    name       text        PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
