//! Who is asking: local accounts (argon2 password hashes in the configuration) or a
//! trusted reverse proxy's user header (single sign-on), sessions in a secure cookie,
//! CSRF tokens for every state-changing request, and the roles.
//!
//! | role | may |
//! |---|---|
//! | `analyst` | view the board, alerts, timelines and subject histories (members of staff as pseudonyms); acknowledge, escalate, note |
//! | `supervisor` | what an analyst may, by name; assign, close (a second supervisor approves closing red alerts as justified or no further action), reveal identities to analysts |
//! | `auditor` | read the audit trail, nothing else |
//! | `admin` | everything |
//!
//! What an account may see (live operations, itself, the ACU) is [`super::scope`].
//! Sessions end at `session_lifetime` after sign-in, after `session_idle` without a
//! request, at sign-out, and when the user signs in again; a live stream closes with
//! its session.

use super::scope::Scope;
use super::state::Dashboard;
use argon2::{Argon2, PasswordHasher};
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

fn token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[derive(Clone, Debug)]
struct Session {
    user: String,
    csrf: String,
    started: Instant,
    last_seen: Instant,
}

/// Signed-in sessions, in memory: a restart signs everyone out.
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
    lifetime: Duration,
    idle: Duration,
    /// Tells live streams a session has ended (its token).
    ended: tokio::sync::broadcast::Sender<String>,
}

pub const COOKIE: &str = "aw_session";

impl Sessions {
    pub fn new(lifetime: Duration, idle: Duration) -> Sessions {
        Sessions { by_token: Mutex::new(HashMap::new()), lifetime, idle, ended: tokio::sync::broadcast::channel(256).0 }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Session>) -> R) -> R {
        f(&mut self.by_token.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn live(&self, s: &Session) -> bool {
        s.started.elapsed() < self.lifetime && s.last_seen.elapsed() < self.idle
    }

    /// A new session for `user`, ending the user's other sessions: (cookie token, CSRF
    /// token).
    pub fn create(&self, user: &str) -> (String, String) {
        let (t, csrf) = (token(), token());
        let ended = self.with(|m| {
            let ended: Vec<String> =
                m.iter().filter(|(_, s)| s.user == user || !self.live(s)).map(|(k, _)| k.clone()).collect();
            for k in &ended {
                m.remove(k);
            }
            let now = Instant::now();
            m.insert(t.clone(), Session { user: user.into(), csrf: csrf.clone(), started: now, last_seen: now });
            ended
        });
        for k in ended {
            let _ = self.ended.send(k);
        }
        (t, csrf)
    }

    /// The session of `token`, if open; `activity` false for a page's own background
    /// refresh, which must not keep an unattended browser signed in.
    fn get(&self, token: &str, activity: bool) -> Option<Session> {
        let found = self.with(|m| {
            let s = m.get_mut(token)?;
            if s.started.elapsed() >= self.lifetime || s.last_seen.elapsed() >= self.idle {
                m.remove(token);
                return Some(None);
            }
            if activity {
                s.last_seen = Instant::now();
            }
            Some(Some(s.clone()))
        });
        match found {
            Some(Some(s)) => Some(s),
            Some(None) => {
                let _ = self.ended.send(token.to_string());
                None
            }
            None => None,
        }
    }

    /// Whether the session is still open (without counting as activity).
    pub fn is_open(&self, token: &str) -> bool {
        self.with(|m| {
            m.get(token).is_some_and(|s| s.started.elapsed() < self.lifetime && s.last_seen.elapsed() < self.idle)
        })
    }

    /// Ends a session.
    pub fn remove(&self, token: &str) {
        self.with(|m| {
            m.remove(token);
        });
        let _ = self.ended.send(token.to_string());
    }

    /// Tells of each session that ends.
    pub fn endings(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.ended.subscribe()
    }

    /// The cookie's lifetime, the session's.
    pub fn max_age(&self) -> u64 {
        self.lifetime.as_secs()
    }
}

/// The `Set-Cookie` value of a session.
pub fn session_cookie(token: &str, secure: bool, max_age: u64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age={max_age}")
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
    let mut r = (status, Json(serde_json::json!({ "error": why }))).into_response();
    r.extensions_mut().insert(Refused(why.to_string()));
    r
}

/// Why a response refused its request, for the audit trail.
#[derive(Clone, Debug)]
pub struct Refused(pub String);

/// Who sent a request, once the sign-in is known: [`Viewer`]'s extraction fills it, so
/// that a refusal of someone signed in reaches the audit trail
/// ([`crate::dashboard::api::audit_refusals`]).
#[derive(Clone, Debug, Default)]
pub struct Requester(Arc<std::sync::Mutex<Option<(String, &'static str)>>>);

impl Requester {
    fn set(&self, user: &str, role: &'static str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((user.to_string(), role));
    }

    /// The user and role, if the request got as far as naming them.
    pub fn take(&self) -> Option<(String, &'static str)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The signed-in user of a request, with what they may see.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: String,
    pub role: Role,
    pub operations: bool,
    /// Sees members of staff as pseudonyms.
    pub pseudonymous: bool,
    pub scope: Scope,
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

/// The header a page sends on its own periodic requests.
pub const BACKGROUND: &str = "x-accesswatch-background";

impl FromRequestParts<Arc<Dashboard>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, d: &Arc<Dashboard>) -> Result<Viewer, Response> {
        // The board's periodic refresh says so; it is not a person at the screen.
        let activity = !parts.headers.contains_key(BACKGROUND);
        let session = cookie_value(parts, COOKIE).and_then(|t| Some((t.to_string(), d.sessions.get(t, activity)?)));
        // The proxy's header is its word only on a connection from the proxy: from
        // anyone else it is a claim anyone could make.
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let from_proxy = peer.is_some_and(|ip| d.config.trusted_proxies.iter().any(|n| n.contains(ip.to_canonical())));
        let proxied = d
            .config
            .proxy_header
            .as_deref()
            .filter(|_| from_proxy)
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
        let requester = parts.extensions.get::<Requester>().cloned().unwrap_or_default();
        // A name without an account is not written to the trail: the proxy's users
        // without one could fill it at will.
        let Some(account) = d.config.users.get(&user) else {
            return Err(refuse(StatusCode::FORBIDDEN, "this user has no dashboard account"));
        };
        requester.set(&user, account.role.as_str());
        let viewer = Viewer {
            scope: Scope::of(account, &d.config, d.lists.as_ref()),
            pseudonymous: d.config.pseudonymous_roles.contains(&account.role),
            user,
            role: account.role,
            operations: account.operations,
            session: token,
            csrf,
        };
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
