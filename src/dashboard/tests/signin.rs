//! Sign-in behind a reverse proxy: one stranger's failures do not lock everyone out.

use super::*;

/// A sign-in as a proxy at `peer` forwards it for `client`.
async fn sign_in(f: &Fixture, peer: &str, client: &str, user: &str, password: &str) -> StatusCode {
    let body = json!({"user": user, "password": password}).to_string();
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/login")
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(body))
        .unwrap();
    let peer: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    f.router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_strangers_failures_lock_only_the_stranger() {
    let f = fixture("trusted_proxies = [\"127.0.0.0/8\"]\nlogin_max_failures = 1");
    assert_eq!(sign_in(&f, "127.0.0.1", "203.0.113.9", "nobody", "guess").await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&f, "127.0.0.1", "203.0.113.9", "ana", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in(&f, "127.0.0.1", "198.51.100.7", "ana", PASSWORD).await, StatusCode::OK, "another client");
    // A client cannot name itself someone else: the proxy's own entry is the last.
    let spoof = "198.51.100.7, 203.0.113.9";
    assert_eq!(sign_in(&f, "127.0.0.1", spoof, "sup", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);

    // Without the proxy trusted, every client behind it is one address.
    let f = fixture("login_max_failures = 1");
    assert_eq!(sign_in(&f, "127.0.0.1", "203.0.113.9", "nobody", "guess").await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&f, "127.0.0.1", "198.51.100.7", "ana", PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
}
