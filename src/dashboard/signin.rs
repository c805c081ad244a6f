//! Sign-in that cannot be used to guess passwords or to exhaust the machine.
//!
//! - Throttling, per account and per address: after a failure the next attempt is
//!   heard only after a wait that doubles with each failure in a row; after
//!   `login_max_failures` in a row the account (or address) is locked for
//!   `login_lockout`. Unknown user names share one account slot, so the table stays as
//!   small as the accounts, and addresses are kept to a bounded number.
//! - Passwords are checked on a fixed pool of threads (`password_workers`) with a
//!   short queue: argon2 takes about 19 MiB and tens of milliseconds a check, so a
//!   flood of attempts waits or is refused as busy instead of starting a thread each.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a sign-in was refused (the metric's label).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong user name or password.
    Wrong,
    /// Too soon after a failure, or locked out.
    Throttled,
    /// The password pool is full.
    Busy,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Wrong => "wrong_password",
            Refusal::Throttled => "throttled",
            Refusal::Busy => "busy",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    /// Failures in a row.
    count: u32,
    /// No attempt is heard before this.
    until: Instant,
}

/// Failures per account and per address.
pub struct Throttle {
    max: u32,
    lockout: Duration,
    accounts: Mutex<HashMap<String, Failures>>,
    addresses: Mutex<HashMap<IpAddr, Failures>>,
}

/// Addresses remembered at most (the oldest waits are dropped first).
const MAX_ADDRESSES: usize = 10_000;

impl Throttle {
    pub fn new(max: u32, lockout: Duration) -> Throttle {
        Throttle {
            max: max.max(1),
            lockout,
            accounts: Mutex::new(HashMap::new()),
            addresses: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an attempt for `account` from `addr` may be heard now.
    pub fn allows(&self, account: &str, addr: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let open = |f: Option<&Failures>| f.is_none_or(|f| now >= f.until);
        open(self.accounts.lock().unwrap_or_else(|e| e.into_inner()).get(account))
            && addr.is_none_or(|a| open(self.addresses.lock().unwrap_or_else(|e| e.into_inner()).get(&a)))
    }

    fn wait(&self, count: u32) -> Duration {
        if count >= self.max {
            self.lockout
        } else {
            Duration::from_secs(1u64 << (count - 1).min(16)).min(self.lockout)
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, account: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let bump = |f: &mut Failures| {
            f.count += 1;
            f.until = now + self.wait(f.count);
        };
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        bump(accounts.entry(account.to_string()).or_insert(Failures { count: 0, until: now }));
        drop(accounts);
        if let Some(a) = addr {
            let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
            if addresses.len() >= MAX_ADDRESSES && !addresses.contains_key(&a) {
                if let Some(oldest) = addresses.iter().min_by_key(|(_, f)| f.until).map(|(k, _)| *k) {
                    addresses.remove(&oldest);
                }
            }
            bump(addresses.entry(a).or_insert(Failures { count: 0, until: now }));
        }
    }

    /// Takes back a failure recorded for an attempt that was never checked (the
    /// password pool was busy): a flood that keeps the pool full must not lock out the
    /// accounts whose right passwords it turned away. With no failure left the attempt
    /// is heard at once; with earlier ones, their wait stands.
    pub fn unchecked(&self, account: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let undo = |f: &mut Failures| {
            f.count = f.count.saturating_sub(1);
            // No longer than the failures left earn (the one taken back may have
            // reached the lockout).
            f.until = if f.count == 0 { now } else { f.until.min(now + self.wait(f.count)) };
        };
        if let Some(f) = self.accounts.lock().unwrap_or_else(|e| e.into_inner()).get_mut(account) {
            undo(f);
        }
        if let Some(a) = addr {
            if let Some(f) = self.addresses.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&a) {
                undo(f);
            }
        }
    }

    /// Records a success: the account's and the address's failures are forgotten.
    pub fn succeeded(&self, account: &str, addr: Option<IpAddr>) {
        self.accounts.lock().unwrap_or_else(|e| e.into_inner()).remove(account);
        if let Some(a) = addr {
            self.addresses.lock().unwrap_or_else(|e| e.into_inner()).remove(&a);
        }
    }
}

/// A network a trusted reverse proxy sends from: an address, or an address and a
/// prefix length (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

/// Why a `trusted_proxies` entry is not a network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{0:?} is not an address or a network (10.0.0.0/8)")]
    NotAnAddress(String),
    #[error("{0:?}: a bad prefix length")]
    BadPrefix(String),
    #[error("{0:?} trusts (nearly) every address: any client could send the header and be whoever it names")]
    TooWide(String),
}

impl Net {
    pub fn parse(s: &str) -> Result<Net, NetError> {
        let (addr, prefix) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr = addr.parse::<IpAddr>().map_err(|_| NetError::NotAnAddress(s.to_string()))?.to_canonical();
        let most = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(|| NetError::BadPrefix(s.to_string()))?,
        };
        // A proxy's network is a site's, not the internet: `0.0.0.0/0` (or nearly)
        // would let any client send the header and be whoever it names (a probe).
        if prefix < if addr.is_ipv4() { 8 } else { 7 } {
            return Err(NetError::TooWide(s.to_string()));
        }
        Ok(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> Option<u128> {
            match (self.addr, ip.to_canonical()) {
                (IpAddr::V4(_), IpAddr::V4(v)) => Some(u32::from(v) as u128),
                (IpAddr::V6(_), IpAddr::V6(v)) => Some(u128::from(v)),
                _ => None,
            }
        };
        let width = if self.addr.is_ipv4() { 32 } else { 128 };
        let (Some(net), Some(ip)) = (bits(self.addr), bits(ip)) else { return false };
        let shift = width - self.prefix as u32;
        shift >= 128 || (net >> shift) == (ip >> shift)
    }
}

/// A hop of `X-Forwarded-For`: an address, perhaps with a port (`203.0.113.9:5123`,
/// `[2001:db8::1]:443`), IPv4 written as IPv6 taken as IPv4.
fn hop_address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    let ip = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))?;
    Some(ip.to_canonical())
}

/// The address a sign-in is throttled by: the peer's, unless the peer is a trusted
/// reverse proxy, in which case the nearest address in `X-Forwarded-For` (every line
/// of it, in order) that is not itself a trusted proxy: the proxy appends the address
/// it saw, and what a client wrote before that is not believed. Behind a proxy every
/// client shares its address, and one stranger's failures would lock every account
/// out.
pub fn client_address(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[Net]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.iter().any(|n| n.contains(peer)) {
        return Some(peer);
    }
    for hop in forwarded_for.iter().rev().flat_map(|line| line.rsplit(',')) {
        match hop_address(hop) {
            Some(ip) if trusted.iter().any(|n| n.contains(ip)) => continue,
            Some(ip) => return Some(ip),
            // A hop that is not an address: nothing before it can be trusted.
            None => return Some(peer),
        }
    }
    Some(peer)
}

/// Whether `password` matches the argon2 `hash` (slow by design: run it on the
/// password pool, never on a request's own thread).
pub fn verify(hash: &str, password: &str) -> bool {
    use argon2::{Argon2, PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash for unknown users, so they cost the same time as known ones.
pub const DECOY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$wd3OQNTM7jyQ6FsPjQ9vSLPjTA6bSwBkFoMqIw0Xwvw";

type Job = (String, String, tokio::sync::oneshot::Sender<bool>);

/// A fixed pool of threads that check passwords.
pub struct PasswordPool {
    jobs: Sender<Job>,
}

/// Checks that may wait for a thread of the pool.
const QUEUE: usize = 16;

impl PasswordPool {
    pub fn new(workers: usize) -> PasswordPool {
        let (jobs, rx): (Sender<Job>, Receiver<Job>) = crossbeam_channel::bounded(QUEUE);
        for i in 0..workers.max(1) {
            let rx = rx.clone();
            let _ = std::thread::Builder::new().name(format!("password-{i}")).spawn(move || {
                for (hash, password, reply) in rx {
                    let _ = reply.send(verify(&hash, &password));
                }
            });
        }
        PasswordPool { jobs }
    }

    /// Checks `password` against `hash`; `None` when the pool and its queue are full.
    pub async fn check(&self, hash: String, password: String) -> Option<bool> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match self.jobs.try_send((hash, password, tx)) {
            Ok(()) => rx.await.ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sign-in the busy pool turned away was never checked: it leaves no failure
    /// behind, so the right password is heard at once after it; earlier failures stand.
    #[test]
    fn an_attempt_turned_away_as_busy_leaves_no_failure() {
        let t = Throttle::new(3, Duration::from_secs(900));
        let addr: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        for _ in 0..5 {
            t.failed("ana", addr);
            t.unchecked("ana", addr);
        }
        assert!(t.allows("ana", addr), "five busy refusals lock nothing");
        t.failed("ana", addr);
        t.failed("ana", addr);
        t.unchecked("ana", addr);
        assert!(!t.allows("ana", addr), "the failure checked before still waits");
        // Two real failures, then a busy refusal that reached the lockout (3): taken
        // back, the wait is the two failures' own, not the lockout.
        let t = Throttle::new(3, Duration::from_secs(900));
        t.failed("ana", addr);
        t.failed("ana", addr);
        t.failed("ana", addr);
        t.unchecked("ana", addr);
        let until = t.accounts.lock().unwrap()["ana"].until;
        assert!(until <= Instant::now() + t.wait(2), "locked out by a busy refusal");
    }

    #[test]
    fn waits_double_and_then_lock() {
        let t = Throttle::new(3, Duration::from_secs(900));
        let addr: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        assert!(t.allows("ana", addr));
        t.failed("ana", addr);
        assert!(!t.allows("ana", None), "a wait after a failure");
        assert!(!t.allows("sup", addr), "the address waits too");
        assert!(t.allows("sup", None));
        assert_eq!(t.wait(1), Duration::from_secs(1));
        assert_eq!(t.wait(2), Duration::from_secs(2));
        assert_eq!(t.wait(3), Duration::from_secs(900), "locked");
        t.succeeded("ana", addr);
        assert!(t.allows("ana", addr));
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_nearest_untrusted_forwarded_address() {
        let trusted = [Net::parse("10.0.0.0/8").unwrap(), Net::parse("127.0.0.1").unwrap()];
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        let proxy = ip("10.1.2.3");
        assert_eq!(client_address(proxy, &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // What the client wrote before the proxy's own entry is not believed, on the
        // same line or on a line of its own before the proxy's.
        assert_eq!(client_address(proxy, &["198.51.100.1, 203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(proxy, &["198.51.100.1", "203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(proxy, &["203.0.113.9, 10.9.9.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(proxy, &["junk, 10.9.9.9"], &trusted), proxy);
        assert_eq!(client_address(proxy, &[], &trusted), proxy);
        // Ports, and IPv4 written as IPv6 (a listener on [::]).
        assert_eq!(client_address(proxy, &["203.0.113.9:5123"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(proxy, &["[2001:db8::1]:443"], &trusted), ip("2001:db8::1"));
        assert_eq!(client_address(ip("::ffff:10.1.2.3"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // From an address that is not a trusted proxy, the header is ignored.
        assert_eq!(client_address(ip("203.0.113.50"), &["10.0.0.1"], &trusted), ip("203.0.113.50"));
        assert!(Net::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(!Net::parse("10.0.0.0/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(Net::parse("8.0.0.0/8").unwrap().contains("8.8.8.8".parse().unwrap()));
        // The whole internet (or nearly) is no proxy's network (a probe: any client
        // became any account).
        for wide in ["0.0.0.0/0", "0.0.0.0/4", "::/0", "::/6"] {
            assert!(matches!(Net::parse(wide), Err(NetError::TooWide(_))), "{wide}");
        }
        assert!(Net::parse("10.0.0.0/33").is_err() && Net::parse("proxy").is_err());
    }
}
