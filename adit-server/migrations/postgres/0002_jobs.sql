-- Jobs and tasks of selective transfer, batch query and batch transfer (ADIT §2.2), and the
-- results of batch queries. Statuses are ADIT's two-letter codes (§2.4). List-valued columns
-- (series UIDs, batch file lines, the query row) are JSON text, the same on both backends.

CREATE TABLE jobs (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                  TEXT NOT NULL
                          CHECK (kind IN ('selective_transfer', 'batch_query', 'batch_transfer')),
    owner_id              BIGINT NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    source_id             BIGINT NOT NULL REFERENCES nodes (id) ON DELETE RESTRICT,
    destination_id        BIGINT REFERENCES nodes (id) ON DELETE RESTRICT,
    urgent                BOOLEAN NOT NULL DEFAULT FALSE,
    status                TEXT NOT NULL DEFAULT 'UV'
                          CHECK (status IN ('UV', 'PE', 'IP', 'CI', 'CA', 'SU', 'WA', 'FA')),
    message               TEXT NOT NULL DEFAULT '',
    send_finished_mail    BOOLEAN NOT NULL DEFAULT FALSE,
    trial_protocol_id     TEXT NOT NULL DEFAULT '' CHECK (length(trial_protocol_id) <= 64),
    trial_protocol_name   TEXT NOT NULL DEFAULT '' CHECK (length(trial_protocol_name) <= 64),
    archive_password      TEXT,
    project_name          TEXT NOT NULL DEFAULT '',
    project_description   TEXT NOT NULL DEFAULT '',
    ethics_application_id TEXT NOT NULL DEFAULT '',
    created               TIMESTAMPTZ NOT NULL,
    started               TIMESTAMPTZ,
    ended                 TIMESTAMPTZ,
    CHECK (kind = 'batch_query' OR destination_id IS NOT NULL)
);
CREATE INDEX jobs_owner_status ON jobs (owner_id, status);

CREATE TABLE tasks (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id             BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    status             TEXT NOT NULL DEFAULT 'PE'
                       CHECK (status IN ('PE', 'IP', 'CA', 'SU', 'WA', 'FA')),
    message            TEXT NOT NULL DEFAULT '',
    log                TEXT NOT NULL DEFAULT '',
    attempts           INTEGER NOT NULL DEFAULT 0,
    retries            INTEGER NOT NULL DEFAULT 0,
    patient_id         TEXT NOT NULL DEFAULT '',
    study_uid          TEXT NOT NULL DEFAULT '',
    series_uids        TEXT NOT NULL DEFAULT '[]',
    pseudonym          TEXT NOT NULL DEFAULT '',
    query              TEXT,
    lines              TEXT NOT NULL DEFAULT '[]',
    instances_done     BIGINT NOT NULL DEFAULT 0,
    instances_expected BIGINT,
    bytes_done         BIGINT NOT NULL DEFAULT 0,
    bytes_expected     BIGINT,
    queue_job_id       BIGINT,
    created            TIMESTAMPTZ NOT NULL,
    started            TIMESTAMPTZ,
    ended              TIMESTAMPTZ,
    progress_updated   TIMESTAMPTZ
);
CREATE INDEX tasks_job_status ON tasks (job_id, status);
CREATE INDEX tasks_queue_job ON tasks (queue_job_id);

CREATE TABLE batch_query_results (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id             BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    task_id            BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    patient_id         TEXT NOT NULL DEFAULT '',
    patient_name       TEXT NOT NULL DEFAULT '',
    patient_birth_date TEXT NOT NULL DEFAULT '',
    accession_number   TEXT NOT NULL DEFAULT '',
    study_date         TEXT NOT NULL DEFAULT '',
    study_time         TEXT NOT NULL DEFAULT '',
    modalities         TEXT NOT NULL DEFAULT '[]',
    image_count        BIGINT,
    study_description  TEXT NOT NULL DEFAULT '',
    series_description TEXT NOT NULL DEFAULT '',
    series_number      TEXT NOT NULL DEFAULT '',
    pseudonym          TEXT NOT NULL DEFAULT '',
    study_uid          TEXT NOT NULL DEFAULT '',
    series_uid         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX batch_query_results_job ON batch_query_results (job_id);
CREATE INDEX batch_query_results_task ON batch_query_results (task_id);
