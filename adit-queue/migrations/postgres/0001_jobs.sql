-- Jobs: the queue and its history in one table (finished rows stay until purged).
CREATE TABLE adit_queue_jobs (
    id            BIGSERIAL PRIMARY KEY,
    queue         TEXT        NOT NULL,
    task          TEXT        NOT NULL,
    args          JSONB       NOT NULL DEFAULT '{}',
    priority      INTEGER     NOT NULL DEFAULT 0,
    status        TEXT        NOT NULL DEFAULT 'todo' CHECK (status IN
                      ('todo', 'doing', 'aborting', 'succeeded', 'failed', 'cancelled', 'aborted')),
    run_after     TIMESTAMPTZ NOT NULL,
    queueing_lock TEXT,
    lock_key      TEXT,
    attempts      INTEGER     NOT NULL DEFAULT 0,
    max_attempts  INTEGER     NOT NULL DEFAULT 1,
    backoff       TEXT        NOT NULL,
    worker_id     TEXT,
    heartbeat_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    last_error    TEXT
);

-- The claim query walks this index: runnable jobs of a queue, most urgent first.
CREATE INDEX adit_queue_jobs_claim ON adit_queue_jobs (queue, priority DESC, id)
    WHERE status = 'todo';
-- At most one queued job per queueing lock.
CREATE UNIQUE INDEX adit_queue_jobs_queueing_lock ON adit_queue_jobs (queueing_lock)
    WHERE status = 'todo';
-- At most one running job per lock: a second claim of the same lock fails and is retried.
CREATE UNIQUE INDEX adit_queue_jobs_lock ON adit_queue_jobs (lock_key)
    WHERE status IN ('doing', 'aborting');
-- Heartbeats and dead-worker recovery look up running jobs.
CREATE INDEX adit_queue_jobs_running ON adit_queue_jobs (worker_id, heartbeat_at)
    WHERE status IN ('doing', 'aborting');

-- One row per fired cron slot: the primary key makes a slot fire once across all workers.
CREATE TABLE adit_queue_periodic (
    task    TEXT        NOT NULL,
    slot    TIMESTAMPTZ NOT NULL,
    job_id  BIGINT      REFERENCES adit_queue_jobs (id) ON DELETE SET NULL,
    PRIMARY KEY (task, slot)
);

-- Wake listening workers when a job becomes runnable; the payload is the queue name.
-- NOTIFY is delivered at commit, so a job enqueued in a caller's transaction wakes nobody
-- before it is visible.
CREATE FUNCTION adit_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('adit_queue', NEW.queue);
    RETURN NULL;
END;
$$;

CREATE TRIGGER adit_queue_jobs_notify_insert AFTER INSERT ON adit_queue_jobs
    FOR EACH ROW WHEN (NEW.status = 'todo') EXECUTE FUNCTION adit_queue_notify();
CREATE TRIGGER adit_queue_jobs_notify_update AFTER UPDATE OF status ON adit_queue_jobs
    FOR EACH ROW WHEN (NEW.status = 'todo' AND OLD.status <> 'todo')
    EXECUTE FUNCTION adit_queue_notify();
