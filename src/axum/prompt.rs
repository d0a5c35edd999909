//! The second-factor prompt: a code, "send a text instead", a recovery
//! code, a security key, "remember this device".

use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::render::{Input, Outcome, SendBy};
use super::session::{Pending, Stage};
use crate::model::status::Method;
use crate::model::verdict::{LoginStep, Verdict};

/// The prompt, relative to the mount point.
const PROMPT: &str = "";

/// The prompt's form.
#[derive(Debug, Deserialize)]
pub(crate) struct Answer {
    /// A code, a recovery code, or a security key's answer (JSON).
    #[serde(default)]
    code: String,
    /// "Remember this device".
    #[serde(default)]
    remember: Option<String>,
}

/// GET: what to ask for. Sends the primary email or SMS code (unless one
/// sent earlier still works) and makes a fresh security-key challenge.
pub(crate) async fn show(Pending(mut ctx): Pending) -> Response {
    let Some(account) = ctx.account() else {
        return ctx.finish(Outcome::ok(None, PROMPT)).await;
    };
    let device = ctx.device_token(&account);
    let step = ctx.tf.begin_login(&account, device.as_deref()).await;
    if let Ok(step) = &step {
        match ctx.past_login(&account, step).await {
            Ok(Some(to)) => return axum::response::Redirect::to(&to).into_response(),
            Ok(None) => {}
            Err(rejection) => return rejection.into_response(),
        }
        if device.is_some() && matches!(step, LoginStep::Challenge { .. }) {
            // The browser's device token is no longer remembered.
            ctx.jar = super::cookies::clear(ctx.jar.clone(), &ctx.web, &account);
        }
    }
    let texts = ctx.web.texts();
    let values = match step {
        Ok(LoginStep::Challenge {
            method,
            sent,
            alternatives,
            retry_after,
            key,
        }) => {
            let note = match (&sent, retry_after) {
                (Some(sent), _) => Some(texts.sent(sent)),
                (None, Some(wait)) => Some(texts.wait(wait)),
                (None, None) => None,
            };
            json!({
                "method": method.as_str(),
                "method_name": method.display_name(),
                "note": note,
                "alternatives": alternatives.iter().filter(|m| matches!(m, Method::Email | Method::Sms))
                    .map(|m| json!({ "method": m.as_str(), "name": m.display_name() })).collect::<Vec<_>>(),
                "key": key_options(key.as_ref()),
            })
        }
        Ok(LoginStep::LockedOut { until }) => {
            // The page says it; the last answer's message would repeat it.
            ctx.state.flash = None;
            json!({ "locked": texts.locked_out(until) })
        }
        Ok(_) => json!({}),
        Err(error) => {
            super::render::status_of(&error);
            json!({ "failed": texts.error(&error) })
        }
    };
    if ctx.json {
        return ctx.json(values).await;
    }
    let jar = ctx.jar.clone();
    let page = ctx
        .render("prompt.html", super::render::values(&values), None)
        .await;
    (jar, page).into_response()
}

#[cfg(feature = "webauthn")]
fn key_options(key: Option<&crate::model::key::KeyRequest>) -> serde_json::Value {
    key.and_then(|k| serde_json::to_value(k.options()).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[cfg(not(feature = "webauthn"))]
fn key_options(_: Option<&crate::model::key::KeyRequest>) -> serde_json::Value {
    serde_json::Value::Null
}

/// POST: checks the answer.
pub(crate) async fn verify(Pending(mut ctx): Pending, Input(answer): Input<Answer>) -> Response {
    let Some(account) = ctx.account() else {
        return ctx.finish(Outcome::ok(None, PROMPT)).await;
    };
    let label = answer
        .remember
        .as_ref()
        .map(|_| device_label(&ctx.user_agent));
    let verdict = ctx
        .tf
        .verify_login(&account, answer.code.trim(), label.as_deref())
        .await;
    let verified = match verdict {
        Ok(Verdict::Accepted(verified)) => verified,
        Ok(refused) => {
            let outcome = Outcome::refused(&ctx, &refused, PROMPT);
            return ctx.finish(outcome).await;
        }
        Err(error) => {
            let outcome = Outcome::error(&ctx, &error, PROMPT);
            return ctx.finish(outcome).await;
        }
    };
    if let Some(device) = &verified.device {
        let now = ctx.now();
        ctx.jar = super::cookies::set(ctx.jar.clone(), &ctx.web, &account, device, now);
    }
    let (stage, next) = match verified.setup_due {
        Some(due) => (
            super::session::grace(due.grace_until),
            ctx.web.path("/security"),
        ),
        None => (Stage::In, ctx.web.inner.home.clone()),
    };
    if let Err(rejection) = ctx.signed_in(&account, stage).await {
        return rejection.into_response();
    }
    let jar = ctx.jar.clone();
    if ctx.json {
        return (jar, axum::Json(json!({ "ok": true, "next": next }))).into_response();
    }
    (jar, axum::response::Redirect::to(&next)).into_response()
}

/// POST: "send a code by text instead".
pub(crate) async fn send(Pending(ctx): Pending, Input(by): Input<SendBy>) -> Response {
    let Some(account) = ctx.account() else {
        return ctx.finish(Outcome::ok(None, PROMPT)).await;
    };
    let outcome = Outcome::sent(&ctx, &ctx.tf.send_code(&account, by.method).await, PROMPT);
    ctx.finish(outcome).await
}

/// A short name for the browser, from its User-Agent: "Chrome on Linux".
pub(crate) fn device_label(user_agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| user_agent.contains(needle))
    .map(|(_, name)| format!(" on {name}"))
    .unwrap_or_default();
    format!("{browser}{system}")
}

#[cfg(test)]
mod tests {
    use super::device_label;

    #[test]
    fn labels() {
        assert_eq!(
            device_label("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"),
            "Chrome on Linux"
        );
        assert_eq!(
            device_label(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0"
            ),
            "Firefox on Windows"
        );
        assert_eq!(device_label(""), "A browser");
    }
}
