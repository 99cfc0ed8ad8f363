-- Pinned roots (issue 10): the real path and identity (device, inode) of the folders a transfer
-- or a pipeline works in, recorded when it is set up and checked on every scan, write and
-- delete. JSON {path, dev, ino}; NULL on rows older than this migration (pinned on next use).
ALTER TABLE ferry.transfers ADD COLUMN source_root jsonb;
ALTER TABLE ferry.transfers ADD COLUMN destination_root jsonb;

-- The final name a file was renamed to (differs from its path with the `rename` conflict
-- policy), recorded before the rename so a crash in between finds it instead of a new `name (n)`.
ALTER TABLE ferry.transfer_files ADD COLUMN delivered_path text;

-- A pipeline's source and archive folders; re-pinned when the configured path changes.
CREATE TABLE ferry.pipeline_roots (
  pipeline   text NOT NULL,
  role       text NOT NULL CHECK (role IN ('source', 'archive')),
  configured text NOT NULL,
  pin        jsonb NOT NULL,
  pinned_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, role)
);
