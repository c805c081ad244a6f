//! The anti-corruption dashboard's section, `[dashboard]`: its database, sign-in and
//! accounts with their roles and clearance.

use super::reader::Section;
use crate::time::Span;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `[dashboard]` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DashboardConfig {
    pub enabled: bool,
    /// The SQLite database of triage and audit.
    pub db: PathBuf,
    /// A trusted reverse proxy's header naming the signed-in user (single sign-on),
    /// believed only on connections from `trusted_proxies` (which must be set), and
    /// only when the proxy strips the header from clients.
    pub proxy_header: Option<String>,
    /// Mark the session cookie `Secure` (keep on: browsers accept it on localhost).
    pub secure_cookies: bool,
    /// The bearer token with which a scrape of `/metrics` on the dashboard's listener
    /// gets the series about live operations too (`env:NAME` reads it from the
    /// environment).
    pub metrics_token: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client a sign-in is
    /// throttled by (`crate::dashboard::signin::client_address`).
    pub trusted_proxies: Vec<crate::dashboard::signin::Net>,
    /// Accounts by user name.
    pub users: BTreeMap<String, Account>,
    /// Watch lists shown beside an alert (the entry it names); the live engine's
    /// `[live] watchlists_dir` when unset.
    pub watchlists_dir: Option<PathBuf>,
    /// Units whose members' alerts go only to accounts with `review_acu` (the
    /// anti-corruption unit itself, professional standards).
    pub acu_units: Vec<String>,
    /// An account linked to a staff id also never sees alerts about its own unit.
    pub hide_own_unit: bool,
    /// ... nor about its line manager (`staff.line_manager`).
    pub hide_line_manager: bool,
    /// Roles that see members of staff as pseudonyms until an identity is revealed.
    pub pseudonymous_roles: Vec<Role>,
    /// A reveal needs a second supervisor's approval.
    pub reveal_needs_approval: bool,
    /// Severities whose closure as justified or no further action needs a second
    /// person.
    pub four_eyes: Vec<crate::alert::Severity>,
    /// Failed sign-ins in a row (per account, and per address) before a lockout.
    pub login_max_failures: u32,
    /// How long a lockout lasts.
    pub login_lockout: Span,
    /// A session ends this long after sign-in, active or not.
    pub session_lifetime: Span,
    /// ... or after this long without a request.
    pub session_idle: Span,
    /// Threads that check passwords (argon2 takes about 19 MiB and tens of ms each);
    /// sign-ins beyond what they and their queue hold are refused as busy.
    pub password_workers: usize,
}

/// What a dashboard account may do (see `src/dashboard/auth.rs`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Analyst,
    Supervisor,
    Auditor,
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "analyst" => Some(Role::Analyst),
            "supervisor" => Some(Role::Supervisor),
            "auditor" => Some(Role::Auditor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
}

/// A dashboard account (`[dashboard.users.NAME]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// argon2 PHC string (`accesswatch hash-password`); `None` for a proxy-only account.
    pub password: Option<String>,
    pub role: Role,
    /// Cleared to see alerts on subjects of live operations.
    pub operations: bool,
    /// The member of staff this account belongs to: alerts about them (and, as
    /// configured, their unit and line manager) are never shown to it.
    pub staff_id: Option<String>,
    /// Cleared to review alerts about members of the `acu_units`.
    pub review_acu: bool,
}

impl DashboardConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.bool("enabled", &mut self.enabled);
        let mut db = self.db.display().to_string();
        s.string("db", &mut db);
        self.db = db.into();
        s.opt_string("proxy_header", &mut self.proxy_header);
        s.bool("secure_cookies", &mut self.secure_cookies);
        s.parsed_list("trusted_proxies", &mut self.trusted_proxies, |n| {
            crate::dashboard::signin::Net::parse(n).map_err(|e| e.to_string())
        });
        if self.proxy_header.is_some() && self.trusted_proxies.is_empty() {
            // A header any client can send names whoever the client likes.
            s.error(
                "proxy_header",
                "needs trusted_proxies: the proxies whose header is believed (from anyone else it is ignored)",
            );
            self.proxy_header = None;
        }
        s.opt_string("metrics_token", &mut self.metrics_token);
        if let Some(var) = self.metrics_token.as_deref().and_then(|t| t.strip_prefix("env:")).map(str::to_string) {
            self.metrics_token = std::env::var(&var).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            if self.metrics_token.is_none() {
                s.error("metrics_token", format!("reads ${var}, which is not set"));
            }
        }
        if self.metrics_token.as_deref().is_some_and(|t| t.len() < 16) {
            s.error("metrics_token", "a bearer token of at least 16 characters");
            self.metrics_token = None;
        }
        s.opt_path("watchlists_dir", &mut self.watchlists_dir);
        s.strings("acu_units", &mut self.acu_units);
        s.bool("hide_own_unit", &mut self.hide_own_unit);
        s.bool("hide_line_manager", &mut self.hide_line_manager);
        s.parsed_list("pseudonymous_roles", &mut self.pseudonymous_roles, |r| {
            Role::parse(r).ok_or_else(|| format!("unknown role {r:?}"))
        });
        s.bool("reveal_needs_approval", &mut self.reveal_needs_approval);
        s.parsed_list("four_eyes", &mut self.four_eyes, |v| {
            crate::alert::Severity::parse(v).ok_or_else(|| format!("expected red, amber or green, got {v:?}"))
        });
        s.u32("login_max_failures", 1..=1_000, &mut self.login_max_failures);
        s.span("login_lockout", &mut self.login_lockout);
        if self.login_lockout < Span(1_000) {
            s.error("login_lockout", "at least 1s (shorter turns the sign-in throttle off)");
        }
        s.span("session_lifetime", &mut self.session_lifetime);
        s.span("session_idle", &mut self.session_idle);
        s.usize("password_workers", 1..=64, &mut self.password_workers);
        if let Some(users) = s.table("users") {
            for name in users.keys() {
                let Some(u) = users.table(&name) else {
                    users.error(&name, "expected a table: password, role, operations");
                    continue;
                };
                if let Some(account) = read_account(&u) {
                    self.users.insert(name.clone(), account);
                }
                u.finish();
            }
            users.finish();
        }
    }
}

fn read_account(u: &Section) -> Option<Account> {
    let mut password = None;
    u.opt_string("password", &mut password);
    // "env:NAME": the hash is read from the environment (a Kubernetes secret), not
    // written in the file.
    if let Some(var) = password.as_deref().and_then(|p| p.strip_prefix("env:")).map(str::to_string) {
        match std::env::var(&var) {
            Ok(v) if !v.trim().is_empty() => password = Some(v.trim().to_string()),
            _ => {
                u.error("password", format!("reads ${var}, which is not set"));
                password = None;
            }
        }
    }
    if let Some(p) = &password {
        if argon2::PasswordHash::new(p).is_err() {
            u.error("password", "expected an argon2 hash (make one with `accesswatch hash-password`)");
        }
    }
    let mut role = String::from("analyst");
    u.string("role", &mut role);
    let parsed = Role::parse(&role);
    if parsed.is_none() {
        u.error("role", format!("expected analyst, supervisor, auditor or admin, got {role:?}"));
    }
    let mut operations = false;
    u.bool("operations", &mut operations);
    let mut staff_id = None;
    u.opt_string("staff_id", &mut staff_id);
    let staff_id = staff_id.map(|id| id.to_ascii_uppercase());
    let mut review_acu = false;
    u.bool("review_acu", &mut review_acu);
    Some(Account { password, role: parsed?, operations, staff_id, review_acu })
}
