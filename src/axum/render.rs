//! Templates, and the one way every action answers: a page, a redirect
//! with a message, or JSON.

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use minijinja::{context, Environment, Value};
use serde::de::DeserializeOwned;

use super::session::{Ctx, Flash};
use crate::error::{Error, ErrorKind};
use crate::model::verdict::Verdict;

const SHIPPED: [(&str, &str); 6] = [
    ("base.html", include_str!("templates/base.html")),
    ("prompt.html", include_str!("templates/prompt.html")),
    ("security.html", include_str!("templates/security.html")),
    ("setup.html", include_str!("templates/setup.html")),
    ("recovery.html", include_str!("templates/recovery.html")),
    ("admin.html", include_str!("templates/admin.html")),
];

/// The page templates: the shipped ones, with the host's replacements.
pub(crate) struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub(crate) fn new(replaced: Vec<(String, String)>) -> crate::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in SHIPPED {
            if !replaced.iter().any(|(n, _)| n == name) {
                env.add_template(name, source)
                    .map_err(|_| Error::Config("a shipped template does not parse"))?;
            }
        }
        for (name, source) in replaced {
            env.add_template_owned(name, source)
                .map_err(|_| Error::Config("a replaced template does not parse"))?;
        }
        Ok(Self { env })
    }

    fn render(&self, name: &str, values: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(values)
    }
}

/// The HTTP status for an error; failures of the infrastructure are
/// logged (their messages hold no secret).
pub(crate) fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::StepUpRequired | Error::NotPermitted | Error::Required => StatusCode::FORBIDDEN,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        e if e.kind() == ErrorKind::Input || e.kind() == ErrorKind::State => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        e => {
            tracing::error!(error = %e, "two-factor request failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// Template values from JSON.
pub(crate) fn values(data: &serde_json::Value) -> Value {
    Value::from(minijinja::value::Serde(data))
}

/// A form or a JSON body, whichever the request sent.
pub(crate) struct Input<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequest<S> for Input<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if json {
            Json::<T>::from_request(request, state)
                .await
                .map(|Json(t)| Input(t))
                .map_err(IntoResponse::into_response)
        } else {
            Form::<T>::from_request(request, state)
                .await
                .map(|Form(t)| Input(t))
                .map_err(IntoResponse::into_response)
        }
    }
}

/// "Send a code by …": the method named in a form.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SendBy {
    pub(crate) method: crate::model::status::Method,
}

/// What an action came to.
pub(crate) struct Outcome {
    ok: bool,
    status: StatusCode,
    message: Option<String>,
    next: String,
    data: serde_json::Value,
    page: Option<(&'static str, Value)>,
}

impl Outcome {
    /// Went right: go to `next` (a path under the mount) with `message`.
    pub(crate) fn ok(message: Option<String>, next: &str) -> Self {
        Self {
            ok: true,
            status: StatusCode::OK,
            message,
            next: next.to_owned(),
            data: serde_json::Value::Null,
            page: None,
        }
    }

    /// Refused or failed: back to `next` with the sentence.
    pub(crate) fn fail(status: StatusCode, message: String, next: &str) -> Self {
        Self {
            ok: false,
            status,
            message: Some(message),
            next: next.to_owned(),
            data: serde_json::Value::Null,
            page: None,
        }
    }

    /// An error, with its sentence and status.
    pub(crate) fn error(ctx: &Ctx, error: &Error, next: &str) -> Self {
        Self::fail(status_of(error), ctx.web.texts().error(error), next)
    }

    /// A code sent (or not): where it went, or why not.
    pub(crate) fn sent(
        ctx: &Ctx,
        result: &crate::Result<crate::model::verdict::Sent>,
        next: &str,
    ) -> Self {
        match result {
            Ok(sent) => Self::ok(Some(ctx.web.texts().sent(sent)), next),
            Err(error) => Self::error(ctx, error, next),
        }
    }

    /// A verdict that was not an acceptance.
    pub(crate) fn refused<T>(ctx: &Ctx, verdict: &Verdict<T>, next: &str) -> Self {
        let texts = ctx.web.texts();
        match verdict {
            Verdict::Rejected {
                attempts_left,
                reason,
            } => Self::fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                texts.rejected(*reason, *attempts_left),
                next,
            ),
            Verdict::LockedOut { until } => Self::fail(
                StatusCode::TOO_MANY_REQUESTS,
                texts.locked_out(*until),
                next,
            ),
            Verdict::Throttled { until } => {
                Self::fail(StatusCode::TOO_MANY_REQUESTS, texts.throttled(*until), next)
            }
            Verdict::Accepted(_) => Self::ok(None, next),
        }
    }

    /// Show `template` rather than redirect; `data` is also the JSON answer.
    pub(crate) fn page(mut self, template: &'static str, data: serde_json::Value) -> Self {
        self.page = Some((template, values(&data)));
        self.data = data;
        self
    }
}

impl Ctx {
    /// The answer to an action: JSON when asked for, else the page or a
    /// redirect carrying the message to the next page.
    pub(crate) async fn finish(mut self, outcome: Outcome) -> Response {
        let jar = self.jar.clone();
        let next = self.web.path(&outcome.next);
        if self.json {
            let mut body =
                serde_json::json!({ "ok": outcome.ok, "message": outcome.message, "next": next });
            if let (Some(map), serde_json::Value::Object(data)) =
                (body.as_object_mut(), outcome.data)
            {
                map.extend(data);
            }
            return (outcome.status, jar, Json(body)).into_response();
        }
        if let Some((template, values)) = outcome.page {
            let flash = outcome.message.map(|text| Flash {
                ok: outcome.ok,
                text,
            });
            return (jar, self.render(template, values, flash).await).into_response();
        }
        self.state.flash = outcome.message.map(|text| Flash {
            ok: outcome.ok,
            text,
        });
        if let Err(rejection) = self.save().await {
            return rejection.into_response();
        }
        (jar, Redirect::to(&next)).into_response()
    }

    /// The session's CSRF token (made on first use), kept in step in the
    /// state this request will save.
    async fn csrf(&mut self) -> Result<String, Response> {
        match super::csrf::csrf_token(&self.session).await {
            Ok(token) => {
                self.state.csrf = Some(token.clone());
                Ok(token)
            }
            Err(_) => Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "The session store failed.",
            )
                .into_response()),
        }
    }

    /// A GET's answer as JSON: `values`, `ok`, and the session's CSRF
    /// token for the single-page app's next POST (`X-CSRF-Token`).
    pub(crate) async fn json(&mut self, values: serde_json::Value) -> Response {
        let csrf = match self.csrf().await {
            Ok(token) => token,
            Err(response) => return response,
        };
        let mut body = values;
        if let Some(map) = body.as_object_mut() {
            map.insert("ok".into(), serde_json::Value::Bool(true));
            map.insert("csrf".into(), serde_json::Value::String(csrf));
        }
        (self.jar.clone(), Json(body)).into_response()
    }

    /// A page: `values` with what every page gets (the mount path, the
    /// CSRF token, the account, a message).
    pub(crate) async fn render(
        &mut self,
        template: &str,
        values: Value,
        flash: Option<Flash>,
    ) -> Response {
        let csrf = match self.csrf().await {
            Ok(token) => token,
            Err(response) => return response,
        };
        let flash = flash.or_else(|| self.state.flash.take());
        if let Err(rejection) = self.save().await {
            return rejection.into_response();
        }
        let account = self.account();
        let page = self.web.inner.pages.render(
            template,
            context! {
                mount => self.web.mount(),
                csrf => csrf,
                account => account.as_ref().map(|a| context! { id => a.id(), email => a.email() }),
                flash => flash.map(|f| context! { ok => f.ok, text => f.text }),
                is_admin => account.as_ref().is_some_and(|a| self.web.inner.users.is_admin(a)),
                ..values
            },
        );
        match page {
            Ok(html) => Html(html).into_response(),
            Err(error) => {
                tracing::error!(%error, template, "a two-factor page did not render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown.",
                )
                    .into_response()
            }
        }
    }
}

/// The script for security keys: it turns the options in a page into a
/// `navigator.credentials` call and posts the answer as the form's `code`.
pub(crate) async fn webauthn_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("templates/webauthn.js"),
    )
        .into_response()
}
