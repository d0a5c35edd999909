//! The axum layer in-process, with a hand-kept cookie jar: CSRF, the
//! session's stamp, the pending login's expiry, JSON rejections, and the
//! step-up rule on the Account Security page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use serde::Deserialize;
use tower::ServiceExt;
use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};
use twofactor::axum::{Flow, SignedIn, Users, Web};
use twofactor::secrecy::SecretString;
use twofactor::testing::{Authenticator, ManualClock};
use twofactor::{
    Account, Argon2Passwords, MasterKey, MemoryStore, NewMethod, Setup, Timestamp, TwoFactor,
    Verdict,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const PASSWORD: &str = "correct horse battery";

struct One;

#[twofactor::async_trait]
impl Users for One {
    async fn account(&self, id: &str) -> Option<Account> {
        (id == "u1").then(|| Account::new("u1", "u1@example.com"))
    }
}

#[derive(Deserialize)]
struct SignIn {
    user: String,
}

struct Site {
    app: Router,
    tf: TwoFactor,
    clock: ManualClock,
}

fn site() -> Result<Site> {
    let clock = ManualClock::new(Timestamp::from_unix_seconds(1_900_000_000));
    let passwords = Argon2Passwords::with_params(64, 1, 1)?;
    passwords.set("u1", &SecretString::from(PASSWORD))?;
    let tf = TwoFactor::builder()
        .issuer("Test")
        .key(MasterKey::generate()?)
        .store(MemoryStore::new())
        .passwords(passwords)
        .clock(clock.clone())
        .build()?;
    let web = Web::builder(tf.clone(), One)
        .stamp_check(Duration::ZERO)
        .build()?;
    // The host's password check is stood in for: any user name is "right".
    let login = post(|flow: Flow, Form(f): Form<SignIn>| async move {
        flow.password_accepted(&Account::new(f.user, "u1@example.com"))
            .await
    });
    let app = Router::new()
        .route(
            "/",
            get(|who: SignedIn| async move { format!("hello {}", who.account().id()) }),
        )
        .route_layer(middleware::from_fn_with_state(
            web.clone(),
            twofactor::axum::require_signed_in,
        ))
        .route("/login", login)
        .nest("/2fa", twofactor::axum::router(web.clone()))
        .with_state(web)
        .layer(SessionManagerLayer::new(Sessions::default()).with_secure(false));
    Ok(Site { app, tf, clock })
}

/// A browser: a cookie jar.
#[derive(Clone, Default)]
struct Browser(Arc<Mutex<HashMap<String, String>>>);

impl Browser {
    async fn send(&self, site: &Site, mut request: Request<Body>) -> Result<Response> {
        let cookies = self
            .0
            .lock()
            .map_err(|_| "poisoned")?
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookies.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, cookies.parse()?);
        }
        let response = site.app.clone().oneshot(request).await?;
        for set in response.headers().get_all(header::SET_COOKIE) {
            let text = set.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.0
                    .lock()
                    .map_err(|_| "poisoned")?
                    .insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(response)
    }

    async fn get(&self, site: &Site, path: &str) -> Result<Response> {
        self.send(site, Request::get(path).body(Body::empty())?)
            .await
    }

    async fn get_json(&self, site: &Site, path: &str) -> Result<Response> {
        self.send(
            site,
            Request::get(path)
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())?,
        )
        .await
    }

    async fn post(&self, site: &Site, path: &str, form: &str) -> Result<Response> {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))?;
        self.send(site, request).await
    }

    fn session(&self) -> Option<String> {
        self.0.lock().ok()?.get("id").cloned()
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&self, site: &Site, path: &str) -> Result<String> {
        let page = body(self.get(site, path).await?).await?;
        let field = "name=\"csrf\" value=\"";
        let at = page.find(field).ok_or("no csrf field")? + field.len();
        Ok(page
            .get(at..)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no token")?
            .to_owned())
    }
}

async fn body(response: Response) -> Result<String> {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok(String::from_utf8(bytes.to_vec())?)
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// u1 with an authenticator app on, through the service.
async fn with_app(site: &Site) -> Result<Authenticator> {
    let u1 = Account::new("u1", "u1@example.com");
    let Verdict::Accepted(Setup::App(setup)) = site
        .tf
        .begin_setup(&u1, NewMethod::App, &SecretString::from(PASSWORD))
        .await?
    else {
        return Err("setup refused".into());
    };
    let app = Authenticator::from_setup(&setup)?;
    let code = app.code_at(site.tf.now());
    let Verdict::Accepted(_) = site.tf.confirm_setup(&u1, code.as_str()).await? else {
        return Err("confirm refused".into());
    };
    site.clock.advance(Duration::from_secs(30));
    Ok(app)
}

/// Signs `browser` in with the password and a code.
async fn sign_in(site: &Site, browser: &Browser, app: &Authenticator) -> Result {
    let response = browser.post(site, "/login", "user=u1").await?;
    assert_eq!(location(&response), "/2fa");
    let csrf = browser.csrf(site, "/2fa").await?;
    let code = app.code_at(site.tf.now());
    let response = browser
        .post(site, "/2fa", &format!("csrf={csrf}&code={code}"))
        .await?;
    assert_eq!(location(&response), "/", "{}", body(response).await?);
    site.clock.advance(Duration::from_secs(30));
    Ok(())
}

#[tokio::test]
async fn a_post_without_the_sessions_token_is_refused_and_changes_nothing() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let browser = Browser::default();
    sign_in(&site, &browser, &app).await?;
    let csrf = browser.csrf(&site, "/2fa/security").await?;
    let code = app.code_at(site.tf.now());
    // A cross-site form: the browser sends the cookie, but the page that
    // posts cannot read the token.
    for form in [
        format!("password={PASSWORD}&code={code}&keep=nothing"),
        format!("csrf=forged&password={PASSWORD}&code={code}&keep=nothing"),
    ] {
        let response = browser.post(&site, "/2fa/security/disable", &form).await?;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(
        site.tf
            .status(&Account::new("u1", "u1@example.com"))
            .await?
            .is_on(),
        "still on"
    );
    // The same request with the token goes through.
    let form = format!("csrf={csrf}&password={PASSWORD}&code={code}&keep=nothing");
    browser.post(&site, "/2fa/security/disable", &form).await?;
    assert!(!site
        .tf
        .status(&Account::new("u1", "u1@example.com"))
        .await?
        .is_on());
    Ok(())
}

#[tokio::test]
async fn the_password_alone_never_turns_it_off() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let browser = Browser::default();
    sign_in(&site, &browser, &app).await?;
    let csrf = browser.csrf(&site, "/2fa/security").await?;
    let response = browser
        .post(
            &site,
            "/2fa/security/disable",
            &format!("csrf={csrf}&password={PASSWORD}&keep=nothing"),
        )
        .await?;
    browser.get(&site, &location(&response)).await?;
    assert!(
        site.tf
            .status(&Account::new("u1", "u1@example.com"))
            .await?
            .is_on(),
        "a stolen session plus the password cannot turn it off"
    );
    Ok(())
}

#[tokio::test]
async fn a_factor_change_elsewhere_signs_other_sessions_out() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let (laptop, phone) = (Browser::default(), Browser::default());
    sign_in(&site, &laptop, &app).await?;
    sign_in(&site, &phone, &app).await?;
    assert_eq!(laptop.get(&site, "/").await?.status(), StatusCode::OK);
    // The laptop turns it off (keeping nothing): its own session stays.
    let csrf = laptop.csrf(&site, "/2fa/security").await?;
    let code = app.code_at(site.tf.now());
    laptop
        .post(
            &site,
            "/2fa/security/disable",
            &format!("csrf={csrf}&password={PASSWORD}&code={code}&keep=settings"),
        )
        .await?;
    assert_eq!(
        laptop.get(&site, "/").await?.status(),
        StatusCode::OK,
        "the session that made the change stays"
    );
    let response = phone.get(&site, "/").await?;
    assert_eq!(
        location(&response),
        "/login",
        "the other session is signed out"
    );
    Ok(())
}

#[tokio::test]
async fn the_pending_login_expires_and_the_session_id_is_cycled() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let browser = Browser::default();
    browser.get(&site, "/login").await?;
    browser.csrf(&site, "/2fa/security").await.ok();
    let before = browser.session();
    browser.post(&site, "/login", "user=u1").await?;
    let pending = browser.session();
    assert_ne!(before, pending, "the password step cycles the session id");
    assert_eq!(
        location(&browser.get(&site, "/").await?),
        "/2fa",
        "half signed in: to the prompt"
    );
    let json = browser.get_json(&site, "/").await?;
    assert_eq!(json.status(), StatusCode::FORBIDDEN);
    site.clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        location(&browser.get(&site, "/2fa").await?),
        "/login",
        "ten minutes later the password is asked again"
    );
    let json = browser.get_json(&site, "/").await?;
    assert_eq!(json.status(), StatusCode::UNAUTHORIZED);

    sign_in(&site, &browser, &app).await?;
    assert_ne!(
        browser.session(),
        pending,
        "completing the second factor cycles it again"
    );
    Ok(())
}
