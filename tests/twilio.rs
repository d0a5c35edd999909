//! TwilioSms against a loopback HTTP server that checks the request and
//! plays Twilio's answers.

#![cfg(feature = "twilio")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use data_encoding::BASE64;
use twofactor::transport::{TwilioSender, TwilioSms};
use twofactor::{Error, NewMethod, PhoneNumber, Setup, SmsSender, Verdict};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const PATH: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";

fn twilio(server: &MockServer, sender: TwilioSender) -> TwilioSms {
    TwilioSms::new(SID, "auth-token-xyz".into(), sender)
        .unwrap()
        .base_url(server.uri())
}

fn auth() -> String {
    format!(
        "Basic {}",
        BASE64.encode(format!("{SID}:auth-token-xyz").as_bytes())
    )
}

#[tokio::test]
async fn a_code_is_posted_as_twilio_expects_and_confirms() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(header("authorization", auth().as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("To=%2B60123451688"))
        .and(body_string_contains("From=%2B15005550006"))
        .respond_with(
            ResponseTemplate::new(201).set_body_string(r#"{"sid":"SM1","status":"queued"}"#),
        )
        .expect(1)
        .mount(&server)
        .await;
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .sms(twilio(&server, TwilioSender::From("+15005550006".into())))
        .policy(policy())
        .build()
        .unwrap();
    let alice = h.account("alice");
    let number = PhoneNumber::parse("+60 12-345 1688").unwrap();
    let Verdict::Accepted(Setup::Code(_)) = tf
        .begin_setup(&alice, NewMethod::Sms(number), &password())
        .await
        .unwrap()
    else {
        panic!()
    };
    let requests = server.received_requests().await.unwrap();
    let form: Vec<(String, String)> = url_pairs(&requests[0].body);
    let body = &form.iter().find(|(k, _)| k == "Body").unwrap().1;
    let code: String = body.chars().take(6).collect();
    assert!(
        body.ends_with("is your Acme Portal code. Valid 5 min. Never share it."),
        "{body}"
    );
    assert!(tf.confirm_setup(&alice, &code).await.unwrap().is_accepted());
}

#[tokio::test]
async fn a_messaging_service_instead_of_a_number() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(PATH))
        .and(body_string_contains("MessagingServiceSid=MG0042"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let sms = twilio(&server, TwilioSender::MessagingService("MG0042".into()));
    sms.send_sms("+14155550100", &notice().await).await.unwrap();
}

#[tokio::test]
async fn throttling_and_outages_are_transient_refusals_permanent() {
    for (status, body, transient) in [
        (429, r#"{"code":20429,"message":"Too Many Requests"}"#, true),
        (500, "", true),
        (503, "<html>down</html>", true),
        (
            400,
            r#"{"code":21211,"message":"The 'To' number +14155550100 is not a valid phone number."}"#,
            false,
        ),
        (401, r#"{"code":20003,"message":"Authenticate"}"#, false),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let sms = twilio(&server, TwilioSender::From("+15005550006".into()));
        let err = sms
            .send_sms("+14155550100", &notice().await)
            .await
            .unwrap_err();
        assert_eq!(err.is_transient(), transient, "{status}");
        let shown = format!("{err} {:?}", std::error::Error::source(&err));
        assert!(shown.contains(&status.to_string()), "{shown}");
        assert!(!shown.contains("4155550100"), "the number leaked: {shown}");
    }
}

#[tokio::test]
async fn a_provider_failure_reaches_the_caller_as_a_delivery_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .sms(twilio(&server, TwilioSender::From("+15005550006".into())))
        .policy(policy())
        .build()
        .unwrap();
    let number = PhoneNumber::parse("+14155550100").unwrap();
    let err = tf
        .begin_setup(&h.account("alice"), NewMethod::Sms(number), &password())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Delivery(_)) && err.is_transient(),
        "{err:?}"
    );
    assert!(!format!(
        "{:?}",
        TwilioSms::new(SID, "auth-token-xyz".into(), TwilioSender::From("x".into()))
    )
    .contains("auth-token-xyz"));
}

/// A notice as the library makes it.
async fn notice() -> twofactor::Message {
    let h = Harness::new();
    let tf = h.instance();
    h.set_up_app(&tf, &h.account("bob")).await;
    h.outbox.messages().pop().unwrap().message
}

/// `a=1&b=2` decoded.
fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap();
    text.split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
