-- twofactor: counters of the limits that hold across accounts (per
-- destination, per request source), keyed by a keyed hash; no longer
-- needed after expires_at.
CREATE TABLE IF NOT EXISTS twofactor_limits (
    key        TEXT   PRIMARY KEY,
    version    BIGINT NOT NULL CHECK (version > 0),
    document   BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS twofactor_limits_expires_at ON twofactor_limits (expires_at);
