-- Jobs: the queue and its history in one table (finished rows stay until purged).
-- Time stamps are RFC 3339 text in UTC with 0, 3 or 6 fraction digits, which compare
-- correctly as strings.
CREATE TABLE adit_queue_jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    queue         TEXT    NOT NULL,
    task          TEXT    NOT NULL,
    args          TEXT    NOT NULL DEFAULT '{}',
    priority      INTEGER NOT NULL DEFAULT 0,
    status        TEXT    NOT NULL DEFAULT 'todo' CHECK (status IN
                      ('todo', 'doing', 'aborting', 'succeeded', 'failed', 'cancelled', 'aborted')),
    run_after     TEXT    NOT NULL,
    queueing_lock TEXT,
    lock_key      TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL DEFAULT 1,
    backoff       TEXT    NOT NULL,
    worker_id     TEXT,
    heartbeat_at  TEXT,
    created_at    TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    last_error    TEXT
);

CREATE INDEX adit_queue_jobs_claim ON adit_queue_jobs (queue, priority DESC, id)
    WHERE status = 'todo';
CREATE UNIQUE INDEX adit_queue_jobs_queueing_lock ON adit_queue_jobs (queueing_lock)
    WHERE status = 'todo';
CREATE UNIQUE INDEX adit_queue_jobs_lock ON adit_queue_jobs (lock_key)
    WHERE status IN ('doing', 'aborting');
CREATE INDEX adit_queue_jobs_running ON adit_queue_jobs (worker_id, heartbeat_at)
    WHERE status IN ('doing', 'aborting');

CREATE TABLE adit_queue_periodic (
    task    TEXT NOT NULL,
    slot    TEXT NOT NULL,
    job_id  INTEGER REFERENCES adit_queue_jobs (id) ON DELETE SET NULL,
    PRIMARY KEY (task, slot)
);
