//! The administrators' page: every user's status, "Delete 2FA setup" and
//! "Unlock", each with the administrator's own step-up and a reason.

use axum::extract::Query;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::render::{Input, Outcome};
use super::session::Admin;
use super::texts::Done;
use crate::error::Error;
use crate::model::reauth::Reauth;
use crate::model::status::{AccountSummary, State};
use crate::model::verdict::Verdict;

const PAGE: &str = "/admin";
const PAGE_SIZE: usize = 50;

/// Which page of users.
#[derive(Debug, Deserialize)]
pub(crate) struct After {
    #[serde(default)]
    after: Option<String>,
}

/// GET: the users, with their state.
pub(crate) async fn show(Admin(mut ctx, _): Admin, Query(page): Query<After>) -> Response {
    let users = ctx
        .web
        .inner
        .users
        .list(page.after.as_deref(), PAGE_SIZE)
        .await;
    let listed = if users.is_empty() && page.after.is_none() {
        // The host lists no users: show the accounts the store knows.
        ctx.tf
            .admin_list(None, PAGE_SIZE)
            .await
            .map(|p| (p.accounts, p.next, Vec::new()))
    } else {
        let ids: Vec<&str> = users.iter().map(|u| u.id()).collect();
        let next = (users.len() == PAGE_SIZE)
            .then(|| ids.last().map(|s| (*s).to_owned()))
            .flatten();
        let emails = users.iter().map(|u| u.email().to_owned()).collect();
        ctx.tf.summaries(&ids).await.map(|s| (s, next, emails))
    };
    let (accounts, next, emails) = match listed {
        Ok(listed) => listed,
        Err(error) => {
            let outcome = Outcome::error(&ctx, &error, "/security");
            return ctx.finish(outcome).await;
        }
    };
    let rows: Vec<_> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| row(a, emails.get(i).map(String::as_str)))
        .collect();
    let values = json!({
        "users": rows,
        "next": next,
        "stepped_up": ctx.grant_expires().map(super::texts::clock),
    });
    if ctx.json {
        return ctx.json(values).await;
    }
    ctx.render("admin.html", super::render::values(&values), None)
        .await
}

fn row(account: &AccountSummary, email: Option<&str>) -> serde_json::Value {
    let (label, enabled) = match account.state {
        State::On => ("Enabled", true),
        State::Suspended => ("Off (settings kept)", false),
        State::Pending => ("Setting up", false),
        State::SetupRequired => ("Must set up", false),
        State::Unreadable => ("Unreadable", false),
        _ => ("Not enabled", false),
    };
    json!({
        "id": account.user,
        "email": email,
        "state": label,
        "enabled": enabled,
        "methods": account.methods.iter().map(|m| m.heading()).collect::<Vec<_>>(),
    })
}

/// An administrator's action on a user.
#[derive(Debug, Deserialize)]
pub(crate) struct Act {
    user: String,
    action: String,
    #[serde(default)]
    reason: String,
}

/// POST: "Delete 2FA setup" (`reset`) or "Unlock" (`unlock`).
pub(crate) async fn act(Admin(ctx, admin): Admin, Input(form): Input<Act>) -> Response {
    let Some(grant) = ctx.grant() else {
        let outcome = Outcome::error(&ctx, &Error::StepUpRequired, PAGE);
        return ctx.finish(outcome).await;
    };
    let Some(target) = ctx.web.inner.users.account(&form.user).await else {
        let outcome = Outcome::error(&ctx, &Error::NotPermitted, PAGE);
        return ctx.finish(outcome).await;
    };
    let (result, done) = match form.action.as_str() {
        "reset" => (
            ctx.tf
                .admin_reset(&admin, Reauth::grant(&grant), &target, &form.reason)
                .await,
            Done::Reset,
        ),
        "unlock" => (
            ctx.tf
                .admin_unlock(&admin, Reauth::grant(&grant), &target, &form.reason)
                .await,
            Done::Unlocked,
        ),
        _ => (Err(Error::NotPermitted), Done::Reset),
    };
    let outcome = match result {
        Ok(Verdict::Accepted(())) => Outcome::ok(Some(ctx.web.texts().done(done)), PAGE),
        Ok(refused) => Outcome::refused(&ctx, &refused, PAGE),
        Err(error) => Outcome::error(&ctx, &error, PAGE),
    };
    ctx.finish(outcome).await
}
