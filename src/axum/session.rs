//! What the session holds for two-factor authentication, the extractors
//! that read it, the guard, and the sign-in flow.

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::Web;
use crate::model::account::Account;
use crate::model::time::Timestamp;
use crate::model::verdict::LoginStep;
use crate::service::TwoFactor;

const KEY: &str = "twofactor";

/// Where a session is in signing in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// Nobody.
    #[default]
    Out,
    /// The password was right; the second factor is due.
    Pending,
    /// Signed in, but a setup is required before anything else.
    Setup,
    /// Signed in.
    In,
}

/// The web layer's part of a session (kept server-side by the host's
/// session store).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) user: Option<User>,
    pub(crate) stage: Stage,
    /// When the stage began (Unix seconds).
    pub(crate) since: u64,
    pub(crate) stamp: Option<String>,
    pub(crate) stamp_checked: u64,
    /// A step-up grant: its token and expiry.
    pub(crate) grant: Option<(String, u64)>,
    pub(crate) csrf: Option<String>,
    pub(crate) flash: Option<Flash>,
}

/// The account, as the session keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    id: String,
    email: String,
    label: String,
}

impl User {
    fn of(account: &Account) -> Self {
        Self {
            id: account.id().to_owned(),
            email: account.email().to_owned(),
            label: account.label().to_owned(),
        }
    }

    pub(crate) fn account(&self) -> Account {
        Account::new(&self.id, &self.email).with_label(&self.label)
    }
}

/// A message for the next page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Flash {
    pub(crate) ok: bool,
    pub(crate) text: String,
}

pub(crate) async fn load(session: &Session) -> Result<State, WebRejection> {
    session
        .get::<State>(KEY)
        .await
        .map(Option::unwrap_or_default)
        .map_err(|_| WebRejection::session())
}

pub(crate) async fn save(session: &Session, state: &State) -> Result<(), WebRejection> {
    session
        .insert(KEY, state)
        .await
        .map_err(|_| WebRejection::session())
}

async fn session_of<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Session, WebRejection> {
    Session::from_request_parts(parts, state)
        .await
        .map_err(|_| WebRejection::session())
}

/// Whether a request wants JSON rather than a page.
pub(crate) fn wants_json(parts: &Parts) -> bool {
    let has_json = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"))
    };
    has_json(header::ACCEPT) || has_json(header::CONTENT_TYPE)
}

/// Why an extractor refused a request: a redirect for a page, 401 / 403
/// with a JSON body for a JSON request.
#[derive(Debug)]
pub struct WebRejection {
    status: StatusCode,
    location: Option<String>,
    message: &'static str,
}

impl WebRejection {
    fn session() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            location: None,
            message: "The session store failed.",
        }
    }

    fn signed_out(web: &Web, json: bool) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            location: (!json).then(|| web.inner.sign_in.clone()),
            message: "Sign in first.",
        }
    }

    fn pending(web: &Web, json: bool) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            location: (!json).then(|| web.path("")),
            message: "Enter your second factor first.",
        }
    }

    fn setup_first(web: &Web, json: bool) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            location: (!json).then(|| web.path("/security")),
            message: "Set up two-factor authentication first.",
        }
    }

    fn not_admin() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            location: None,
            message: "Not permitted.",
        }
    }

    fn step_up(web: &Web, json: bool) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            location: (!json).then(|| web.path("/security")),
            message: "Confirm it's you first.",
        }
    }
}

impl IntoResponse for WebRejection {
    fn into_response(self) -> Response {
        match self.location {
            Some(to) => Redirect::to(&to).into_response(),
            None => (
                self.status,
                Json(serde_json::json!({ "ok": false, "message": self.message })),
            )
                .into_response(),
        }
    }
}

/// The request's session, read once, and what the web layer needs with it.
pub(crate) struct Ctx {
    pub(crate) web: Web,
    pub(crate) session: Session,
    pub(crate) state: State,
    pub(crate) tf: TwoFactor,
    pub(crate) json: bool,
    pub(crate) jar: CookieJar,
    pub(crate) user_agent: String,
}

impl Ctx {
    async fn from_parts<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<Self, WebRejection>
    where
        Web: FromRef<S>,
    {
        let web = Web::from_ref(state);
        let session = session_of(parts, state).await?;
        let loaded = load(&session).await?;
        Ok(Self {
            tf: web.tf_for(parts),
            json: wants_json(parts),
            jar: CookieJar::from_headers(&parts.headers),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            web,
            session,
            state: loaded,
        })
    }

    /// The request's session, signed in (or setup-only when `setup_ok`),
    /// with its account.
    async fn signed_in_from<S: Send + Sync>(
        parts: &mut Parts,
        state: &S,
        setup_ok: bool,
    ) -> Result<(Self, Account), WebRejection>
    where
        Web: FromRef<S>,
    {
        let ctx = Self::from_parts(parts, state)
            .await?
            .require_in(setup_ok)
            .await?;
        match ctx.account() {
            Some(account) => Ok((ctx, account)),
            None => Err(WebRejection::signed_out(&ctx.web, ctx.json)),
        }
    }

    pub(crate) fn now(&self) -> u64 {
        self.tf.now().unix_seconds()
    }

    pub(crate) fn account(&self) -> Option<Account> {
        self.state.user.as_ref().map(User::account)
    }

    /// A live step-up grant of this session.
    pub(crate) fn grant(&self) -> Option<SecretString> {
        let now = self.now();
        self.state
            .grant
            .as_ref()
            .filter(|(_, expires)| *expires > now)
            .map(|(token, _)| SecretString::from(token.clone()))
    }

    pub(crate) fn grant_expires(&self) -> Option<Timestamp> {
        let now = self.now();
        self.state
            .grant
            .as_ref()
            .filter(|(_, expires)| *expires > now)
            .map(|(_, expires)| Timestamp::from_unix_seconds(*expires))
    }

    pub(crate) async fn save(&self) -> Result<(), WebRejection> {
        save(&self.session, &self.state).await
    }

    /// The second factor (or no need of one) let the user in: a new
    /// session id, the stage, and the stamp to compare from now on.
    pub(crate) async fn signed_in(
        &mut self,
        account: &Account,
        stage: Stage,
    ) -> Result<(), WebRejection> {
        let stamp = self
            .tf
            .security_stamp(account)
            .await
            .map_err(|_| WebRejection::session())?;
        self.session
            .cycle_id()
            .await
            .map_err(|_| WebRejection::session())?;
        let now = self.now();
        self.state.stage = stage;
        self.state.since = now;
        self.state.stamp = stamp;
        self.state.stamp_checked = now;
        self.save().await
    }

    /// A change made in this session: keep its new stamp, so the session
    /// stays signed in.
    pub(crate) fn keep_stamp(&mut self, stamp: &str) {
        self.state.stamp = Some(stamp.to_owned());
        self.state.stamp_checked = self.now();
    }

    /// Signed in (or in the setup-only stage when `setup_ok`), with a
    /// stamp still current.
    async fn require_in(mut self, setup_ok: bool) -> Result<Self, WebRejection> {
        let web = self.web.clone();
        match self.state.stage {
            Stage::In => {}
            Stage::Setup if setup_ok => {}
            Stage::Setup => return Err(WebRejection::setup_first(&web, self.json)),
            Stage::Pending if self.pending_live() => {
                return Err(WebRejection::pending(&web, self.json))
            }
            Stage::Pending | Stage::Out => return Err(WebRejection::signed_out(&web, self.json)),
        }
        let Some(account) = self.account() else {
            return Err(WebRejection::signed_out(&web, self.json));
        };
        let now = self.now();
        if now.saturating_sub(self.state.stamp_checked) >= web.inner.stamp_check.as_secs() {
            let current = self
                .tf
                .security_stamp(&account)
                .await
                .map_err(|_| WebRejection::session())?;
            if current != self.state.stamp {
                self.session
                    .flush()
                    .await
                    .map_err(|_| WebRejection::session())?;
                return Err(WebRejection::signed_out(&web, self.json));
            }
            self.state.stamp_checked = now;
            self.save().await?;
        }
        Ok(self)
    }

    /// Where a login step leads when no code is needed now (signed in,
    /// or sent to set one up): `None` when the prompt must ask.
    pub(crate) async fn past_login(
        &mut self,
        account: &Account,
        step: &LoginStep,
    ) -> Result<Option<String>, WebRejection> {
        let (stage, to) = match step {
            LoginStep::NotRequired
            | LoginStep::Trusted {
                setup_due: None, ..
            } => (Stage::In, self.web.inner.home.clone()),
            LoginStep::Trusted {
                setup_due: Some(due),
                ..
            } => (grace(due.grace_until), self.web.path("/security")),
            LoginStep::SetupRequired { grace_until, .. } => {
                (grace(*grace_until), self.web.path("/security"))
            }
            _ => return Ok(None),
        };
        self.signed_in(account, stage).await?;
        Ok(Some(to))
    }

    pub(crate) fn pending_live(&self) -> bool {
        self.state.stage == Stage::Pending
            && self.now().saturating_sub(self.state.since) < self.web.inner.pending_ttl.as_secs()
    }

    pub(crate) fn device_token(&self, account: &Account) -> Option<String> {
        self.jar
            .get(&super::cookies::name(account))
            .map(|c| c.value().to_owned())
    }
}

/// A request in the middle of signing in: the password was accepted less
/// than [`WebBuilder::pending_ttl`](super::WebBuilder::pending_ttl) ago and
/// the second factor is still due.
pub struct Pending(pub(crate) Ctx);

impl Pending {
    /// The account signing in.
    pub fn account(&self) -> Account {
        self.0.account().unwrap_or_else(|| Account::new("", ""))
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Pending
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_parts(parts, state).await?;
        match ctx.state.stage {
            Stage::Pending if ctx.pending_live() && ctx.state.user.is_some() => Ok(Pending(ctx)),
            Stage::In => Err(WebRejection {
                status: StatusCode::CONFLICT,
                location: (!ctx.json).then(|| ctx.web.inner.home.clone()),
                message: "Already signed in.",
            }),
            _ => Err(WebRejection::signed_out(&ctx.web, ctx.json)),
        }
    }
}

/// A fully signed-in request: the second factor was verified, or none is
/// required; its session's security stamp is current.
pub struct SignedIn(pub(crate) Ctx, pub(crate) Account);

impl SignedIn {
    /// The signed-in account.
    pub fn account(&self) -> &Account {
        &self.1
    }
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SignedIn").field(&self.1.id()).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (ctx, account) = Ctx::signed_in_from(parts, state, false).await?;
        Ok(SignedIn(ctx, account))
    }
}

/// The Account Security pages also take a user who must set up a second
/// factor before anything else.
pub(crate) struct Settings(pub(crate) Ctx, pub(crate) Account);

impl<S: Send + Sync> FromRequestParts<S> for Settings
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (ctx, account) = Ctx::signed_in_from(parts, state, true).await?;
        Ok(Settings(ctx, account))
    }
}

/// An administrator, signed in ([`Users::is_admin`](super::Users::is_admin)).
pub(crate) struct Admin(pub(crate) Ctx, pub(crate) Account);

impl<S: Send + Sync> FromRequestParts<S> for Admin
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let SignedIn(ctx, account) = SignedIn::from_request_parts(parts, state).await?;
        if !ctx.web.inner.users.is_admin(&account) {
            return Err(WebRejection::not_admin());
        }
        Ok(Admin(ctx, account))
    }
}

/// Signed in, with a live step-up grant in the session: for the host's own
/// sensitive pages (a new payout address, say). Without one, a page
/// request goes to the Account Security page, where the user confirms it
/// is them; a JSON request gets 403.
pub struct SteppedUp(pub(crate) SignedIn, pub(crate) Timestamp);

impl SteppedUp {
    /// The signed-in account.
    pub fn account(&self) -> &Account {
        self.0.account()
    }

    /// When the grant ends.
    pub fn until(&self) -> Timestamp {
        self.1
    }
}

impl std::fmt::Debug for SteppedUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SteppedUp").field(&self.0).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SteppedUp
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signed = SignedIn::from_request_parts(parts, state).await?;
        match signed.0.grant_expires() {
            Some(until) => Ok(SteppedUp(signed, until)),
            None => Err(WebRejection::step_up(&signed.0.web, signed.0.json)),
        }
    }
}

/// For `route_layer`: lets a signed-in request through; sends one still
/// waiting for its second factor to the prompt, one that must set up a
/// factor first to the Account Security page, and anybody else to the
/// host's sign-in page (401 / 403 for JSON requests).
///
/// ```no_run
/// # fn f(web: twofactor::axum::Web, app: axum::Router<twofactor::axum::Web>) {
/// let app = app.route_layer(axum::middleware::from_fn_with_state(web, twofactor::axum::require_signed_in));
/// # }
/// ```
pub async fn require_signed_in(
    axum::extract::State(web): axum::extract::State<Web>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    match SignedIn::from_request_parts(&mut parts, &web).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(rejection) => rejection.into_response(),
    }
}

/// The sign-in flow, for the host's own password form: after it checked
/// the password, [`password_accepted`](Self::password_accepted).
pub struct Flow(pub(crate) Ctx);

impl std::fmt::Debug for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow").finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Flow
where
    Web: FromRef<S>,
{
    type Rejection = WebRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Flow(Ctx::from_parts(parts, state).await?))
    }
}

impl Flow {
    /// Runs the host's password check under the service's per-source
    /// failure limit ([`TwoFactor::check_sign_in`]), with this request's
    /// source: call it with the account (or, for an unknown user name, an
    /// account of that name and a check that answers `false`), then
    /// [`password_accepted`](Self::password_accepted) when it is
    /// [`SignInCheck::Right`](crate::SignInCheck::Right).
    pub async fn check_password<F>(
        &self,
        account: &Account,
        check: F,
    ) -> crate::Result<crate::SignInCheck>
    where
        F: std::future::Future<Output = bool> + Send,
    {
        self.0.tf.check_sign_in(account, check).await
    }

    /// The host checked `account`'s password and it was right: records
    /// that in the session (a new session id), then answers where to go
    /// next: the host's home page when no second factor is needed (none
    /// set up, or this device is remembered), the prompt otherwise, or the
    /// Account Security page when a setup is required first.
    ///
    /// **The host still owns the password check.** Run it through
    /// [`check_password`](Self::check_password), which throttles it per
    /// client address as the service throttles codes, and never tell the
    /// user whether the account exists.
    pub async fn password_accepted(mut self, account: &Account) -> Response {
        match self.accept(account).await {
            Ok(response) => response,
            Err(rejection) => rejection.into_response(),
        }
    }

    async fn accept(&mut self, account: &Account) -> Result<Response, WebRejection> {
        let ctx = &mut self.0;
        ctx.session
            .cycle_id()
            .await
            .map_err(|_| WebRejection::session())?;
        let now = ctx.now();
        ctx.state = State {
            user: Some(User::of(account)),
            stage: Stage::Pending,
            since: now,
            csrf: ctx.state.csrf.take(),
            ..State::default()
        };
        let device = ctx.device_token(account);
        let step = ctx.tf.begin_login(account, device.as_deref()).await;
        let jar = match (&step, &device) {
            (Ok(LoginStep::Challenge { .. }), Some(_)) => {
                super::cookies::clear(ctx.jar.clone(), &ctx.web, account)
            }
            _ => ctx.jar.clone(),
        };
        let to = match step {
            Ok(step) => ctx.past_login(account, &step).await?,
            Err(_) => None,
        };
        let to = match to {
            Some(to) => to,
            // A challenge, a lockout, or an error the prompt will show.
            None => {
                ctx.save().await?;
                ctx.web.path("")
            }
        };
        Ok(if ctx.json {
            (jar, Json(serde_json::json!({ "ok": true, "next": to }))).into_response()
        } else {
            (jar, Redirect::to(&to)).into_response()
        })
    }

    /// Signs out: revokes the session's step-up grant and ends the session.
    pub async fn sign_out(self) -> Response {
        let ctx = self.0;
        if let (Some(account), Some(grant)) = (ctx.account(), ctx.grant()) {
            // Best effort: the grant also lapses by itself.
            let _ = ctx.tf.revoke_step_up(&account, &grant).await;
        }
        let _ = ctx.session.flush().await;
        Redirect::to(&ctx.web.inner.sign_in).into_response()
    }

    /// The account signed in, or signing in, in this session.
    pub fn account(&self) -> Option<Account> {
        self.0.account()
    }
}

/// Signed in while a grace period runs; to the setup page only after.
pub(crate) fn grace(until: Option<Timestamp>) -> Stage {
    if until.is_some() {
        Stage::In
    } else {
        Stage::Setup
    }
}
