-- Event ingestion: every accepted event is stored before the 202 (invariant 4).
CREATE TABLE ferry.events (
  id               bigserial PRIMARY KEY,
  user_id          integer REFERENCES ferry.users (id) ON DELETE SET NULL,
  event_name       text NOT NULL,
  event_type       text NOT NULL,
  source           text,
  session_id       text,
  payload          jsonb NOT NULL DEFAULT '{}',
  -- What the client sent as `properties`; normalization writes `properties` below.
  user_properties  jsonb,
  properties       jsonb,
  ip_address       text,
  user_agent       text,
  event_timestamp  timestamptz NOT NULL DEFAULT now(),
  message_id       text,
  -- enqueued: waiting for the drain job; processed / failed: final.
  status           text NOT NULL DEFAULT 'enqueued'
                   CHECK (status IN ('enqueued', 'processed', 'failed')),
  task_id          uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  processed        boolean NOT NULL DEFAULT false,
  processed_at     timestamptz,
  processing_error text
);
CREATE INDEX events_by_user ON ferry.events (user_id, id DESC);
CREATE INDEX events_waiting ON ferry.events (id) WHERE status = 'enqueued';

-- De-duplication of client message ids for 24 hours (user_key 0 = no user).
CREATE TABLE ferry.event_message_ids (
  user_key   integer NOT NULL,
  message_id text NOT NULL,
  event_id   bigint NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (user_key, message_id)
);
