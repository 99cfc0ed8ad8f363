-- Intake pipelines: runs, the distinct contents they met, and the append-only claim ledger.
CREATE TABLE ferry.pipeline_runs (
  id             uuid PRIMARY KEY,
  pipeline       text NOT NULL,
  trigger        text NOT NULL CHECK (trigger IN ('api', 'schedule')),
  correlation_id text NOT NULL,
  node_id        text NOT NULL,
  lease_token    bigint NOT NULL,
  -- running: scanning and processing; archiving: answered, moving files; then completed.
  -- failed: the run stopped early (lease lost, store error); its claims are released next run.
  status         text NOT NULL CHECK (status IN ('running', 'archiving', 'completed', 'failed')),
  summary        jsonb NOT NULL DEFAULT '{}',
  errors         jsonb NOT NULL DEFAULT '[]',
  archive        jsonb,
  started_at     timestamptz NOT NULL DEFAULT now(),
  answered_at    timestamptz,
  finished_at    timestamptz
);
CREATE INDEX pipeline_runs_recent ON ferry.pipeline_runs (pipeline, started_at DESC);

-- One row per distinct content of one base name from one remitter: what a claim is about.
CREATE TABLE ferry.pipeline_files (
  id             bigserial PRIMARY KEY,
  pipeline       text NOT NULL,
  remitter       text NOT NULL,
  base_name      text NOT NULL,
  content_hash   text NOT NULL,
  hash_algorithm text NOT NULL,
  size           bigint NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (pipeline, remitter, base_name, content_hash)
);

-- What happened to each file, one row per step, never updated or deleted. A `processing` row is
-- a claim; `attempt` numbers them per file, and the partial unique index lets exactly one run
-- hold attempt N. A retryable outcome (`released`, `submission_internal_failed`) lets the next
-- run claim attempt N + 1; any other outcome is final for that content.
CREATE TABLE ferry.pipeline_ledger (
  id         bigserial PRIMARY KEY,
  file_id    bigint NOT NULL REFERENCES ferry.pipeline_files (id),
  attempt    integer NOT NULL,
  status     text NOT NULL,
  -- The file's path relative to the source root when this row was written.
  path       text NOT NULL,
  run_id     uuid,
  reason     text,
  detail     jsonb,
  -- For marks (`notified`): the outcome row the mark is about.
  ref_id     bigint REFERENCES ferry.pipeline_ledger (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pipeline_ledger_one_claim ON ferry.pipeline_ledger (file_id, attempt)
  WHERE status = 'processing';
CREATE UNIQUE INDEX pipeline_ledger_one_notice ON ferry.pipeline_ledger (ref_id)
  WHERE status = 'notified';
CREATE UNIQUE INDEX pipeline_ledger_one_archive ON ferry.pipeline_ledger (file_id)
  WHERE status IN ('archive_succeeded', 'archive_skipped');
CREATE INDEX pipeline_ledger_by_file ON ferry.pipeline_ledger (file_id, id DESC);
CREATE INDEX pipeline_ledger_successes ON ferry.pipeline_ledger (id) WHERE status = 'success';

CREATE FUNCTION ferry.pipeline_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ferry.pipeline_ledger is append-only';
END
$$;
CREATE TRIGGER pipeline_ledger_append_only BEFORE UPDATE OR DELETE ON ferry.pipeline_ledger
  FOR EACH ROW EXECUTE FUNCTION ferry.pipeline_ledger_append_only();
