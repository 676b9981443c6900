-- A NOTIFY takes a database-wide lock at commit and holds it until the commit is flushed, so
-- transactions that notify commit one after another: concurrent enqueuers cannot share a WAL
-- flush (group commit). An enqueue therefore notifies only when no other runnable job of the
-- queue is waiting: while one is, the worker that claims it claims again when a slot frees
-- (claims go on until one comes back empty), so the new job is found without a wake-up.
-- `o.id < NEW.id` keeps a batch's own rows from silencing each other: its first row decides.
-- A worker that went idle in the instant between such an insert and its commit finds the job
-- at its next poll (`poll_interval`) instead.
CREATE FUNCTION adit_queue_notify_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM adit_queue_jobs o
                   WHERE o.queue = NEW.queue AND o.status = 'todo' AND o.id < NEW.id
                     AND o.run_after <= now() AND o.lock_key IS NULL) THEN
        PERFORM pg_notify('adit_queue', NEW.queue);
    END IF;
    RETURN NULL;
END;
$$;

DROP TRIGGER adit_queue_jobs_notify_insert ON adit_queue_jobs;
CREATE TRIGGER adit_queue_jobs_notify_insert AFTER INSERT ON adit_queue_jobs
    FOR EACH ROW WHEN (NEW.status = 'todo') EXECUTE FUNCTION adit_queue_notify_insert();
