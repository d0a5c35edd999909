//! Stores that keep records, and the conformance suite every store must
//! pass.
//!
//! | Store | Feature | For |
//! | --- | --- | --- |
//! | `MemoryStore` | `memory` (default) | tests, demos, one process that may forget on restart |
//! | `SqliteStore` | `sqlite` | one server, an embedded file |
//! | `PostgresStore` | `postgres` | many app instances sharing a database |
//!
//! Each gives the one guarantee the library needs: `save` is an atomic
//! compare-and-swap on the document's version.

pub mod conformance;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "memory")]
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteDurability, SqliteOptions, SqliteStore};
