//! What the examples share: prompts, a demo account, and senders that print
//! each message and keep it, so that `--demo` can read its own codes.
#![allow(dead_code, unreachable_pub)]

use std::error::Error;
use std::io::{self, BufRead, Write};
use std::time::Duration;

use async_trait::async_trait;
use twofactor::secrecy::{ExposeSecret, SecretString};
use twofactor::testing::{ManualClock, Recorder};
use twofactor::{
    Account, Admins, Argon2Passwords, Clock, ConsoleEmail, ConsoleSms, EmailSender, Grant,
    MasterKey, MemoryStore, Message, Method, PortError, SmsSender, SystemClock, TwoFactor,
    TwoFactorBuilder, Verdict,
};

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[cfg(feature = "sqlite")]
async fn sqlite(builder: TwoFactorBuilder, path: &str) -> Result<TwoFactorBuilder> {
    println!("(records kept in the SQLite file {path})");
    Ok(builder.store(twofactor::SqliteStore::open(path).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite(_: TwoFactorBuilder, _: &str) -> Result<TwoFactorBuilder> {
    Err("--db needs the sqlite feature: cargo run --features sqlite --example …".into())
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Prints a heading.
pub fn step(title: &str) {
    println!("\n== {title}");
}

/// Asks the person at the keyboard.
pub fn ask(prompt: &str) -> Result<String> {
    print!("{prompt} ");
    io::stdout().flush()?;
    let mut line = String::new();
    if io::stdin().lock().read_line(&mut line)? == 0 {
        return Err("standard input closed; use --demo to run unattended".into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Prints every message as the console senders do, and keeps it.
#[derive(Clone)]
pub struct Printed(pub Recorder);

#[async_trait]
impl EmailSender for Printed {
    async fn send_email(&self, to: &str, message: &Message) -> std::result::Result<(), PortError> {
        ConsoleEmail.send_email(to, message).await?;
        self.0.send_email(to, message).await
    }
}

#[async_trait]
impl SmsSender for Printed {
    async fn send_sms(&self, to: &str, message: &Message) -> std::result::Result<(), PortError> {
        ConsoleSms.send_sms(to, message).await?;
        self.0.send_sms(to, message).await
    }
}

/// One run of an example: unattended or not, its clock and its outbox.
pub struct Demo {
    pub unattended: bool,
    pub clock: ManualClock,
    pub outbox: Recorder,
    pub password: SecretString,
}

impl Demo {
    /// From the command line: `--demo` runs unattended.
    pub fn from_args() -> Self {
        Self {
            unattended: std::env::args().any(|a| a == "--demo"),
            // A clock the demo can move, so that waits pass at once. It
            // starts at the real time, so that a real phone's codes match.
            clock: ManualClock::new(SystemClock.now()),
            outbox: Recorder::new(),
            password: SecretString::from(PASSWORD),
        }
    }

    /// A builder with the store (`--db FILE`: an SQLite file; otherwise in
    /// memory), the demo accounts' password (`user-42`, and `support-7`, an
    /// administrator), this clock, and senders that print and keep.
    pub async fn builder(&self) -> Result<TwoFactorBuilder> {
        let passwords = Argon2Passwords::new()?;
        passwords.set("user-42", &self.password)?;
        passwords.set("support-7", &self.password)?;
        let printed = Printed(self.outbox.clone());
        let builder = TwoFactor::builder()
            .issuer("Acme Portal")
            // A fixed key so that a --db file can be opened again; a real
            // deployment loads its own from secret configuration.
            .key(MasterKey::new(*b"demo key: never use in real life"));
        let args: Vec<String> = std::env::args().collect();
        let db = args
            .iter()
            .position(|a| a == "--db")
            .and_then(|i| args.get(i + 1));
        let builder = match db {
            Some(path) => sqlite(builder, path).await?,
            None => builder.store(MemoryStore::new()),
        };
        Ok(builder
            .passwords(passwords)
            .clock(self.clock.clone())
            .email(printed.clone())
            .sms(printed)
            .admins(Admins::new(["support-7"])))
    }

    /// A step-up ("sudo mode") with a code sent by `method`: the password
    /// and that code give a grant that authorises factor changes for ten
    /// minutes.
    pub async fn step_up_by(
        &self,
        tf: &TwoFactor,
        account: &Account,
        method: Method,
    ) -> Result<Grant> {
        let sent = tf.send_step_up_code(account, method).await?;
        println!(
            "To confirm it is you, a code was sent to {} (and the password is asked again).",
            sent.to
        );
        let code = self.sent_code("Code:")?;
        match tf.step_up(account, &self.password, &code).await? {
            Verdict::Accepted(grant) => {
                println!("Confirmed until {}.", grant.expires);
                Ok(grant)
            }
            other => Err(format!("step-up refused: {other:?}").into()),
        }
    }

    /// The code just sent: typed by the person, or read by the demo.
    pub fn sent_code(&self, prompt: &str) -> Result<String> {
        if !self.unattended {
            return ask(prompt);
        }
        let code = self
            .outbox
            .last_code()
            .ok_or("no code was sent")?
            .expose_secret()
            .to_owned();
        println!("{prompt} {code}   (read from the message by the demo)");
        Ok(code)
    }

    /// Moves the demo's clock on.
    pub fn wait(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
        println!("({secs} s later)");
    }
}
