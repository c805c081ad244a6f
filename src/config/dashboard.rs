//! The anti-corruption dashboard's section, `[dashboard]`: its database, sign-in and
//! accounts with their roles and clearance.

use super::reader::Section;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The `[dashboard]` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DashboardConfig {
    pub enabled: bool,
    /// The SQLite database of triage and audit.
    pub db: PathBuf,
    /// A trusted reverse proxy's header naming the signed-in user (single sign-on);
    /// only set this when the proxy strips the header from clients.
    pub proxy_header: Option<String>,
    /// Mark the session cookie `Secure` (keep on: browsers accept it on localhost).
    pub secure_cookies: bool,
    /// Accounts by user name.
    pub users: BTreeMap<String, Account>,
    /// Watch lists shown beside an alert (the entry it names); the live engine's
    /// `[live] watchlists_dir` when unset.
    pub watchlists_dir: Option<PathBuf>,
}

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
}

impl DashboardConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.bool("enabled", &mut self.enabled);
        let mut db = self.db.display().to_string();
        s.string("db", &mut db);
        self.db = db.into();
        s.opt_string("proxy_header", &mut self.proxy_header);
        s.bool("secure_cookies", &mut self.secure_cookies);
        s.opt_path("watchlists_dir", &mut self.watchlists_dir);
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
    Some(Account { password, role: parsed?, operations })
}
