-- twofactor: one opaque, versioned document per user.
CREATE TABLE IF NOT EXISTS twofactor_records (
    user_id    TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL CHECK (version > 0),
    document   BLOB    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
