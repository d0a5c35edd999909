//! Senders of email and text messages.

#[cfg(feature = "console")]
mod console;

#[cfg(feature = "console")]
pub use console::ConsoleEmail;
