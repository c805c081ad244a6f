//! Who is asking: local accounts (argon2 password hashes in the configuration) or a
//! trusted reverse proxy's user header (single sign-on), sessions in a secure cookie,
//! CSRF tokens for every state-changing request, and the roles.
//!
//! | role | may |
//! |---|---|
//! | `analyst` | view the board, alerts, timelines and subject histories; acknowledge, escalate, note |
//! | `supervisor` | what an analyst may, and assign and close |
//! | `auditor` | read the audit trail, nothing else |
//! | `admin` | everything |
//!
//! Alerts about subjects of live operations are shown only to accounts with
//! `operations = true`.

use super::Dashboard;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand_core::{OsRng, RngCore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::config::{Account, Role};

/// Hashes a password for the configuration.
pub fn hash_password(password: &str) -> String {
    let salt = argon2::password_hash::SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

fn verify(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[derive(Clone, Debug)]
struct Session {
    user: String,
    csrf: String,
    last_seen: Instant,
}

/// Signed-in sessions, in memory: a restart signs everyone out.
#[derive(Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

pub const COOKIE: &str = "aw_session";
const IDLE: Duration = Duration::from_secs(8 * 3600);

impl Sessions {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Session>) -> R) -> R {
        f(&mut self.by_token.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A new session for `user`: (cookie token, CSRF token).
    pub fn create(&self, user: &str) -> (String, String) {
        let (t, csrf) = (token(), token());
        self.with(|m| {
            m.retain(|_, s| s.last_seen.elapsed() < IDLE);
            m.insert(t.clone(), Session { user: user.into(), csrf: csrf.clone(), last_seen: Instant::now() })
        });
        (t, csrf)
    }

    fn get(&self, token: &str) -> Option<Session> {
        self.with(|m| {
            let s = m.get_mut(token)?;
            if s.last_seen.elapsed() > IDLE {
                m.remove(token);
                return None;
            }
            s.last_seen = Instant::now();
            Some(s.clone())
        })
    }

    pub fn remove(&self, token: &str) {
        self.with(|m| {
            m.remove(token);
        });
    }
}

/// The `Set-Cookie` value of a session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age={}", IDLE.as_secs())
}

pub fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// A refusal, as JSON with a reason.
pub fn refuse(status: StatusCode, why: &str) -> Response {
    (status, Json(serde_json::json!({ "error": why }))).into_response()
}

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: String,
    pub role: Role,
    pub operations: bool,
    /// The session's token (none when the proxy header alone identified the user).
    pub session: Option<String>,
    pub csrf: Option<String>,
}

impl Viewer {
    /// Refuses with 403 unless the viewer has one of `roles` (admin always may).
    #[allow(clippy::result_large_err)]
    pub fn require(&self, roles: &[Role]) -> Result<(), Response> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(refuse(StatusCode::FORBIDDEN, &format!("the {} role may not do this", self.role.as_str())))
        }
    }
}

impl FromRequestParts<Arc<Dashboard>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, d: &Arc<Dashboard>) -> Result<Viewer, Response> {
        let session = cookie_value(parts, COOKIE).and_then(|t| Some((t.to_string(), d.sessions.get(t)?)));
        let proxied = d
            .config
            .proxy_header
            .as_deref()
            .and_then(|h| parts.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let (user, token, csrf) = match (proxied, session) {
            // The proxy's word is final: a session cookie for someone else is ignored.
            (Some(p), Some((t, s))) if s.user == p => (p, Some(t), Some(s.csrf)),
            (Some(p), _) => (p, None, None),
            (None, Some((t, s))) => (s.user, Some(t), Some(s.csrf)),
            (None, None) => return Err(refuse(StatusCode::UNAUTHORIZED, "sign in first")),
        };
        let Some(account) = d.config.users.get(&user) else {
            return Err(refuse(StatusCode::FORBIDDEN, "this user has no dashboard account"));
        };
        let viewer = Viewer { user, role: account.role, operations: account.operations, session: token, csrf };
        // Every state-changing request carries the session's CSRF token in a header
        // that a cross-site form cannot set.
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
            if viewer.csrf.is_none() || sent != viewer.csrf.as_deref() {
                return Err(refuse(StatusCode::FORBIDDEN, "missing or wrong CSRF token"));
            }
        }
        Ok(viewer)
    }
}

/// Checks a local account's password.
pub fn check_password(d: &Dashboard, user: &str, password: &str) -> bool {
    match d.config.users.get(user).and_then(|a| a.password.as_deref()) {
        Some(hash) => verify(hash, password),
        None => {
            // Spend the same time on an unknown user as on a known one.
            let _ = verify(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$wd3OQNTM7jyQ6FsPjQ9vSLPjTA6bSwBkFoMqIw0Xwvw",
                password,
            );
            false
        }
    }
}
