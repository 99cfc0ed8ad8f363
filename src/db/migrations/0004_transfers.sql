-- Transfers and watch profiles (one table: a watch profile is a transfer with watch mode on),
-- the files each one moves, and an append-only audit trail.
CREATE TABLE ferry.transfers (
  id                   serial PRIMARY KEY,
  owner_user_id        integer,
  source_path          text NOT NULL,
  destination_path     text NOT NULL,
  status               text NOT NULL,
  operation_mode       text NOT NULL CHECK (operation_mode IN ('copy', 'move')),
  watch_mode_enabled   boolean NOT NULL DEFAULT false,
  watch_continuous     boolean NOT NULL DEFAULT false,
  watch_job_id         text,
  watch_cycle_count    integer NOT NULL DEFAULT 0,
  settle_time_seconds  integer NOT NULL,
  -- Ferry's own options: algorithm, conflict policy, filters, poll interval, version policy.
  options              jsonb NOT NULL DEFAULT '{}',
  file_name            text,
  file_size            bigint,
  file_count           integer NOT NULL DEFAULT 0,
  bytes_transferred    bigint NOT NULL DEFAULT 0,
  progress_percent     double precision NOT NULL DEFAULT 0,
  error_message        text,
  -- Consecutive failed scans or files of a watch profile; at the limit it goes to `error`.
  failure_streak       integer NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  completed_at         timestamptz,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfers_status ON ferry.transfers (status);

-- One row per file a transfer moves: the files of a folder transfer, or every file (and every
-- new version of a file) a watch profile detects. The unique key is the claim: a version is
-- recorded, and therefore transferred, once.
CREATE TABLE ferry.transfer_files (
  id                    bigserial PRIMARY KEY,
  transfer_id           integer NOT NULL REFERENCES ferry.transfers (id) ON DELETE CASCADE,
  relative_path         text NOT NULL,
  file_size             bigint NOT NULL,
  source_mtime_ms       double precision NOT NULL,
  status                text NOT NULL CHECK (status IN
                          ('detected', 'transferring', 'verified', 'completed', 'skipped', 'failed')),
  algorithm             text NOT NULL,
  source_checksum       text,
  destination_checksum  text,
  checksum_match        boolean,
  bytes_transferred     bigint NOT NULL DEFAULT 0,
  attempts              integer NOT NULL DEFAULT 0,
  error_code            text,
  error_message         text,
  detected_at           timestamptz NOT NULL DEFAULT now(),
  transfer_started_at   timestamptz,
  transfer_completed_at timestamptz,
  UNIQUE (transfer_id, relative_path, file_size, source_mtime_ms)
);
CREATE INDEX transfer_files_open ON ferry.transfer_files (transfer_id, status)
  WHERE status IN ('detected', 'transferring', 'verified');

CREATE TABLE ferry.transfer_logs (
  id          bigserial PRIMARY KEY,
  transfer_id integer NOT NULL REFERENCES ferry.transfers (id) ON DELETE CASCADE,
  at          timestamptz NOT NULL DEFAULT now(),
  level       text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
  event       text NOT NULL,
  message     text NOT NULL,
  details     jsonb
);
CREATE INDEX transfer_logs_transfer ON ferry.transfer_logs (transfer_id, id);
