//! The Account Security page and its actions: step-up, set up (app with a
//! QR code, email, SMS, security key), add, remove, make primary, change
//! number, disable keeping or deleting the settings, re-enable, recovery
//! codes, remembered devices.

use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

use super::render::{Input, Outcome, SendBy};
use super::session::{Ctx, Settings, Stage};
use super::texts::{clock, day, Done};
use crate::error::Error;
use crate::model::account::Account;
use crate::model::phone::PhoneNumber;
use crate::model::reauth::Reauth;
use crate::model::setup::{Keep, NewMethod, RecoveryCodes, Setup};
use crate::model::status::{AuthenticatorInfo, Method, Status};
use crate::model::verdict::Verdict;

const PAGE: &str = "/security";

/// What a form may carry to prove it is the user: the password and a
/// code, or nothing (the session's step-up grant is used).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Proof {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

struct Proven {
    password: Option<SecretString>,
    code: Option<String>,
    grant: Option<SecretString>,
}

impl Proven {
    fn of(ctx: &Ctx, proof: Proof) -> Self {
        Self {
            password: proof
                .password
                .filter(|p| !p.is_empty())
                .map(SecretString::from),
            code: proof
                .code
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
            grant: ctx.grant(),
        }
    }

    /// The password (with a code when given), else the session's grant.
    fn reauth(&self) -> Result<Reauth<'_>, Error> {
        match (&self.password, &self.code, &self.grant) {
            (Some(p), Some(c), _) => Ok(Reauth::with_code(p, c)),
            (Some(p), None, _) => Ok(Reauth::password(p)),
            (None, _, Some(g)) => Ok(Reauth::grant(g)),
            (None, _, None) => Err(Error::StepUpRequired),
        }
    }
}

/// GET: the page.
pub(crate) async fn show(Settings(mut ctx, account): Settings) -> Response {
    let values = match page_values(&ctx, &account).await {
        Ok(values) => values,
        Err(error) => {
            let outcome = Outcome::error(&ctx, &error, PAGE);
            return ctx
                .finish(outcome.page("security.html", json!({ "state": "error" })))
                .await;
        }
    };
    if ctx.json {
        return ctx.json(values).await;
    }
    ctx.render("security.html", super::render::values(&values), None)
        .await
}

async fn page_values(ctx: &Ctx, account: &Account) -> crate::Result<Value> {
    let tf = &ctx.tf;
    let now = tf.now();
    let status = tf.status(account).await?;
    let devices = tf.devices(account).await?;
    let grant_until = ctx.grant_expires();
    let method = |m: &Method| json!({ "method": m.as_str(), "name": m.heading() });
    let authenticator = |a: &AuthenticatorInfo| {
        json!({
            "id": a.id, "method": a.method.as_str(), "kind": a.method.heading(), "label": a.label,
            "primary": a.primary, "added": day(a.created), "last_used": a.last_used.map(day),
        })
    };
    let offered: Vec<Method> = [Method::App, Method::Email, Method::Sms, Method::Key]
        .into_iter()
        .filter(|m| tf.offers(*m))
        .collect();
    let mut values = json!({
        "offered": offered.iter().map(method).collect::<Vec<_>>(),
        "stepped_up": grant_until.map(clock),
        "devices": devices.iter().map(|d| json!({
            "id": d.id, "label": d.label, "added": day(d.created), "expires": day(d.expires),
            "last_used": d.last_used.map(day),
        })).collect::<Vec<_>>(),
        "setup_only": ctx.state.stage == Stage::Setup,
    });
    let extra = match &status {
        Status::Off => json!({ "state": "off" }),
        Status::SetupRequired { .. } => json!({ "state": "setup_required" }),
        Status::Pending { method: m, expires } => json!({
            "state": "pending", "pending": method(m), "pending_expired": *expires <= now,
        }),
        Status::On {
            methods,
            primary,
            authenticators,
            phone,
            pending,
            recovery_codes_left,
            ..
        } => json!({
            "state": "on",
            "primary": method(primary),
            "methods": methods.iter().map(method).collect::<Vec<_>>(),
            "fallbacks": methods.iter().filter(|m| *m != primary && matches!(m, Method::App | Method::Email | Method::Sms)).map(method).collect::<Vec<_>>(),
            "authenticators": authenticators.iter().map(authenticator).collect::<Vec<_>>(),
            "phone": phone,
            "pending": pending.as_ref().map(method),
            "recovery_codes_left": recovery_codes_left,
            "send_methods": methods.iter().filter(|m| matches!(m, Method::Email | Method::Sms)).map(method).collect::<Vec<_>>(),
            "key": step_up_key(ctx, account, methods, grant_until.is_some()).await,
        }),
        Status::Suspended {
            methods,
            primary,
            authenticators,
            ..
        } => json!({
            "state": "suspended",
            "primary": method(primary),
            "authenticators": authenticators.iter().map(authenticator).collect::<Vec<_>>(),
            "send_methods": methods.iter().filter(|m| matches!(m, Method::Email | Method::Sms)).map(method).collect::<Vec<_>>(),
        }),
    };
    if let (Some(map), Value::Object(extra)) = (values.as_object_mut(), extra) {
        map.extend(extra);
    }
    Ok(values)
}

/// A security-key challenge for the step-up form, when the user has a key
/// and no grant yet.
#[cfg(feature = "webauthn")]
async fn step_up_key(ctx: &Ctx, account: &Account, methods: &[Method], granted: bool) -> Value {
    if granted || !methods.contains(&Method::Key) {
        return Value::Null;
    }
    match ctx.tf.begin_key_step_up(account).await {
        Ok(request) => serde_json::to_value(request.options()).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

#[cfg(not(feature = "webauthn"))]
async fn step_up_key(_: &Ctx, _: &Account, _: &[Method], _: bool) -> Value {
    Value::Null
}

/// POST: "Confirm it's you": the password and a current code give a grant
/// kept in the session.
pub(crate) async fn step_up(
    Settings(mut ctx, account): Settings,
    Input(proof): Input<Proof>,
) -> Response {
    let password = SecretString::from(proof.password.unwrap_or_default());
    let code = proof.code.unwrap_or_default();
    let outcome = match ctx.tf.step_up(&account, &password, code.trim()).await {
        Ok(Verdict::Accepted(grant)) => {
            ctx.state.grant = Some((
                grant.token.expose_secret().to_owned(),
                grant.expires.unix_seconds(),
            ));
            Outcome::ok(Some(ctx.web.texts().done(Done::SteppedUp)), PAGE)
        }
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

/// POST: sends a step-up code.
pub(crate) async fn send_step_up(
    Settings(ctx, account): Settings,
    Input(by): Input<SendBy>,
) -> Response {
    let outcome = Outcome::sent(
        &ctx,
        &ctx.tf.send_step_up_code(&account, by.method).await,
        PAGE,
    );
    ctx.finish(outcome).await
}

/// The setup form.
#[derive(Debug, Deserialize)]
pub(crate) struct Begin {
    method: Method,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    label: Option<String>,
    /// "switch": replace the primary method; otherwise, while on, add.
    #[serde(default)]
    mode: Option<String>,
    #[serde(flatten)]
    proof: Proof,
}

/// POST: begins a setup (turning on, switching, or adding) and shows what
/// to scan, where the code went, or the security-key call.
pub(crate) async fn begin(Settings(ctx, account): Settings, Input(form): Input<Begin>) -> Response {
    let new = match form.method {
        Method::App => NewMethod::App,
        Method::Email => NewMethod::Email,
        Method::Key => NewMethod::Key,
        Method::Sms => match PhoneNumber::parse(form.phone.as_deref().unwrap_or_default()) {
            Ok(number) => NewMethod::Sms(number),
            Err(error) => return fail(ctx, &error).await,
        },
    };
    let new = match form
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(label) => new.labelled(label),
        None => new.into(),
    };
    let proven = Proven::of(&ctx, form.proof);
    let reauth = match proven.reauth() {
        Ok(reauth) => reauth,
        Err(error) => return fail(ctx, &error).await,
    };
    let on = matches!(ctx.tf.status(&account).await, Ok(Status::On { .. }));
    let result = if on && form.mode.as_deref() != Some("switch") {
        ctx.tf.add_fallback(&account, new, reauth).await
    } else {
        ctx.tf.begin_setup(&account, new, reauth).await
    };
    shown(ctx, result).await
}

/// The setup page for what a begun setup gave.
async fn shown(ctx: Ctx, result: crate::Result<Verdict<Setup>>) -> Response {
    let outcome = match result {
        Ok(Verdict::Accepted(setup)) => {
            let note = match &setup {
                Setup::Code(code) => Some(ctx.web.texts().sent(&code.sent)),
                _ => None,
            };
            Outcome::ok(note, PAGE).page("setup.html", setup_values(&setup))
        }
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

fn setup_values(setup: &Setup) -> Value {
    match setup {
        Setup::App(app) => json!({
            "method": "app",
            "secret": app.secret.expose_secret(),
            "uri": app.uri.expose_secret(),
            "qr": app.qr_png.expose_secret(),
            "expires": clock(app.expires),
        }),
        Setup::Code(code) => json!({
            "method": code.sent.method.as_str(),
            "to": code.sent.to,
            "expires": clock(code.expires),
        }),
        Setup::Key(key) => json!({
            "method": "key",
            "key": key_setup_options(key),
            "expires": clock(key.expires),
        }),
    }
}

#[cfg(feature = "webauthn")]
fn key_setup_options(key: &crate::model::key::KeySetup) -> Value {
    serde_json::to_value(key.options()).unwrap_or(Value::Null)
}

#[cfg(not(feature = "webauthn"))]
fn key_setup_options(_: &crate::model::key::KeySetup) -> Value {
    Value::Null
}

/// The confirm form: a code, or the security key's answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Confirm {
    #[serde(default)]
    code: String,
}

/// POST: confirms the pending setup; shows the recovery codes when they
/// were just made.
pub(crate) async fn confirm(
    Settings(mut ctx, account): Settings,
    Input(form): Input<Confirm>,
) -> Response {
    let outcome = match ctx.tf.confirm_setup(&account, form.code.trim()).await {
        Ok(Verdict::Accepted(enabled)) => {
            ctx.keep_stamp(&enabled.stamp);
            if ctx.state.stage == Stage::Setup {
                ctx.state.stage = Stage::In;
            }
            let done = Outcome::ok(Some(ctx.web.texts().done(Done::SetUp)), PAGE);
            match &enabled.recovery_codes {
                Some(codes) => done.page("recovery.html", recovery_values(codes)),
                None => done,
            }
        }
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

fn recovery_values(codes: &RecoveryCodes) -> Value {
    json!({ "recovery_codes": codes.codes().iter().map(|c| c.expose_secret().to_owned()).collect::<Vec<_>>() })
}

/// POST: a new code for the pending email or SMS setup.
pub(crate) async fn resend(Settings(ctx, account): Settings) -> Response {
    let outcome = Outcome::sent(&ctx, &ctx.tf.resend_setup_code(&account).await, PAGE);
    ctx.finish(outcome).await
}

/// POST: drops the pending setup.
pub(crate) async fn cancel(
    Settings(ctx, account): Settings,
    Input(proof): Input<Proof>,
) -> Response {
    let proven = Proven::of(&ctx, proof);
    let result = match proven.reauth() {
        Ok(reauth) => ctx.tf.cancel_setup(&account, reauth).await,
        Err(error) => Err(error),
    };
    answered(ctx, result.map(|v| v.map(|()| None)), Done::Cancelled).await
}

/// The new-number form.
#[derive(Debug, Deserialize)]
pub(crate) struct NewNumber {
    phone: String,
}

/// POST: begins replacing the SMS number (a code goes to the new one).
pub(crate) async fn change_phone(
    Settings(ctx, account): Settings,
    Input(form): Input<NewNumber>,
) -> Response {
    let number = match PhoneNumber::parse(&form.phone) {
        Ok(number) => number,
        Err(error) => return fail(ctx, &error).await,
    };
    let Some(grant) = ctx.grant() else {
        return fail(ctx, &Error::StepUpRequired).await;
    };
    let result = ctx
        .tf
        .change_phone(&account, number, Reauth::grant(&grant))
        .await;
    shown(ctx, result).await
}

/// A method named in a form.
#[derive(Debug, Deserialize)]
pub(crate) struct Which {
    method: Method,
}

/// POST: makes a fallback method the primary one.
pub(crate) async fn primary(
    Settings(ctx, account): Settings,
    Input(form): Input<Which>,
) -> Response {
    let Some(grant) = ctx.grant() else {
        return fail(ctx, &Error::StepUpRequired).await;
    };
    let result = ctx
        .tf
        .set_primary(&account, form.method, Reauth::grant(&grant))
        .await;
    changed(ctx, result, Done::Primary).await
}

/// An authenticator named in a form.
#[derive(Debug, Deserialize)]
pub(crate) struct Id {
    id: String,
}

/// POST: removes one authenticator.
pub(crate) async fn remove(Settings(ctx, account): Settings, Input(form): Input<Id>) -> Response {
    let Some(grant) = ctx.grant() else {
        return fail(ctx, &Error::StepUpRequired).await;
    };
    let result = ctx
        .tf
        .remove_authenticator(&account, &form.id, Reauth::grant(&grant))
        .await;
    changed(ctx, result, Done::Removed).await
}

/// The disable form.
#[derive(Debug, Deserialize)]
pub(crate) struct Disable {
    keep: Keep,
    #[serde(flatten)]
    proof: Proof,
}

/// POST: turns it off, keeping the settings or deleting them.
pub(crate) async fn disable(
    Settings(ctx, account): Settings,
    Input(form): Input<Disable>,
) -> Response {
    let proven = Proven::of(&ctx, form.proof);
    let result = match proven.reauth() {
        Ok(reauth) => ctx.tf.disable(&account, reauth, form.keep).await,
        Err(error) => Err(error),
    };
    changed(ctx, result, Done::Disabled(form.keep)).await
}

/// POST: turns it back on with the kept settings (password and a code).
pub(crate) async fn reenable(
    Settings(ctx, account): Settings,
    Input(proof): Input<Proof>,
) -> Response {
    let proven = Proven::of(&ctx, proof);
    let result = match proven.reauth() {
        Ok(reauth) => ctx.tf.reenable(&account, reauth).await,
        Err(error) => Err(error),
    };
    changed(ctx, result, Done::Reenabled).await
}

/// POST: new recovery codes, shown once.
pub(crate) async fn regenerate(Settings(mut ctx, account): Settings) -> Response {
    let Some(grant) = ctx.grant() else {
        return fail(ctx, &Error::StepUpRequired).await;
    };
    let outcome = match ctx
        .tf
        .regenerate_recovery_codes(&account, Reauth::grant(&grant))
        .await
    {
        Ok(Verdict::Accepted(new)) => {
            ctx.keep_stamp(&new.stamp);
            Outcome::ok(None, PAGE).page("recovery.html", recovery_values(&new.codes))
        }
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

/// POST: forgets a remembered device (`id`), or all of them (`all`).
pub(crate) async fn revoke_device(
    Settings(ctx, account): Settings,
    Input(form): Input<Id>,
) -> Response {
    let result = if form.id == "all" {
        ctx.tf.revoke_all_devices(&account).await.map(|_| ())
    } else {
        ctx.tf.revoke_device(&account, &form.id).await
    };
    let outcome = match result {
        Ok(()) => Outcome::ok(Some(ctx.web.texts().done(Done::DeviceRevoked)), PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

/// The answer to a change of factors: keep its stamp (this session stays
/// signed in; the others end at their next check).
async fn changed(
    ctx: Ctx,
    result: crate::Result<Verdict<crate::model::setup::Changed>>,
    done: Done,
) -> Response {
    answered(ctx, result.map(|v| v.map(|c| Some(c.stamp))), done).await
}

async fn answered(
    mut ctx: Ctx,
    result: crate::Result<Verdict<Option<String>>>,
    done: Done,
) -> Response {
    let outcome = match result {
        Ok(Verdict::Accepted(stamp)) => {
            if let Some(stamp) = stamp {
                ctx.keep_stamp(&stamp);
            }
            Outcome::ok(Some(ctx.web.texts().done(done)), PAGE)
        }
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}

async fn fail(ctx: Ctx, error: &Error) -> Response {
    let outcome = Outcome::error(&ctx, error, PAGE);
    ctx.finish(outcome).await
}
