-- Sessions and what they said. Portable SQL: the same file runs on SQLite and PostgreSQL.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    owner TEXT NOT NULL,
    persona TEXT NOT NULL,
    model TEXT NOT NULL,
    config TEXT NOT NULL,
    tool_state TEXT NOT NULL,
    resume_token_hash TEXT,
    holder TEXT,
    attachment BIGINT NOT NULL
);
CREATE INDEX sessions_by_created ON sessions (created_at, id);
CREATE INDEX sessions_by_updated ON sessions (updated_at);

CREATE TABLE items (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    item_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    saved_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, item_id)
);
CREATE INDEX items_in_order ON items (session_id, position);

CREATE TABLE response_usage (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    response_id TEXT NOT NULL,
    status TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (session_id, response_id)
);
