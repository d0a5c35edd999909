use async_trait::async_trait;

use crate::error::PortError;
use crate::model::message::Message;
use crate::ports::{EmailSender, SmsSender};

/// An [`EmailSender`] that prints each message to standard output, for
/// development and demos.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleEmail;

impl ConsoleEmail {
    /// A console email sender.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl EmailSender for ConsoleEmail {
    async fn send_email(&self, to: &str, message: &Message) -> Result<(), PortError> {
        println!(
            "--- email to {to}\nSubject: {}\n\n{}---",
            message.subject(),
            message.text()
        );
        Ok(())
    }
}

/// An [`SmsSender`] that prints each message to standard output, for
/// development and demos.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleSms;

impl ConsoleSms {
    /// A console SMS sender.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait]
impl SmsSender for ConsoleSms {
    async fn send_sms(&self, to: &str, message: &Message) -> Result<(), PortError> {
        println!("--- SMS to {to}: {}", message.text());
        Ok(())
    }
}
