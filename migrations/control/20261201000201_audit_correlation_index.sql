-- `GET /platform/api/audit?correlation_id=`: everything one request (and the sagas it started)
-- led to, in the listing order, like the log's other filters.
CREATE INDEX ON read.audit_log (correlation_id, commit, position);
