-- Nothing to change on SQLite: workers are woken in-process, without NOTIFY (the PostgreSQL
-- migration 0002 makes enqueues notify only when no runnable job is waiting).
SELECT 1;
