-- A NOTIFY takes a database-wide lock at commit and holds it until the commit is flushed, so
-- transactions that notify commit one after another: concurrent enqueuers cannot share a WAL
-- flush (group commit). An enqueue therefore notifies only when no other runnable job of the
-- queue is waiting: while one is, the worker that claims it claims again when a slot frees
-- (claims go on until one comes back empty), so the new job is found without a wake-up.
-- A worker that went idle in the instant between such an insert and its commit finds the job
-- at its next poll (`poll_interval`) instead.
--
-- The check runs once per INSERT statement and queue, not once per row, so a batch enqueue
-- (`enqueue_many`, one statement) pays one index probe, not one per job. Only jobs older than
-- the statement's first new job count, so a batch's own rows do not silence it.
CREATE FUNCTION adit_queue_notify_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('adit_queue', n.queue)
    FROM (SELECT queue, min(id) AS first_id
          FROM adit_queue_inserted
          WHERE status = 'todo'
          GROUP BY queue) n
    WHERE NOT EXISTS (SELECT 1 FROM adit_queue_jobs o
                      WHERE o.queue = n.queue AND o.status = 'todo' AND o.id < n.first_id
                        AND o.run_after <= now() AND o.lock_key IS NULL);
    RETURN NULL;
END;
$$;

DROP TRIGGER adit_queue_jobs_notify_insert ON adit_queue_jobs;
CREATE TRIGGER adit_queue_jobs_notify_insert AFTER INSERT ON adit_queue_jobs
    REFERENCING NEW TABLE AS adit_queue_inserted
    FOR EACH STATEMENT EXECUTE FUNCTION adit_queue_notify_insert();
