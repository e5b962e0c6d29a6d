-- The event store: one append-only table of events, one row per stream with its current version.
--
-- Reading order. `position` (an identity) is handed out when a row is inserted, but transactions
-- commit in any order, so a reader that walks `position` upwards can pass a number whose
-- transaction commits later, and never see that event. Each row therefore also stores the id of
-- the transaction that wrote it (`tx_id`, the xid8 of pg_current_xact_id()), and readers walk
-- `(tx_id, position)` and only read rows whose transaction is older than the oldest transaction
-- still running (pg_snapshot_xmin of the current snapshot): every such transaction has finished,
-- so no row can ever appear behind that horizon again. A reader's checkpoint is the pair. Within
-- one stream, tx_id grows with the version (append_events queues appends to a stream before their
-- transaction has an id), so that order is also each stream's version order.

CREATE TABLE event_streams (
    stream_id text PRIMARY KEY,
    -- A short key for the stream, so that the index on the events of a stream holds 16-byte keys
    -- instead of the stream's name: it is the costliest index an append writes.
    stream_no bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- the version of the stream's last event (1, 2, 3 …)
    version   bigint NOT NULL CHECK (version > 0)
);

CREATE TABLE events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- pg_current_xact_id() of the appending transaction, as bigint (xid8 is 64-bit, epoch included)
    tx_id          bigint      NOT NULL,
    stream_id      text        NOT NULL,
    -- event_streams.stream_no of stream_id (set by append_events; no foreign key, which would
    -- look the stream up once per event)
    stream_no      bigint      NOT NULL,
    stream_version bigint      NOT NULL CHECK (stream_version > 0),
    event_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL CHECK (schema_version > 0),
    -- json, not jsonb: stored and sent back as the writer's text. Events are written once and
    -- read by every projector, subscription and replay, and turning jsonb back into text on each
    -- read was the read path's largest server-side cost; nothing queries inside payloads.
    payload        json        NOT NULL,
    metadata       json        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_no, stream_version)
);

CREATE INDEX events_log_order ON events (tx_id, position);

-- The log is append-only. Erasure (e.g. for a legal request) will be an explicit, audited path of
-- its own; until it exists, every UPDATE, DELETE and TRUNCATE is refused.
CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Appends a batch of events to one stream in one round trip and one transaction (the caller's
-- statement, which must be its transaction's first write: see the stream lock below).
-- p_expected: NULL = any version, 0 = the stream must not exist, n = the stream must be at
-- version n. Returns one row: the first and last position the events took (not always
-- contiguous: concurrent appends interleave), the transaction id and the stream's new version.
--
-- Raises SQLSTATE 'TY409' (DETAIL: the stream's current version) on a wrong expected version,
-- and the unique violation of events_event_id_key when an event id is stored already. Both are
-- also what a retry of an append that did commit runs into: the caller then looks the event ids
-- up (the slow path) instead of this function doing so on every append.
CREATE FUNCTION append_events(
    p_stream          text,
    p_expected        bigint,
    p_event_ids       uuid[],
    p_types           text[],
    p_schema_versions integer[],
    p_payloads        text[],
    p_metadata        text[]
) RETURNS TABLE (
    out_first_position bigint,
    out_last_position  bigint,
    out_tx_id          bigint,
    out_stream_version bigint
) LANGUAGE plpgsql AS $$
DECLARE
    n               integer := cardinality(p_event_ids);
    new_version     bigint;
    stream          bigint;
    current_version bigint;
    tx              bigint;
BEGIN
    -- Appends to one stream queue up on this lock, which lasts until commit, and each then sees
    -- the version the previous one left. It is an advisory lock because taking one needs no
    -- transaction id: the id is handed out by the first write below, after the previous append
    -- to the stream has committed, so within a stream a later version always has a larger tx_id
    -- and readers (who walk tx_id order) meet a stream's events in version order. Queueing on the
    -- event_streams row lock instead would not do: the row lock needs the id first, and waiters
    -- do not get the row in the order of their ids. (The two-int key space is apart from the
    -- one-bigint space of other advisory locks; 1163285587 spells 'EVTS'.)
    PERFORM pg_advisory_xact_lock(1163285587, hashtext(p_stream));

    -- Holding the lock, this append is alone on the stream: nothing else can create or advance
    -- its row meanwhile, so "update, else insert" needs no ON CONFLICT.
    IF p_expected IS NULL THEN
        UPDATE event_streams SET version = version + n WHERE stream_id = p_stream
            RETURNING version, stream_no INTO new_version, stream;
        IF new_version IS NULL THEN
            INSERT INTO event_streams (stream_id, version) VALUES (p_stream, n)
                RETURNING version, stream_no INTO new_version, stream;
        END IF;
    ELSIF p_expected = 0 THEN
        INSERT INTO event_streams (stream_id, version) VALUES (p_stream, n)
            ON CONFLICT (stream_id) DO NOTHING
            RETURNING version, stream_no INTO new_version, stream;
    ELSE
        UPDATE event_streams SET version = version + n
            WHERE stream_id = p_stream AND version = p_expected
            RETURNING version, stream_no INTO new_version, stream;
    END IF;

    IF new_version IS NULL THEN
        SELECT version INTO current_version FROM event_streams WHERE stream_id = p_stream;
        RAISE EXCEPTION 'wrong expected version' USING
            ERRCODE = 'TY409', DETAIL = coalesce(current_version, 0)::text;
    END IF;

    -- The transaction's id, handed out by the write above (after the stream lock), once.
    tx := pg_current_xact_id()::text::bigint;
    RETURN QUERY
    WITH inserted AS (
        INSERT INTO events (tx_id, stream_id, stream_no, stream_version, event_id, event_type,
                            schema_version, payload, metadata)
        SELECT tx, p_stream, stream, new_version - n + e.ord, e.id, e.t, e.sv, e.p::json,
               e.m::json
        FROM unnest(p_event_ids, p_types, p_schema_versions, p_payloads, p_metadata)
             WITH ORDINALITY AS e (id, t, sv, p, m, ord)
        RETURNING position
    )
    SELECT min(position), max(position), tx, new_version FROM inserted;
END
$$;
