//! Cross-site request forgery: a random token per session, required on
//! every request that changes something.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::session;

/// The largest form body the check reads (the forms here are small).
const MAX_FORM: usize = 64 * 1024;

/// The session's CSRF token, made on first use: put it in a hidden field
/// named `csrf` of every form (or send it as the `X-CSRF-Token` header)
/// that posts to a route under [`csrf_protect`] or the [`router`](super::router).
pub async fn csrf_token(session: &Session) -> crate::Result<String> {
    let mut state = session::load(session).await.map_err(|_| store_error())?;
    if let Some(token) = &state.csrf {
        return Ok(token.clone());
    }
    let mut bytes = [0u8; 32];
    crate::crypto::random::fill(&mut bytes)?;
    let token = data_encoding::BASE64URL_NOPAD.encode(&bytes);
    state.csrf = Some(token.clone());
    session::save(session, &state)
        .await
        .map_err(|_| store_error())?;
    Ok(token)
}

fn store_error() -> crate::Error {
    crate::Error::Store(crate::PortError::transient("session store"))
}

/// Middleware (`axum::middleware::from_fn(csrf_protect)`) that refuses,
/// with 403, a request other than GET, HEAD or OPTIONS whose `csrf` form
/// field or `X-CSRF-Token` header is not the session's token. Put it on
/// the host's own forms, the password form included (a forged sign-in
/// would sign the victim into the attacker's account).
pub async fn csrf_protect(session: Session, request: Request, next: Next) -> Response {
    check(session, request, next).await
}

pub(crate) async fn check(session: Session, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let expected = match session::load(&session).await {
        Ok(state) => state.csrf,
        Err(rejection) => return rejection.into_response(),
    };
    let (parts, body) = request.into_parts();
    let header_token = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (given, body) = match header_token {
        Some(token) => (Some(token), body),
        None if is_form => match to_bytes(body, MAX_FORM).await {
            Ok(bytes) => {
                let token = form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned());
                (token, Body::from(bytes))
            }
            Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "Too large.").into_response(),
        },
        None => (None, body),
    };
    let matches = match (expected, given) {
        (Some(expected), Some(given)) => bool::from(expected.as_bytes().ct_eq(given.as_bytes())),
        _ => false,
    };
    if !matches {
        return (
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site: reload the page and try again.",
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}
