//! The one document the library keeps per user: its schema, its codec, and
//! the readers of earlier schemas. Private to the crate: the stored format
//! is the library's to change (with a reader for each earlier schema).

mod codec;
mod schema;
mod v1;
mod v2;
mod v3;

pub(crate) use schema::*;

/// The schema version this build writes. It reads this one and every
/// earlier one, upgrading in memory; the next save writes this one.
pub(crate) const SCHEMA_VERSION: u32 = 4;
