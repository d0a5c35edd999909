//! The axum layer in-process, with a hand-kept cookie jar: CSRF, the
//! session's stamp, the pending login's expiry, JSON rejections, and the
//! step-up rule on the Account Security page.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tower_sessions::{MemoryStore as Sessions, SessionManagerLayer};
use twofactor::axum::{Flow, SignedIn, SteppedUp, Users, Web, WebBuilder};
use twofactor::secrecy::SecretString;
use twofactor::testing::{Authenticator, ManualClock};
use twofactor::{
    Account, Argon2Passwords, MasterKey, MemoryStore, NewMethod, Requirement, Requirements, Setup,
    SignInCheck, Source, Timestamp, TwoFactor, TwoFactorBuilder, Verdict,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const PASSWORD: &str = "correct horse battery";
const SIGN_IN: &str = "user=u1&password=correct+horse+battery";

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
    password: String,
}

struct Site {
    app: Router,
    tf: TwoFactor,
    clock: ManualClock,
}

fn site() -> Result<Site> {
    site_with(|b| b, |w| w)
}

/// The site, with changes to the service's and the web layer's settings.
fn site_with(
    service: impl FnOnce(TwoFactorBuilder) -> TwoFactorBuilder,
    layer: impl FnOnce(WebBuilder) -> WebBuilder,
) -> Result<Site> {
    let clock = ManualClock::new(Timestamp::from_unix_seconds(1_900_000_000));
    let passwords = Argon2Passwords::with_params(64, 1, 1)?;
    passwords.set("u1", &SecretString::from(PASSWORD))?;
    let tf = TwoFactor::builder()
        .issuer("Test")
        .key(MasterKey::generate()?)
        .store(MemoryStore::new())
        .passwords(passwords)
        .clock(clock.clone());
    let tf = service(tf).build()?;
    // The client address comes from a header here (a proxy's, say).
    let web = layer(Web::builder(tf.clone(), One))
        .stamp_check(Duration::ZERO)
        .source(|parts| {
            let name = parts.headers.get("x-client")?.to_str().ok()?;
            Some(Source::named(name))
        })
        .build()?;
    // The host's own password check, throttled through the flow.
    let login = post(|flow: Flow, Form(f): Form<SignIn>| async move {
        let account = Account::new(f.user, "u1@example.com");
        let right = f.password == PASSWORD;
        match flow.check_password(&account, async move { right }).await {
            Ok(SignInCheck::Right) => flow.password_accepted(&account).await,
            Ok(SignInCheck::Throttled { .. }) => StatusCode::TOO_MANY_REQUESTS.into_response(),
            _ => StatusCode::UNAUTHORIZED.into_response(),
        }
    });
    let app =
        Router::new()
            .route(
                "/",
                get(|who: SignedIn| async move { format!("hello {}", who.account().id()) }),
            )
            .route(
                "/payout",
                get(|who: SteppedUp| async move {
                    format!("payout settings of {}", who.account().id())
                }),
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
    let response = browser.post(site, "/login", SIGN_IN).await?;
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
    browser.post(&site, "/login", SIGN_IN).await?;
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

#[tokio::test]
async fn wrong_sign_in_passwords_are_throttled_per_source_not_per_account() -> Result {
    let site = site()?;
    let attacker = Browser::default();
    let post_from = |client: &str, form: String| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-client", client)
            .body(Body::from(form))
    };
    // One source guessing across many accounts: the limit (50 an hour)
    // holds whatever the account.
    let mut refused = 0;
    for i in 0..60 {
        let form = format!("user=victim{i}&password=guess");
        let status = attacker
            .send(&site, post_from("203.0.113.9", form)?)
            .await?
            .status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        } else {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
    }
    assert_eq!(refused, 10, "the 51st failure on is refused unchecked");
    let right = attacker
        .send(&site, post_from("203.0.113.9", SIGN_IN.to_owned())?)
        .await?;
    assert_eq!(
        right.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    // The account is not locked: its owner, elsewhere, signs in.
    let owner = Browser::default();
    let response = owner
        .send(&site, post_from("198.51.100.4", SIGN_IN.to_owned())?)
        .await?;
    assert_eq!(location(&response), "/", "no second factor yet: signed in");
    Ok(())
}

#[tokio::test]
async fn a_single_page_app_does_it_all_in_json() -> Result {
    let site = site()?;
    let spa = Browser::default();
    let json = |method: &str, path: &str, csrf: &str, body: serde_json::Value| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header("x-csrf-token", csrf)
            .body(Body::from(body.to_string()))
    };
    let read = |response: Response| async move {
        let status = response.status();
        let value: serde_json::Value = serde_json::from_str(&body(response).await?)?;
        Ok::<_, Box<dyn std::error::Error>>((status, value))
    };
    spa.post(&site, "/login", SIGN_IN).await?;
    let (_, page) = read(spa.get_json(&site, "/2fa/security").await?).await?;
    assert_eq!(page["state"], "off");
    let csrf = page["csrf"].as_str().ok_or("no csrf")?.to_owned();

    // Set up an app: the secret comes back as JSON; a wrong code is a 422
    // with its sentence; the right one answers the recovery codes.
    let begin = json!({ "method": "app", "password": PASSWORD });
    let (status, setup) = read(
        spa.send(&site, json("POST", "/2fa/security/setup", &csrf, begin)?)
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{setup}");
    let secret = setup["secret"].as_str().ok_or("no secret")?;
    let app = Authenticator::from_secret_text(&SecretString::from(secret.to_owned()))?;
    let wrong = json!({ "code": app.wrong_code_at(site.tf.now()) });
    let (status, refused) = read(
        spa.send(
            &site,
            json("POST", "/2fa/security/setup/confirm", &csrf, wrong)?,
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["message"], "Wrong code. 4 tries left.");
    let right = json!({ "code": app.code_at(site.tf.now()) });
    let (status, on) = read(
        spa.send(
            &site,
            json("POST", "/2fa/security/setup/confirm", &csrf, right)?,
        )
        .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!(on["recovery_codes"].as_array().map(Vec::len), Some(10));
    site.clock.advance(Duration::from_secs(30));

    // Sign in again: the prompt as JSON, then the code.
    let fresh = Browser::default();
    fresh.post(&site, "/login", SIGN_IN).await?;
    let (_, prompt) = read(fresh.get_json(&site, "/2fa").await?).await?;
    assert_eq!(prompt["method"], "app");
    let csrf = prompt["csrf"].as_str().ok_or("no csrf")?.to_owned();
    let code = json!({ "code": app.code_at(site.tf.now()) });
    let (status, done) = read(
        fresh
            .send(&site, json("POST", "/2fa", &csrf, code)?)
            .await?,
    )
    .await?;
    assert_eq!((status, done["next"].as_str()), (StatusCode::OK, Some("/")));
    let (_, page) = read(fresh.get_json(&site, "/2fa/security").await?).await?;
    assert_eq!(page["state"], "on");
    assert!(page.get("secret").is_none());
    Ok(())
}

#[tokio::test]
async fn a_required_setup_comes_before_anything_else() -> Result {
    let site = site_with(
        |b| b.requirements(Requirements::everyone(Requirement::now())),
        |w| w,
    )?;
    let browser = Browser::default();
    let response = browser.post(&site, "/login", SIGN_IN).await?;
    assert_eq!(location(&response), "/2fa/security");
    assert_eq!(
        location(&browser.get(&site, "/").await?),
        "/2fa/security",
        "the host's pages wait"
    );
    let csrf = browser.csrf(&site, "/2fa/security").await?;
    let page = body(
        browser
            .post(
                &site,
                "/2fa/security/setup",
                &format!("csrf={csrf}&method=app&password=correct+horse+battery"),
            )
            .await?,
    )
    .await?;
    let at = page.find("id=\"secret\">").ok_or("no secret on the page")? + 12;
    let secret = page
        .get(at..)
        .and_then(|rest| rest.split('<').next())
        .ok_or("no secret")?;
    let app = Authenticator::from_secret_text(&SecretString::from(secret.to_owned()))?;
    let code = app.code_at(site.tf.now());
    browser
        .post(
            &site,
            "/2fa/security/setup/confirm",
            &format!("csrf={csrf}&code={code}"),
        )
        .await?;
    assert_eq!(
        browser.get(&site, "/").await?.status(),
        StatusCode::OK,
        "set up: in"
    );
    Ok(())
}

#[tokio::test]
async fn the_device_cookie_is_http_only_secure_lax_and_lasts_the_policys_30_days() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let browser = Browser::default();
    browser.post(&site, "/login", SIGN_IN).await?;
    let csrf = browser.csrf(&site, "/2fa").await?;
    let code = app.code_at(site.tf.now());
    let response = browser
        .post(
            &site,
            "/2fa",
            &format!("csrf={csrf}&code={code}&remember=1"),
        )
        .await?;
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("twofactor_device_"))
        .ok_or("no device cookie")?
        .to_owned();
    for part in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=2592000",
    ] {
        assert!(cookie.contains(part), "{part} missing from {cookie}");
    }
    Ok(())
}

#[tokio::test]
async fn a_host_restyles_a_page_and_a_broken_template_is_refused_at_build() -> Result {
    let base = "<!doctype html><title>Acme</title><body class=acme>{% block content %}{% endblock %}{% block scripts %}{% endblock %}</body>";
    let site = site_with(|b| b, |w| w.template("base.html", base))?;
    let browser = Browser::default();
    browser.post(&site, "/login", SIGN_IN).await?;
    let page = body(browser.get(&site, "/2fa/security").await?).await?;
    assert!(
        page.contains("<body class=acme>") && page.contains("Account security"),
        "{page}"
    );
    let broken = site_with(|b| b, |w| w.template("prompt.html", "{% if %}"));
    assert!(matches!(broken.err().map(|e| e.to_string()), Some(e) if e.contains("template")));
    Ok(())
}

#[tokio::test]
async fn a_hosts_sensitive_page_waits_for_a_step_up_and_secret_pages_are_not_cached() -> Result {
    let site = site()?;
    let app = with_app(&site).await?;
    let browser = Browser::default();
    sign_in(&site, &browser, &app).await?;
    assert_eq!(
        location(&browser.get(&site, "/payout").await?),
        "/2fa/security",
        "confirm it's you first"
    );
    assert_eq!(
        browser.get_json(&site, "/payout").await?.status(),
        StatusCode::FORBIDDEN
    );
    let page = browser.get(&site, "/2fa/security").await?;
    assert_eq!(
        page.headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let csrf = browser.csrf(&site, "/2fa/security").await?;
    let code = app.code_at(site.tf.now());
    browser
        .post(
            &site,
            "/2fa/security/step-up",
            &format!("csrf={csrf}&password=correct+horse+battery&code={code}"),
        )
        .await?;
    let payout = browser.get(&site, "/payout").await?;
    assert_eq!(body(payout).await?, "payout settings of u1");
    // The grant lapses after ten minutes.
    site.clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        location(&browser.get(&site, "/payout").await?),
        "/2fa/security"
    );
    Ok(())
}
