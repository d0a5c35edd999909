use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, PortError, Result};
use crate::model::message::Message;
use crate::ports::SmsSender;

/// Who a Twilio message is sent as.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TwilioSender {
    /// A Twilio number or alphanumeric sender id (`From`).
    From(String),
    /// A messaging service (`MessagingServiceSid`), which picks the number.
    MessagingService(String),
}

/// An [`SmsSender`] on Twilio's Messages API (reqwest, rustls): a form post
/// with basic auth. Answers 429 and 5xx are transient failures, other 4xx
/// permanent ones; Twilio's error text (which quotes the number) is left out
/// of the error, its numeric code kept.
#[derive(Clone)]
pub struct TwilioSms {
    client: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: SecretString,
    sender: TwilioSender,
}

impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSms")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"[REDACTED]")
            .field("sender", &self.sender)
            .finish()
    }
}

/// Twilio's API.
const TWILIO: &str = "https://api.twilio.com";

impl TwilioSms {
    /// A sender for the account `account_sid` with its auth token.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: SecretString,
        sender: TwilioSender,
    ) -> Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|_| Error::Config("the HTTP client could not be built"))?;
        Ok(Self {
            client,
            base_url: TWILIO.to_owned(),
            account_sid: account_sid.into(),
            auth_token,
            sender,
        })
    }

    /// Another API address (a regional edge, or a test server).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_owned();
        self
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send_sms(&self, to: &str, message: &Message) -> Result<(), PortError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let (key, value) = match &self.sender {
            TwilioSender::From(from) => ("From", from.as_str()),
            TwilioSender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let body = message.text();
        let form = [("To", to), ("Body", body.as_str()), (key, value)];
        let response = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| PortError::transient(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let code = response
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("code").and_then(serde_json::Value::as_u64));
        let what = match code {
            Some(code) => format!("Twilio answered {status} (error {code})"),
            None => format!("Twilio answered {status}"),
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Err(PortError::transient(what))
        } else {
            Err(PortError::permanent(what))
        }
    }
}
