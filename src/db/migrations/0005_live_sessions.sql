-- Live channel (docs/live.md): sessions survive disconnects, restarts and a move to another node.
-- JSON blobs Ferry never queries are stored as text, so what a client sent comes back byte for
-- byte (jsonb would refuse a \u0000 and reorder keys).

-- One row per session. The token is a bearer secret: only its sha256 is kept.
CREATE TABLE ferry.live_sessions (
  id             uuid PRIMARY KEY,
  token_hash     text NOT NULL UNIQUE,
  -- Who the token is bound to: 'user:<id>', 'key:<id>' or 'anonymous'. Not the address.
  owner          text NOT NULL,
  -- {"<topic>": <log id at subscribe time>}: a topic replays only what came after its subscribe.
  subscriptions  text NOT NULL DEFAULT '{}',
  -- {variables, user_preferences, workflow_state, operation_history}
  context        text NOT NULL,
  acked_offset   bigint NOT NULL DEFAULT 0,
  history_seq    integer NOT NULL DEFAULT 0,
  -- +1 on every attach: a node's memory copy with an older epoch is stale.
  epoch          integer NOT NULL DEFAULT 0,
  node_id        text,
  address        text,
  user_agent     text,
  connected      boolean NOT NULL DEFAULT false,
  created_at     timestamptz NOT NULL,
  -- While connected: refreshed by the node's sweep; after a disconnect: the disconnect time.
  seen_at        timestamptz NOT NULL
);
CREATE INDEX live_sessions_seen ON ferry.live_sessions (seen_at);
CREATE INDEX live_sessions_node ON ferry.live_sessions (node_id) WHERE connected;

-- Conversation history: every command and reply, in order.
CREATE TABLE ferry.live_history (
  session_id uuid NOT NULL REFERENCES ferry.live_sessions (id) ON DELETE CASCADE,
  -- The entry's id: 1, 2, 3… per session, so order and identity are one number.
  seq        integer NOT NULL,
  role       text NOT NULL CHECK (role IN ('client', 'server')),
  content    text NOT NULL,
  at         timestamptz NOT NULL,
  PRIMARY KEY (session_id, seq)
);

-- The topic log: every domain event the live channel carries, once, with the offset clients ack.
-- Writers take an advisory lock, so ids increase in commit order across nodes.
CREATE TABLE ferry.live_messages (
  id         bigserial PRIMARY KEY,
  topics     text[] NOT NULL,
  event      text NOT NULL,
  owner_id   integer,
  data       text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX live_messages_created ON ferry.live_messages (created_at);
