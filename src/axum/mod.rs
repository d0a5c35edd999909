//! The web layer for [axum](https://docs.rs/axum): what every portal would
//! otherwise write around [`TwoFactor`].
//!
//! - **The pending login.** After the host checked the password, [`Flow::password_accepted`]
//!   records in the session (tower-sessions, server-side) that this account
//!   passed the password step, when and from where, and cycles the session
//!   id. The second factor is then asked for by the pages at the mount
//!   point; completing it cycles the id again.
//! - **Extractors**: [`Pending`] (password accepted, second factor due, not
//!   expired), [`SignedIn`] (fully signed in), [`SteppedUp`] (signed in
//!   with a live step-up grant in the session). Rejections redirect a page
//!   request (to the prompt, or to the host's sign-in page) and answer 401
//!   or 403 to a JSON one.
//! - **A guard**: [`require_signed_in`], for `route_layer`.
//! - **Sessions end when factors change**: the account's security stamp is
//!   kept in the session and compared with the store's at most every
//!   [`WebBuilder::stamp_check`] (30 s by default); a stale session is
//!   signed out. The session making a change keeps the new stamp at once.
//! - **Remembered devices**: a cookie per account (`HttpOnly`, `Secure`
//!   unless turned off for plain-HTTP development, `SameSite=Lax`, max-age
//!   from the policy), cleared when the service no longer knows its token.
//! - **CSRF**: every state-changing request to the router carries the
//!   session's token (a form field `csrf`, or the `X-CSRF-Token` header);
//!   [`csrf_protect`] puts the same check on the host's own forms.
//! - **Pages and JSON**: [`router`] serves the second-factor prompt, the
//!   Account Security page and the administrators' page from templates
//!   ([minijinja](https://docs.rs/minijinja)) the host can replace; each
//!   action answers JSON instead when the request asks for it
//!   (`Accept: application/json`), for single-page apps.
//! - **Messages**: every verdict and error becomes a sentence through
//!   [`Texts`] ([`English`] by default).
//!
//! What the host still owns: its users and their passwords (checking the
//! password at sign-in, through [`Flow::check_password`] so that it is
//! throttled per client address), the session store and its cookie, roles
//! (who is an administrator: [`Users::is_admin`], and the
//! [`AdminPolicy`](crate::AdminPolicy) of the service), TLS, and the
//! client address when behind a proxy ([`WebBuilder::source`]).
//!
//! ```no_run
//! use axum::{middleware, routing::get, Router};
//! use twofactor::axum::{SignedIn, Web};
//! # fn f(tf: twofactor::TwoFactor, users: impl twofactor::axum::Users) -> twofactor::Result<()> {
//! let web = Web::builder(tf, users).sign_in("/login").build()?;
//! let app: Router = Router::new()
//!     .route("/", get(|who: SignedIn| async move { format!("Hello {}", who.account().id()) }))
//!     .route_layer(middleware::from_fn_with_state(web.clone(), twofactor::axum::require_signed_in))
//!     .nest("/2fa", twofactor::axum::router(web.clone()))
//!     .with_state(web)
//!     .layer(tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default()));
//! # Ok(()) }
//! ```

mod admin;
mod cookies;
mod csrf;
mod prompt;
mod render;
mod security;
mod session;
mod texts;

use std::sync::Arc;
use std::time::Duration;

use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::Router;

use crate::model::account::Account;
use crate::model::source::Source;
use crate::service::TwoFactor;

pub use csrf::{csrf_protect, csrf_token};
pub use session::{require_signed_in, Flow, Pending, SignedIn, SteppedUp, WebRejection};
pub use texts::{Done, English, Texts};

/// The host's users, as the web layer needs them.
#[crate::async_trait]
pub trait Users: Send + Sync + 'static {
    /// The account with this id (for the administrators' page), or `None`.
    async fn account(&self, id: &str) -> Option<Account>;

    /// A page of the host's users, ordered by id, after `after`, at most
    /// `limit`, for the administrators' list. The default lists none: the
    /// page then shows the accounts the store has records for.
    async fn list(&self, after: Option<&str>, limit: usize) -> Vec<Account> {
        let _ = (after, limit);
        Vec::new()
    }

    /// Whether `account` may open the administrators' page. The service's
    /// [`AdminPolicy`](crate::AdminPolicy) still decides who may act on
    /// whom. Default: nobody.
    fn is_admin(&self, account: &Account) -> bool {
        let _ = account;
        false
    }
}

type SourceFn = dyn Fn(&Parts) -> Option<Source> + Send + Sync;

/// The web layer's state: the service, the host's users, and the settings.
/// Cheap to clone. Give it to the router as its state (or make it
/// reachable from the host's state with `FromRef`).
#[derive(Clone)]
pub struct Web {
    inner: Arc<Inner>,
}

struct Inner {
    tf: TwoFactor,
    users: Box<dyn Users>,
    mount: String,
    sign_in: String,
    home: String,
    secure: bool,
    pending_ttl: Duration,
    stamp_check: Duration,
    pages: render::Pages,
    texts: Box<dyn Texts>,
    source: Box<SourceFn>,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("mount", &self.inner.mount)
            .field("sign_in", &self.inner.sign_in)
            .field("home", &self.inner.home)
            .field("secure", &self.inner.secure)
            .finish_non_exhaustive()
    }
}

impl Web {
    /// Starts the settings of the web layer for `tf` and the host's
    /// `users`.
    pub fn builder(tf: TwoFactor, users: impl Users) -> WebBuilder {
        WebBuilder {
            tf,
            users: Box::new(users),
            mount: "/2fa".to_owned(),
            sign_in: "/login".to_owned(),
            home: "/".to_owned(),
            secure: true,
            pending_ttl: Duration::from_secs(600),
            stamp_check: Duration::from_secs(30),
            templates: Vec::new(),
            texts: Box::new(English),
            source: Box::new(|parts: &Parts| {
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| Source::ip(info.0.ip()))
            }),
        }
    }

    /// The service.
    pub fn two_factor(&self) -> &TwoFactor {
        &self.inner.tf
    }

    /// The messages in use.
    pub fn texts(&self) -> &dyn Texts {
        self.inner.texts.as_ref()
    }

    /// Where the router is nested, e.g. `/2fa`.
    pub fn mount(&self) -> &str {
        &self.inner.mount
    }

    /// The service for this request: limited per source when the request
    /// has one.
    pub(crate) fn tf_for(&self, parts: &Parts) -> TwoFactor {
        match (self.inner.source)(parts) {
            Some(source) => self.inner.tf.with_source(source),
            None => self.inner.tf.clone(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("{}{rest}", self.inner.mount)
    }
}

/// Settings of the web layer; [`build`](Self::build) makes the [`Web`].
pub struct WebBuilder {
    tf: TwoFactor,
    users: Box<dyn Users>,
    mount: String,
    sign_in: String,
    home: String,
    secure: bool,
    pending_ttl: Duration,
    stamp_check: Duration,
    templates: Vec<(String, String)>,
    texts: Box<dyn Texts>,
    source: Box<SourceFn>,
}

impl std::fmt::Debug for WebBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebBuilder")
            .field("mount", &self.mount)
            .finish_non_exhaustive()
    }
}

impl WebBuilder {
    /// Where the host nests [`router`] (default `/2fa`).
    pub fn mount(mut self, path: impl Into<String>) -> Self {
        self.mount = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// The host's sign-in page, where a signed-out request is sent
    /// (default `/login`).
    pub fn sign_in(mut self, path: impl Into<String>) -> Self {
        self.sign_in = path.into();
        self
    }

    /// Where a completed sign-in lands (default `/`).
    pub fn home(mut self, path: impl Into<String>) -> Self {
        self.home = path.into();
        self
    }

    /// Whether the remembered-device cookie is `Secure` (default `true`).
    /// Turn it off only for plain-HTTP development on loopback.
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// How long a password step waits for its second factor (default 10
    /// minutes); after that the user signs in again.
    pub fn pending_ttl(mut self, ttl: Duration) -> Self {
        self.pending_ttl = ttl;
        self
    }

    /// How often a signed-in session compares its security stamp with the
    /// store's (default 30 s; zero: on every request). A session whose
    /// stamp changed (factors changed elsewhere, an administrator's reset)
    /// is signed out at its next check.
    pub fn stamp_check(mut self, every: Duration) -> Self {
        self.stamp_check = every;
        self
    }

    /// Replaces a page's template (`base.html`, `prompt.html`,
    /// `security.html`, `setup.html`, `recovery.html`, `admin.html`), in
    /// minijinja's syntax. Start from the shipped ones (in the crate's
    /// `src/axum/templates/`): they list the values each page gets.
    pub fn template(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.templates.push((name.into(), source.into()));
        self
    }

    /// The messages shown for verdicts and errors (default [`English`]).
    pub fn texts(mut self, texts: impl Texts + 'static) -> Self {
        self.texts = Box::new(texts);
        self
    }

    /// How to find the client of a request, for the per-source limits.
    /// The default takes the peer address from axum's `ConnectInfo` (serve
    /// with `into_make_service_with_connect_info`); behind a proxy, read
    /// the header it sets, and only from the proxy.
    pub fn source(
        mut self,
        source: impl Fn(&Parts) -> Option<Source> + Send + Sync + 'static,
    ) -> Self {
        self.source = Box::new(source);
        self
    }

    /// The [`Web`]. Errors: [`Error::Config`](crate::Error::Config) when a
    /// template does not parse.
    pub fn build(self) -> crate::Result<Web> {
        let pages = render::Pages::new(self.templates)?;
        Ok(Web {
            inner: Arc::new(Inner {
                tf: self.tf,
                users: self.users,
                mount: self.mount,
                sign_in: self.sign_in,
                home: self.home,
                secure: self.secure,
                pending_ttl: self.pending_ttl,
                stamp_check: self.stamp_check,
                pages,
                texts: self.texts,
                source: self.source,
            }),
        })
    }
}

/// The pages and JSON endpoints, to nest at the [`WebBuilder::mount`]
/// path: the second-factor prompt (at the mount path itself, e.g. `/2fa`), the Account Security page
/// (`/security`) and the administrators' page (`/admin`). Every request
/// that changes something is checked for the session's CSRF token.
pub fn router<S>(web: Web) -> Router<S> {
    Router::new()
        .route("/", get(prompt::show).post(prompt::verify))
        .route("/send", post(prompt::send))
        .route("/webauthn.js", get(render::webauthn_js))
        .route("/security", get(security::show))
        .route("/security/step-up", post(security::step_up))
        .route("/security/step-up/send", post(security::send_step_up))
        .route("/security/setup", post(security::begin))
        .route("/security/setup/confirm", post(security::confirm))
        .route("/security/setup/resend", post(security::resend))
        .route("/security/setup/cancel", post(security::cancel))
        .route("/security/phone", post(security::change_phone))
        .route("/security/primary", post(security::primary))
        .route("/security/remove", post(security::remove))
        .route("/security/disable", post(security::disable))
        .route("/security/reenable", post(security::reenable))
        .route("/security/recovery", post(security::regenerate))
        .route("/security/devices/revoke", post(security::revoke_device))
        .route("/admin", get(admin::show))
        .route("/admin/act", post(admin::act))
        .layer(axum::middleware::from_fn(csrf::check))
        .layer(axum::middleware::map_response(no_store))
        .with_state(web)
}

/// Pages here show secrets (a new app's key, recovery codes) and account
/// state: no cache, shared or the browser's, keeps them.
async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
