//! SmtpEmail against a real SMTP server on loopback (Debian's aiosmtpd,
//! which `scripts/test` installs), started by the test.

#![cfg(feature = "smtp")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use twofactor::transport::{SmtpEmail, SmtpSecurity};
use twofactor::{Error, NewMethod, Setup, Verdict};

/// aiosmtpd storing what it receives in a Maildir; stopped on drop.
struct Server {
    child: Child,
    port: u16,
    maildir: PathBuf,
    /// One server at a time: a port picked free and handed to a server can
    /// be picked again by another test before the server binds it, and two
    /// tests would then share one server and kill it under each other.
    _alone: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Server {
    fn start() -> Server {
        let alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir =
            std::env::temp_dir().join(format!("twofactor-smtp-{port}-{}", std::process::id()));
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start /usr/bin/python3 -m aiosmtpd ({e}): run `bash scripts/test`, which installs python3-aiosmtpd"));
        let mut server = Server {
            child,
            port,
            maildir,
            _alone: alone,
        };
        let start = Instant::now();
        while !greets(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = server.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!("aiosmtpd exited ({status}): {err}\nInstall python3-aiosmtpd, or run `bash scripts/test`.");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

/// Whether an SMTP server on `port` is serving: it answers a connection
/// with its 220 greeting (a listening socket alone is not enough while the
/// server is still starting).
fn greets(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = [0u8; 3];
    let ok = stream.read_exact(&mut greeting).is_ok() && &greeting == b"220";
    let _ = stream.write_all(b"QUIT\r\n");
    ok
}

impl Server {
    /// The messages received, as raw text.
    fn received(&self) -> Vec<String> {
        let dir = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<(std::time::SystemTime, String)> = entries
            .flatten()
            .map(|e| {
                let modified = e.metadata().and_then(|m| m.modified()).unwrap();
                (modified, std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        out.sort();
        out.into_iter().map(|(_, m)| m).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn sender(port: u16, html: bool) -> SmtpEmail {
    SmtpEmail::builder("127.0.0.1", SmtpSecurity::Plain)
        .port(port)
        .from("Acme Portal <no-reply@acme.test>")
        .reply_to("support@acme.test")
        .html(html)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

#[tokio::test]
async fn a_setup_code_arrives_by_smtp_and_confirms() {
    let server = Server::start();
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(sender(server.port, false))
        .policy(policy())
        .build()
        .unwrap();
    let alice = h.account("alice");
    let Verdict::Accepted(Setup::Code(_)) = tf
        .begin_setup(&alice, NewMethod::Email, &password())
        .await
        .unwrap()
    else {
        panic!()
    };
    let mail = server.received();
    assert_eq!(mail.len(), 1);
    let raw = &mail[0];
    assert_eq!(
        header(raw, "From"),
        Some("\"Acme Portal\" <no-reply@acme.test>")
    );
    assert_eq!(header(raw, "To"), Some("alice@example.com"));
    assert_eq!(header(raw, "Reply-To"), Some("support@acme.test"));
    assert_eq!(
        header(raw, "Subject"),
        Some("Acme Portal: your verification code")
    );
    assert!(header(raw, "Content-Type")
        .unwrap()
        .starts_with("text/plain"));
    let code = raw
        .split("verification code is ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect::<String>())
        .unwrap();
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{raw}");
    assert!(tf.confirm_setup(&alice, &code).await.unwrap().is_accepted());
    // and the notice that it was turned on arrives too, with no code in it
    let mail = server.received();
    assert_eq!(mail.len(), 2);
    assert!(mail[1].contains("turned on") && !mail[1].contains(&code));
}

#[tokio::test]
async fn an_html_alternative_when_asked() {
    let server = Server::start();
    // a notice as the library makes it: from turning two-factor on
    let h = Harness::new();
    let tf = h.instance();
    h.set_up_app(&tf, &h.account("bob")).await;
    let notice = h.outbox.messages().pop().unwrap().message;
    assert!(matches!(notice, twofactor::Message::Notice(_)));
    twofactor::EmailSender::send_email(&sender(server.port, true), "bob@example.com", &notice)
        .await
        .unwrap();
    let raw = &server.received()[0];
    assert!(header(raw, "Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(raw.contains("Content-Type: text/plain") && raw.contains("Content-Type: text/html"));
    assert!(raw.contains("<p>"));
}

#[tokio::test]
async fn no_server_is_a_transient_delivery_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = Harness::new();
    let tf = h
        .builder()
        .store(h.store.clone())
        .passwords(h.passwords.clone())
        .email(sender(port, false))
        .policy(policy())
        .build()
        .unwrap();
    let err = tf
        .begin_setup(&h.account("alice"), NewMethod::Email, &password())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Delivery(_)), "{err:?}");
    assert!(err.is_transient());
}
