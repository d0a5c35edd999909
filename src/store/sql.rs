//! What the SQL stores share: errors and time.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::PortError;
use crate::ports::{Listed, SaveOutcome, Stored};

/// What a compare-and-swap statement that touched `rows` rows means.
pub(crate) fn save_outcome(rows: u64, expected: u64) -> SaveOutcome {
    match rows {
        1 => SaveOutcome::Saved {
            version: expected.saturating_add(1),
        },
        _ => SaveOutcome::Conflict,
    }
}

/// Column `i` of `row`.
fn column<'r, R, T>(row: &'r R, i: usize) -> Result<T, PortError>
where
    R: Row,
    usize: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(i).map_err(port_error)
}

/// A `(version, document)` row.
pub(crate) fn stored_row<R>(row: &R) -> Result<Stored, PortError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    stored(column(row, 0)?, column(row, 1)?)
}

/// A `(user_id, version, document)` row.
pub(crate) fn listed_row<R>(row: &R) -> Result<Listed, PortError>
where
    R: Row,
    usize: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Listed {
        user: column(row, 0)?,
        stored: stored(column(row, 1)?, column(row, 2)?)?,
    })
}

/// A sqlx error as a [`PortError`]: transient when a retry may help (I/O,
/// a full or closed pool, a serialisation failure, a deadlock, a busy
/// database, too many connections).
pub(crate) fn port_error(e: sqlx::Error) -> PortError {
    let transient = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            // PostgreSQL: serialization_failure, deadlock_detected,
            // too_many_connections, query_canceled (statement_timeout),
            // admin/crash shutdown, cannot_connect_now;
            // SQLite: SQLITE_BUSY, SQLITE_LOCKED.
            Some("40001" | "40P01" | "53300" | "57014" | "57P01" | "57P02" | "57P03" | "5" | "6")
        ),
        _ => false,
    };
    if transient {
        PortError::transient(e)
    } else {
        PortError::permanent(e)
    }
}

/// A stored row as [`Stored`]; a version that is not positive is a broken row.
pub(crate) fn stored(version: i64, document: Vec<u8>) -> Result<Stored, PortError> {
    let version = u64::try_from(version)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| PortError::permanent("a stored version is not positive"))?;
    Ok(Stored { version, document })
}

/// A version for a bind parameter.
pub(crate) fn version_param(version: u64) -> Result<i64, PortError> {
    i64::try_from(version).map_err(|_| PortError::permanent("version out of range"))
}

/// `work`, failing as transient when it takes longer than `timeout` (the
/// future is dropped then: sqlx closes or resets a connection left
/// mid-statement before it is used again).
pub(crate) async fn bounded<T>(
    timeout: std::time::Duration,
    work: impl std::future::Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| PortError::transient("the database did not answer in time"))?
}

/// Now, in seconds since the epoch, for `updated_at`.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A page size for a bind parameter.
pub(crate) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A time for a bind parameter, in seconds since the epoch.
pub(crate) fn time_param(t: crate::model::time::Timestamp) -> i64 {
    i64::try_from(t.unix_seconds()).unwrap_or(i64::MAX)
}
