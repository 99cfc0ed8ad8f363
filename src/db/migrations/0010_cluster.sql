-- Cluster mode: the node registry, jobs and their per-zone parts (docs/cluster.md).
CREATE TABLE ferry.cluster_nodes (
  id            text PRIMARY KEY,
  advertise_url text NOT NULL,
  zone          text NOT NULL,
  role          text NOT NULL,
  version       text NOT NULL,
  protocol      text NOT NULL,
  cores         integer NOT NULL,
  -- Real paths of the volumes this node can reach; a job part runs only where its paths resolve.
  volumes       jsonb NOT NULL DEFAULT '[]',
  endpoints     jsonb NOT NULL DEFAULT '[]',
  draining      boolean NOT NULL DEFAULT false,
  started_at    timestamptz NOT NULL,
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cluster_nodes_zone ON ferry.cluster_nodes (zone);

CREATE TABLE ferry.cluster_jobs (
  id              uuid PRIMARY KEY,
  kind            text NOT NULL,
  spec            jsonb NOT NULL,
  zone_specs      jsonb NOT NULL DEFAULT '{}',
  priority        text NOT NULL DEFAULT 'normal',
  timeout_seconds integer,
  -- Who submitted (api_key:3, user:5, anonymous): idempotency keys are per principal.
  principal       text NOT NULL,
  owner_user_id   integer,
  idempotency_key text,
  labels          jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL,
  -- Increases on every change of a part's owner: every message about the job carries it.
  fence_token     bigint NOT NULL DEFAULT 0,
  accepted_by     text NOT NULL,
  result          jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  completed_at    timestamptz,
  UNIQUE (principal, idempotency_key)
);
CREATE INDEX cluster_jobs_status ON ferry.cluster_jobs (status, created_at);

CREATE TABLE ferry.cluster_job_parts (
  job_id      uuid NOT NULL REFERENCES ferry.cluster_jobs (id) ON DELETE CASCADE,
  zone        text NOT NULL,
  spec        jsonb NOT NULL,
  status      text NOT NULL,
  owner_node  text,
  owner_url   text,
  -- The token of the part's lease (job:{id}:{zone}) its current owner holds.
  fence_token bigint NOT NULL DEFAULT 0,
  result      jsonb,
  orphaned_at timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, zone)
);
CREATE INDEX cluster_job_parts_open ON ferry.cluster_job_parts (zone, status);

-- A transfer run as a job part names it, so a new owner finds it instead of making a second one,
-- and the start-up rescue of unfinished transfers leaves it to the part's owner.
ALTER TABLE ferry.transfers ADD COLUMN cluster_part text UNIQUE;
