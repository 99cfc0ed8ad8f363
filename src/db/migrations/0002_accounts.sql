-- Accounts: users, refresh-token families (rotation with reuse detection), generated secrets.
CREATE TABLE ferry.users (
  id            serial PRIMARY KEY,
  email         text NOT NULL,
  username      text NOT NULL,
  full_name     text,
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON ferry.users (lower(email));
CREATE UNIQUE INDEX users_username_key ON ferry.users (lower(username));

-- One family per login; every refresh rotates the token inside its family. Presenting a token
-- that was already rotated revokes the whole family (it was stolen or replayed).
CREATE TABLE ferry.token_families (
  id             uuid PRIMARY KEY,
  user_id        integer NOT NULL REFERENCES ferry.users (id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz,
  revoked_reason text
);

CREATE TABLE ferry.refresh_tokens (
  token_hash text PRIMARY KEY,
  family_id  uuid NOT NULL REFERENCES ferry.token_families (id) ON DELETE CASCADE,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  rotated_at timestamptz
);
CREATE INDEX refresh_tokens_family ON ferry.refresh_tokens (family_id);

-- Secrets Ferry generates for itself (the JWT signing key), shared by every node of a store.
CREATE TABLE ferry.secrets (
  name       text PRIMARY KEY,
  value      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE ferry.api_keys
  ADD CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES ferry.users (id) ON DELETE CASCADE;
