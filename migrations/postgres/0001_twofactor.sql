-- twofactor: one opaque, versioned document per user.
CREATE TABLE IF NOT EXISTS twofactor_records (
    user_id    TEXT   PRIMARY KEY,
    version    BIGINT NOT NULL CHECK (version > 0),
    document   BYTEA  NOT NULL,
    updated_at BIGINT NOT NULL
);
