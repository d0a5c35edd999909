//! Senders of email and text messages.
//!
//! | Sender | Feature | For |
//! | --- | --- | --- |
//! | `ConsoleEmail`, `ConsoleSms` | `console` (default) | development: print each message |
//! | [`Recorder`](crate::testing::Recorder) | always | tests and demos: keep each message |
//! | `SmtpEmail` | `smtp` | email through any SMTP server |
//! | `TwilioSms` | `twilio` | text messages through Twilio |

#[cfg(feature = "console")]
mod console;
#[cfg(feature = "smtp")]
mod smtp;
#[cfg(feature = "twilio")]
mod twilio;

#[cfg(feature = "console")]
pub use console::{ConsoleEmail, ConsoleSms};
#[cfg(feature = "smtp")]
pub use smtp::{SmtpEmail, SmtpEmailBuilder, SmtpSecurity};
#[cfg(feature = "twilio")]
pub use twilio::{TwilioSender, TwilioSms};
