//! A customer portal with two-factor authentication: the host's own glue
//! around `twofactor::axum`. Its users, passwords and pages (sign-in, home)
//! are the host's; everything about the second factor comes from the crate.
//!
//! ```text
//! cargo run --example portal --features portal            # SQLite file portal.db
//! cargo run --example portal --features portal -- --postgres postgres://…
//! ```
use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::Form;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use serde::Deserialize;
use tower_sessions::{MemoryStore as Sessions, Session, SessionManagerLayer};
use twofactor::axum::{csrf_protect, csrf_token, English, Flow, SignedIn, Texts, Users, Web};
use twofactor::secrecy::SecretString;
use twofactor::{
    Account, Admins, Argon2Passwords, ConsoleEmail, ConsoleSms, MasterKey, SignInCheck, TwoFactor,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The portal's users: (id, email, password, administrator).
const DEMO: [(&str, &str, &str, bool); 3] = [
    ("alice", "alice@example.com", "alice-password-1", false),
    ("bob", "bob@example.com", "bob-password-22", false),
    ("admin", "admin@example.com", "admin-password-333", true),
];

struct Directory;

#[twofactor::async_trait]
impl Users for Directory {
    async fn account(&self, id: &str) -> Option<Account> {
        DEMO.iter()
            .find(|u| u.0 == id)
            .map(|u| Account::new(u.0, u.1))
    }
    async fn list(&self, after: Option<&str>, limit: usize) -> Vec<Account> {
        let after = after.unwrap_or("");
        let mut ids: Vec<_> = DEMO.iter().filter(|u| u.0 > after).collect();
        ids.sort();
        ids.iter()
            .take(limit)
            .map(|u| Account::new(u.0, u.1))
            .collect()
    }
    fn is_admin(&self, account: &Account) -> bool {
        DEMO.iter().any(|u| u.0 == account.id() && u.3)
    }
}

/// The portal's password store (argon2id), set once at start.
static PASSWORDS: OnceLock<Argon2Passwords> = OnceLock::new();

#[derive(Deserialize)]
struct SignIn {
    user: String,
    password: String,
}

/// The sign-in page, with an error line when the last try failed.
async fn sign_in_page(session: &Session, error: &str) -> Response {
    let csrf = csrf_token(session).await.unwrap_or_default();
    let page = include_str!("login.html").replace("{csrf}", &csrf);
    Html(page.replace("{error}", error)).into_response()
}

async fn login(flow: Flow, session: Session, Form(f): Form<SignIn>) -> Response {
    // An unknown name is checked too (and fails), so guessing names is throttled as well.
    let account = Directory
        .account(&f.user)
        .await
        .unwrap_or_else(|| Account::new(&f.user, ""));
    let password = SecretString::from(f.password);
    let right = async { PASSWORDS.get()?.check(account.id(), &password).await.ok() };
    let error = match flow
        .check_password(&account, async { right.await == Some(true) })
        .await
    {
        Ok(SignInCheck::Right) => return flow.password_accepted(&account).await,
        Ok(SignInCheck::Throttled { until }) => English.throttled(until),
        _ => "Wrong user name or password.".to_owned(),
    };
    sign_in_page(&session, &format!("<p class=\"flash bad\">{error}</p>")).await
}

async fn home(who: SignedIn, session: Session) -> Html<String> {
    let csrf = csrf_token(&session).await.unwrap_or_default();
    let page = include_str!("home.html").replace("{csrf}", &csrf);
    Html(page.replace("{user}", who.account().id()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let key = match std::env::var("PORTAL_MASTER_KEY") {
        Ok(text) => MasterKey::from_base64(&text)?,
        Err(_) => MasterKey::generate()?,
    };
    let passwords = Argon2Passwords::new()?;
    for (id, _, password, _) in DEMO {
        passwords.set(id, &SecretString::from(password))?;
    }
    let passwords = PASSWORDS.get_or_init(|| passwords);
    let builder = TwoFactor::builder()
        .issuer("Acme Portal")
        .key(key)
        .passwords(passwords.clone());
    let builder = match arg("--postgres") {
        Some(url) => {
            let store = twofactor::PostgresStore::connect(&url, 8).await?;
            store.migrate().await?;
            builder.store(store)
        }
        None => builder
            .store(twofactor::SqliteStore::open(&arg("--db").unwrap_or("portal.db".into())).await?),
    };
    let port: u16 = arg("--port").map_or(Ok(3000), |p| p.parse())?;
    let origin = format!("http://localhost:{port}");
    let keys = twofactor::SecurityKeys::new(
        "localhost",
        &origin,
        twofactor::Attestation::AnyAuthenticator,
    )?;
    let tf = builder
        .email(ConsoleEmail::new())
        .sms(ConsoleSms::new())
        .security_keys(keys)
        .admins(Admins::new(["admin"]))
        .build()?;
    let web = Web::builder(tf, Directory).secure_cookies(false).build()?;
    let router = Router::new()
        .route("/", get(home))
        .route("/logout", axum::routing::post(|flow: Flow| flow.sign_out()))
        .route_layer(middleware::from_fn_with_state(
            web.clone(),
            twofactor::axum::require_signed_in,
        ))
        .route(
            "/login",
            get(|s: Session| async move { sign_in_page(&s, "").await }).post(login),
        )
        .layer(middleware::from_fn(csrf_protect))
        .nest("/2fa", twofactor::axum::router(web.clone()))
        .with_state(web)
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("Acme Portal on {origin}/ (demo users and passwords:)");
    for (id, _, password, admin) in DEMO {
        println!(
            "  {id} / {password}{}",
            if admin { " (administrator)" } else { "" }
        );
    }
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}
