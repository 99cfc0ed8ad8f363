-- Account actions (sign-ins, sign-outs, registrations, API keys created and revoked), kept for
-- the audit page next to the transfer logs. Written after the action succeeded or was refused.
CREATE TABLE ferry.audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT now(),
  user_id    integer REFERENCES ferry.users (id) ON DELETE SET NULL,
  actor      text NOT NULL,
  action     text NOT NULL,
  outcome    text NOT NULL CHECK (outcome IN ('ok', 'refused')),
  status     integer NOT NULL,
  ip_address text,
  target     text
);
CREATE INDEX audit_log_at ON ferry.audit_log (at DESC);
CREATE INDEX audit_log_user ON ferry.audit_log (user_id, at DESC);
