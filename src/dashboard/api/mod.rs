//! The dashboard's HTTP API. Every route but the page and its assets and
//! `/api/login` needs a signed-in [`Viewer`]; the role is checked before anything is
//! looked up; every read and every change is written to the audit trail before it is
//! answered. People are never named in a URL: filters by user, timelines and subject
//! histories are asked for in a request body. Every response carries a content
//! security policy without inline script, `nosniff`, `no-store` and frame denial.
//!
//! - [`board`]: the board, counts, risk, charts, the live stream, the briefing.
//! - [`drill`]: one alert with its evidence, a user's timeline, a subject's history.
//! - [`triage`]: triage with four eyes on closure; reveals of pseudonymised identities.

mod board;
mod common;
mod drill;
mod triage;

use super::auth::{self, refuse, Role, Viewer};
use super::signin::Refusal;
use super::state::Dashboard;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

use common::{audit, server_error, D};

pub fn router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/app.css", get(style))
        .route("/briefing", get(board::briefing_page))
        .route("/metrics", get(metrics))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/alerts", get(board::alerts).post(board::alerts_post))
        .route("/api/alerts/{id}", get(drill::alert))
        .route("/api/alerts/{id}/triage", post(triage::triage))
        .route("/api/counts", get(board::counts))
        .route("/api/risk", get(board::risk))
        .route("/api/charts", get(board::charts))
        .route("/api/timeline", post(drill::timeline))
        .route("/api/subject", post(drill::subject))
        .route("/api/briefing", get(board::briefing))
        .route("/api/reveals", get(triage::reveals).post(triage::reveal))
        .route("/api/reveals/{id}/approve", post(triage::approve_reveal))
        .route("/api/audit", get(audit_trail))
        .route("/api/stream", get(board::stream))
        .layer(axum::middleware::from_fn_with_state(d.clone(), audit_refusals))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(d)
}

/// Writes to the audit trail each request of a signed-in user that was refused (a
/// role's limit, a wrong CSRF token): an officer trying pages their role does not
/// open is what the auditor looks for. Not written: requests with no sign-in (anyone
/// could fill the trail with them). A request a browser says came from another site
/// (`Sec-Fetch-Site`) is written as such: a hostile page may make a signed-in
/// officer's browser ask, but the header is the client's own word, and leaving those
/// out let any refused request be kept out of the trail by sending it. Sign-in
/// refusals are written by the sign-in itself.
pub async fn audit_refusals(
    State(d): D,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let requester = auth::Requester::default();
    request.extensions_mut().insert(requester.clone());
    let cross_site = request
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !matches!(v, "same-origin" | "none"));
    let target = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    // Need-to-know answers "no such alert" for one the account may not see (its own,
    // say): audited as any refusal (a probe: an officer's tries at their own alerts
    // left no trace). Every 404 of a signed-in account alike, so the trail does not
    // tell an alert out of scope from one that does not exist.
    if matches!(response.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
        if let Some((user, role)) = requester.take() {
            let why = response.extensions().get::<auth::Refused>().map_or("forbidden", |r| r.0.as_str());
            let from = if cross_site { " (asked from another site)" } else { "" };
            let _ = d.store.audit(&user, role, &format!("refused{from}: {why}"), &target);
        }
    }
    response
}

/// The headers every dashboard response carries.
pub async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    r
}

const PAGE: &str = include_str!("../page.html");
const SCRIPT: &str = include_str!("../app.js");
const STYLE: &str = include_str!("../app.css");

/// `/metrics` on the dashboard's listener, which the dashboard's users reach: the
/// series about live operations (opsec alerts, accesses an operation explains, the
/// operations list, retrospective alerts) are only for a scrape bearing `[dashboard]
/// metrics_token` or a signed-in supervisor cleared for operations; anyone else gets
/// the rest.
async fn metrics(State(d): D, headers: axum::http::HeaderMap, viewer: Result<Viewer, Response>) -> Response {
    use sha2::Digest;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let full = match (bearer, d.config.metrics_token.as_deref()) {
        (Some(given), Some(token)) if sha2::Sha256::digest(given) == sha2::Sha256::digest(token) => true,
        (Some(_), _) => return refuse(StatusCode::UNAUTHORIZED, "not the metrics token"),
        (None, _) => viewer.is_ok_and(|v| v.scope.operations && matches!(v.role, Role::Supervisor | Role::Admin)),
    };
    let text = d.metrics.render();
    let text = if full { text } else { crate::metrics::without_operations(&text) };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(
    State(d): D,
    peer: Option<axum::extract::Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(login)) = body else { return refuse(StatusCode::BAD_REQUEST, "send {\"user\", \"password\"} as JSON") };
    let forwarded: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let addr = super::signin::client_address(peer.map(|p| p.0 .0.ip()), &forwarded, &d.config.trusted_proxies);
    let account = d.config.users.get(&login.user);
    // Unknown names are throttled like known ones (so a refusal says nothing about
    // whether the name exists), in one of a bounded number of slots.
    let unknown_slot;
    let slot = if account.is_some() {
        login.user.as_str()
    } else {
        let bucket = ahash::RandomState::with_seeds(3, 5, 7, 11).hash_one(&login.user) % 4_096;
        unknown_slot = format!("(unknown {bucket})");
        unknown_slot.as_str()
    };
    let refused = |reason: Refusal, status: StatusCode, why: &str| {
        d.metrics.login_refusals.with_label_values(&[reason.as_str()]).inc();
        // A wrong password is audited; throttled and busy refusals are counted only:
        // a flood of them must not grow the trail (or hold its lock) without bound.
        if reason == Refusal::Wrong {
            let _ = d.store.audit(&login.user, "-", &format!("sign-in refused: {}", reason.as_str()), "");
        }
        refuse(status, why)
    };
    if !d.throttle.allows(slot, addr) {
        return refused(
            Refusal::Throttled,
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins: wait and try again",
        );
    }
    let hash = account.and_then(|a| a.password.clone()).unwrap_or_else(|| super::signin::DECOY_HASH.to_string());
    // The attempt counts before the password is checked, so parallel guesses cannot
    // all pass the throttle while the first is being checked; a success clears it.
    d.throttle.failed(slot, addr);
    let ok = match d.passwords.check(hash, login.password).await {
        Some(ok) => ok && account.is_some_and(|a| a.password.is_some()),
        None => {
            d.throttle.unchecked(slot, addr);
            return refused(Refusal::Busy, StatusCode::SERVICE_UNAVAILABLE, "busy: try again in a moment");
        }
    };
    if !ok {
        return refused(Refusal::Wrong, StatusCode::UNAUTHORIZED, "wrong user name or password");
    }
    d.throttle.succeeded(slot, addr);
    let role = d.config.users[&login.user].role;
    let (token, csrf) = d.sessions.create(&login.user);
    let _ = d.store.audit(&login.user, role.as_str(), "sign in", "");
    (
        [(header::SET_COOKIE, auth::session_cookie(&token, d.config.secure_cookies, d.sessions.max_age()))],
        Json(json!({ "user": login.user, "role": role, "csrf": csrf })),
    )
        .into_response()
}

async fn logout(State(d): D, v: Viewer) -> Response {
    if let Some(t) = &v.session {
        d.sessions.remove(t);
    }
    let _ = audit(&d, &v, "sign out", "");
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", auth::COOKIE);
    ([(header::SET_COOKIE, clear)], Json(json!({ "signed_out": true }))).into_response()
}

/// Who is signed in; for a user signed in by the proxy header, starts the session that
/// carries the CSRF token.
async fn me(State(d): D, v: Viewer, asked: axum::http::HeaderMap) -> Response {
    let mut headers = Vec::new();
    let csrf = match v.csrf.clone() {
        Some(c) => c,
        None => {
            // Signed on by the proxy, without a session yet: a new one ends the user's
            // others, so another site's page (an image pointing here) must not start
            // one; the browser says where a request came from.
            let elsewhere = asked
                .get("sec-fetch-site")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| !matches!(v, "same-origin" | "none"));
            if elsewhere {
                return refuse(StatusCode::FORBIDDEN, "open the dashboard itself to sign in");
            }
            let (token, csrf) = d.sessions.create(&v.user);
            headers.push((
                header::SET_COOKIE,
                auth::session_cookie(&token, d.config.secure_cookies, d.sessions.max_age()),
            ));
            csrf
        }
    };
    let body = Json(json!({
        "user": v.user, "role": v.role, "operations": v.operations, "pseudonyms": v.pseudonymous, "csrf": csrf,
        "four_eyes": d.config.four_eyes, "reveal_needs_approval": d.config.reveal_needs_approval,
    }));
    let mut r = body.into_response();
    for (k, val) in headers {
        if let Ok(val) = val.parse() {
            r.headers_mut().append(k, val);
        }
    }
    r
}

/// `/api/audit`: `limit` (500, at most 10,000), then filters to page and search by:
/// `before` (a row id: the page older than it), `who`, `action` (its start), `since`
/// and `until` (RFC 3339, as the rows' `at`).
#[derive(serde::Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
    before: Option<i64>,
    who: Option<String>,
    action: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// What an auditor not cleared for operations reads for a restricted line's target.
pub const WITHHELD_TARGET: &str = "withheld: need-to-know (an auditor cleared for operations reads it)";

async fn audit_trail(State(d): D, v: Viewer, Query(q): Query<AuditQuery>) -> Response {
    if let Err(r) = v.require(&[Role::Auditor]) {
        return r;
    }
    let limit = q.limit.unwrap_or(500).min(10_000);
    // Times as the rows hold them (UTC, milliseconds), so that they compare as text.
    let time = |t: Option<String>| match t {
        None => Ok(None),
        Some(t) => crate::time::Timestamp::parse_rfc3339(&t).map(|ts| Some(ts.to_string())),
    };
    let (since, until) = match (time(q.since), time(q.until)) {
        (Ok(since), Ok(until)) => (since, until),
        _ => return refuse(StatusCode::BAD_REQUEST, "since and until are RFC 3339 times (2026-11-22T09:00:00Z)"),
    };
    let f =
        &crate::dashboard::store::audit::AuditFilter { before: q.before, who: q.who, action: q.action, since, until };
    let said = [
        Some(format!("last {limit}")),
        f.before.map(|b| format!("before {b}")),
        f.who.as_ref().map(|w| format!("who {w}")),
        f.action.as_ref().map(|a| format!("action {a}")),
        f.since.as_ref().map(|t| format!("since {t}")),
        f.until.as_ref().map(|t| format!("until {t}")),
    ];
    let target: Vec<String> = said.into_iter().flatten().collect();
    if let Err(r) = audit(&d, &v, "read the audit trail", &target.join(", ")) {
        return r;
    }
    match d.store.audit_trail(f, limit) {
        Ok(mut rows) => {
            // A cleared account's search for an operation's subject names the subject.
            if !v.scope.operations {
                for row in rows.iter_mut().filter(|r| r.restricted) {
                    row.target = WITHHELD_TARGET.to_string();
                }
            }
            Json(rows).into_response()
        }
        Err(e) => server_error(e),
    }
}
