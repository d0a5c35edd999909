use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, PortError, Result};
use crate::model::message::Message;
use crate::ports::EmailSender;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpSecurity {
    /// TLS from the start (SMTPS, port 465 by default).
    Tls,
    /// STARTTLS, required (submission, port 587 by default).
    StartTls,
    /// None at all: only for a server on the same machine or in tests.
    Plain,
}

/// An [`EmailSender`] that submits mail to an SMTP server (lettre, rustls).
///
/// ```no_run
/// # fn main() -> Result<(), twofactor::Error> {
/// use twofactor::transport::{SmtpEmail, SmtpSecurity};
/// let email = SmtpEmail::builder("smtp.example.com", SmtpSecurity::StartTls)
///     .credentials("no-reply@example.com", "app password".into())
///     .from("Acme Portal <no-reply@example.com>")
///     .reply_to("support@example.com")
///     .html(true)
///     .build()?;
/// # let _ = email; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SmtpEmail {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    html: bool,
}

impl std::fmt::Debug for SmtpEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpEmail")
            .field("from", &self.from.email.domain())
            .field("html", &self.html)
            .finish_non_exhaustive()
    }
}

impl SmtpEmail {
    /// Starts configuring mail to `host`.
    pub fn builder(host: impl Into<String>, security: SmtpSecurity) -> SmtpEmailBuilder {
        SmtpEmailBuilder {
            host: host.into(),
            security,
            port: None,
            credentials: None,
            from: None,
            reply_to: None,
            html: false,
            timeout: Duration::from_secs(15),
        }
    }

    fn message(&self, to: &str, message: &Message) -> Result<lettre::Message, PortError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| PortError::permanent("the recipient is not an email address"))?;
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject());
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let built = if self.html {
            builder.multipart(MultiPart::alternative_plain_html(
                message.text(),
                message.html(),
            ))
        } else {
            builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.text()),
            )
        };
        built.map_err(PortError::permanent)
    }
}

#[async_trait]
impl EmailSender for SmtpEmail {
    async fn send_email(&self, to: &str, message: &Message) -> Result<(), PortError> {
        let email = self.message(to, message)?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(PortError::permanent(e)),
            // 4xx answers, timeouts, refused or dropped connections
            Err(e) => Err(PortError::transient(e)),
        }
    }
}

/// Configures an [`SmtpEmail`].
pub struct SmtpEmailBuilder {
    host: String,
    security: SmtpSecurity,
    port: Option<u16>,
    credentials: Option<(String, SecretString)>,
    from: Option<String>,
    reply_to: Option<String>,
    html: bool,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpEmailBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpEmailBuilder")
            .field("host", &self.host)
            .field("security", &self.security)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl SmtpEmailBuilder {
    /// Another port than the security's usual one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Logs in with `user` and `password`.
    pub fn credentials(mut self, user: impl Into<String>, password: SecretString) -> Self {
        self.credentials = Some((user.into(), password));
        self
    }

    /// The sender, e.g. `Acme Portal <no-reply@example.com>`. Required.
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Where replies go.
    pub fn reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }

    /// Whether to add an HTML alternative ([`Message::html`]) to the text.
    pub fn html(mut self, html: bool) -> Self {
        self.html = html;
        self
    }

    /// How long to wait for the server. Default 15 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The sender, or [`Error::Config`] saying what is wrong.
    pub fn build(self) -> Result<SmtpEmail> {
        let bad_host = |_| Error::Config("the SMTP host is not usable");
        let mut builder = match self.security {
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host).map_err(bad_host)?
            }
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                    .map_err(bad_host)?
            }
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            }
        };
        if let Some(port) = self.port {
            builder = builder.port(port);
        }
        if let Some((user, password)) = self.credentials {
            builder =
                builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
        }
        let from = self
            .from
            .ok_or(Error::Config("an SMTP sender (from) is required"))?
            .parse()
            .map_err(|_| Error::Config("the SMTP sender (from) is not an address"))?;
        let reply_to = self
            .reply_to
            .map(|r| r.parse())
            .transpose()
            .map_err(|_| Error::Config("the reply-to is not an address"))?;
        Ok(SmtpEmail {
            transport: builder.timeout(Some(self.timeout)).build(),
            from,
            reply_to,
            html: self.html,
        })
    }
}
