-- The audit log: one row per login, token use, job action, node change and data access.
-- Append-only: the server has no statement that changes or removes a row, and triggers reject
-- UPDATE and DELETE. Time stamps are RFC 3339 text in UTC.

CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    -- No foreign key: the entry outlives the user; the name is kept as it was.
    user_id       INTEGER,
    username      TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    node          TEXT NOT NULL DEFAULT '',
    study_uid     TEXT NOT NULL DEFAULT '',
    pseudonymized INTEGER,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user ON audit_log (user_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
