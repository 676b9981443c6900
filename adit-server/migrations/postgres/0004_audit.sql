-- The audit log: one row per login, token use, job action, node change and data access.
-- Append-only: the server has no statement that changes or removes a row, and triggers reject
-- UPDATE, DELETE and TRUNCATE so neither can a mistaken statement.

CREATE TABLE audit_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            TIMESTAMPTZ NOT NULL,
    -- No foreign key: the entry outlives the user; the name is kept as it was.
    user_id       BIGINT,
    username      TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    node          TEXT NOT NULL DEFAULT '',
    study_uid     TEXT NOT NULL DEFAULT '',
    pseudonymized BOOLEAN,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
