//! Senders of email and text messages.

#[cfg(feature = "console")]
mod console;
pub mod testing;

#[cfg(feature = "console")]
pub use console::{ConsoleEmail, ConsoleSms};
