-- Staff accounts can be disabled, enabled and deleted (`StaffAccountDisabled`, `…Enabled`,
-- `…Deleted` in the account's stream `staff-{uuid}`). The lookup table mirrors the state the
-- events decide, written by the same command, so that every request checks its token's account
-- with one indexed lookup and a disabled or deleted account's tokens stop working at once.

ALTER TABLE staff_accounts
    -- set when the account was deleted: it can no longer log in, and its email is free again
    ADD COLUMN deleted_at timestamptz,
    -- tokens issued (`iat`) before this second are refused: set when the account is disabled, so
    -- that enabling it again does not bring back the tokens it had
    ADD COLUMN tokens_not_before timestamptz,
    -- the version of the account's stream this row reflects; an update for an older version is
    -- ignored, so two commands racing leave the row as the later event says
    ADD COLUMN state_version bigint NOT NULL DEFAULT 0,
    -- a deleted account keeps no password hash
    ALTER COLUMN password_hash DROP NOT NULL,
    ADD CONSTRAINT staff_accounts_hash_unless_deleted
        CHECK (password_hash IS NOT NULL OR deleted_at IS NOT NULL);

-- One live account per email; deleted accounts keep theirs for the record without holding it.
ALTER TABLE staff_accounts DROP CONSTRAINT staff_accounts_email_key;
CREATE UNIQUE INDEX staff_accounts_email_key ON staff_accounts (email) WHERE deleted_at IS NULL;
CREATE INDEX staff_accounts_email ON staff_accounts (email);
