-- Foundation: leases with fencing tokens, API keys.
CREATE TABLE ferry.leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  -- Increases on every acquisition and never resets, so a stale holder's token is always older.
  token       bigint NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  renewed_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

CREATE TABLE ferry.api_keys (
  id           serial PRIMARY KEY,
  name         text NOT NULL,
  -- First characters of the key, shown in listings so a key can be recognized without the secret.
  prefix       text NOT NULL,
  -- sha256 of the whole key: keys are 32 random bytes, so a slow hash adds nothing.
  key_hash     text NOT NULL UNIQUE,
  role         text NOT NULL CHECK (role IN ('admin', 'user')),
  user_id      integer,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
