//! The axum app in-process (`oneshot`, no sockets) on both backends: `/health/`, every
//! token authentication case on `/api/user/`, and browser sessions (`/login/`, `/logout/`,
//! the session cookie in place of a token, CSRF).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use adit_server::accounts::{self, NewUser, Permission, User};
use adit_server::db::Db;
use adit_server::web::{AppState, app};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use common::TestDb;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn call(
    state: &AppState,
    path: &str,
    authorization: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().uri(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let www = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, www, json)
}

async fn user(db: &Db, name: &str) -> User {
    accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: "pw".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn health_reports_the_database(t: TestDb) {
    let db = t.db().await;
    let state = t.app_state(&db);
    let (status, _, body) = call(&state, "/health/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["database"], "ok");
    assert_eq!(body["status"], "ok");

    db.close().await;
    let (status, _, body) = call(&state, "/health/", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "error");
    assert!(
        body["database"].as_str().unwrap().contains("ping"),
        "{body}"
    );
}

async fn token_authentication_cases(t: TestDb) {
    let db = t.db().await;
    let state = t.app_state(&db);
    let alice = user(&db, "alice").await;
    let group = accounts::groups::create(&db, "radiology").await.unwrap();
    let other = accounts::groups::create(&db, "research").await.unwrap();
    accounts::groups::add_member(&db, group.id, alice.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, other.id, alice.id)
        .await
        .unwrap();
    accounts::groups::grant(&db, group.id, Permission::CanQuery)
        .await
        .unwrap();
    accounts::groups::grant(&db, other.id, Permission::CanStore)
        .await
        .unwrap();
    let token = accounts::tokens::create(&db, &alice, "", None)
        .await
        .unwrap()
        .token;

    let (status, www, body) = call(&state, "/api/user/", Some(&format!("Token {token}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(www.is_none());
    assert_eq!(body["username"], "alice");
    assert_eq!(body["groups"], serde_json::json!(["radiology", "research"]));
    assert_eq!(body["active_group"], "radiology");
    assert_eq!(body["permissions"], serde_json::json!(["can_query"]));
    assert_eq!(body["is_superuser"], false);

    let unauthorized = |status: StatusCode, www: Option<String>, body: &Value, detail: &str| {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(www.as_deref(), Some("Token"));
        assert_eq!(body["detail"], detail);
    };
    let (s, w, b) = call(&state, "/api/user/", None).await;
    unauthorized(s, w, &b, "Authentication credentials were not provided.");
    let (s, w, b) = call(&state, "/api/user/", Some(&format!("Bearer {token}"))).await;
    unauthorized(s, w, &b, "Invalid token header.");
    let (s, w, b) = call(&state, "/api/user/", Some("Token")).await;
    unauthorized(s, w, &b, "Invalid token header.");
    let (s, w, b) = call(&state, "/api/user/", Some("Token abc")).await;
    unauthorized(s, w, &b, "Invalid token header.");
    let (s, w, b) = call(
        &state,
        "/api/user/",
        Some(&format!("Token {}", token.to_uppercase())),
    )
    .await;
    unauthorized(s, w, &b, "Invalid token header.");
    let (s, w, b) = call(
        &state,
        "/api/user/",
        Some(&format!("Token {}", "a".repeat(40))),
    )
    .await;
    unauthorized(s, w, &b, "Invalid token.");

    let expired =
        accounts::tokens::create(&db, &alice, "", Some(Utc::now() - Duration::minutes(1)))
            .await
            .unwrap()
            .token;
    let (s, w, b) = call(&state, "/api/user/", Some(&format!("Token {expired}"))).await;
    unauthorized(s, w, &b, "Token has expired.");

    // The scheme is case-insensitive, as in DRF.
    let (s, _, _) = call(&state, "/api/user/", Some(&format!("token {token}"))).await;
    assert_eq!(s, StatusCode::OK);

    accounts::users::set_active(&db, alice.id, false)
        .await
        .unwrap();
    let (s, w, b) = call(&state, "/api/user/", Some(&format!("Token {token}"))).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(w.is_none());
    assert_eq!(b["detail"], "User inactive or deleted.");

    let root = accounts::users::create(
        &db,
        &NewUser {
            username: "root".into(),
            password: "pw".into(),
            is_superuser: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let root_token = accounts::tokens::create(&db, &root, "", None)
        .await
        .unwrap()
        .token;
    let (s, _, b) = call(&state, "/api/user/", Some(&format!("Token {root_token}"))).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["permissions"].as_array().unwrap().len(),
        Permission::ALL.len()
    );
    assert_eq!(b["active_group"], Value::Null);

    let (s, _, b) = call(&state, "/no/such/route", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(b["detail"], "Not found.");
}

/// What [`send`] got back.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

impl Answer {
    /// The `Set-Cookie` header for cookie `name`.
    fn set_cookie(&self, name: &str) -> String {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.headers))
    }

    /// The value of cookie `name` as set.
    fn cookie(&self, name: &str) -> String {
        let set = self.set_cookie(name);
        let pair = set.split(';').next().unwrap();
        pair.split_once('=').unwrap().1.to_owned()
    }
}

async fn send(
    state: &AppState,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app(state.clone())
        .oneshot(request.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        json,
    }
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const JSON: (&str, &str) = ("content-type", "application/json");

async fn browser_sessions(t: TestDb) {
    let db = t.db().await;
    let state = t.app_state(&db);
    let bob = user(&db, "bob").await;

    // Wrong password and unknown user: 401 JSON; malformed: 400.
    let a = send(
        &state,
        "POST",
        "/login/",
        &[FORM],
        "username=bob&password=nope",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);
    assert_eq!(a.json["detail"], "Invalid username or password.");
    assert!(a.headers.get(header::SET_COOKIE).is_none());
    let a = send(
        &state,
        "POST",
        "/login/",
        &[JSON],
        r#"{"username":"eve","password":"pw"}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);
    let a = send(&state, "POST", "/login/", &[JSON], r#"{"username":"bob"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.json);

    // Form login sets an HttpOnly, SameSite=Lax session cookie and a readable CSRF cookie.
    let a = send(
        &state,
        "POST",
        "/login/",
        &[FORM],
        "username=bob&password=pw",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["username"], "bob");
    let session_cookie = a.set_cookie("sessionid");
    assert!(session_cookie.contains("; HttpOnly"), "{session_cookie}");
    assert!(
        session_cookie.contains("; SameSite=Lax"),
        "{session_cookie}"
    );
    assert!(session_cookie.contains("; Path=/"), "{session_cookie}");
    let csrf_cookie = a.set_cookie("csrftoken");
    assert!(!csrf_cookie.contains("HttpOnly"), "{csrf_cookie}");
    let key = a.cookie("sessionid");
    let csrf = a.cookie("csrftoken");
    assert_eq!(key.len(), 64);
    assert_eq!(a.json["csrf_token"], csrf.as_str());
    // Only the SHA-256 of the session id is stored.
    let stored: String = adit_server::db_dispatch!(&db, pool =>
        sqlx::query_scalar("SELECT key_sha256 FROM sessions").fetch_one(pool).await.unwrap());
    assert_ne!(stored, key);
    assert_eq!(stored.len(), 64);

    // The cookie authenticates like a token.
    let cookies = format!("sessionid={key}; csrftoken={csrf}");
    let a = send(&state, "GET", "/api/user/", &[("cookie", &cookies)], "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert_eq!(a.json["username"], "bob");
    let a = send(
        &state,
        "GET",
        "/api/user/",
        &[("cookie", &format!("sessionid={}", "0".repeat(64)))],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json["detail"], "Invalid session.");

    // CSRF: state-changing requests with a session need X-CSRFToken matching the cookie.
    let stow = "/api/dicom-web/NO-SUCH-AE/stowrs/studies";
    let a = send(&state, "POST", stow, &[("cookie", &cookies)], "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
    assert_eq!(a.json["detail"], "CSRF Failed: CSRF token missing.");
    let wrong = "f".repeat(64);
    let a = send(
        &state,
        "POST",
        stow,
        &[("cookie", &cookies), ("x-csrftoken", &wrong)],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
    assert_eq!(a.json["detail"], "CSRF Failed: CSRF token incorrect.");
    let a = send(
        &state,
        "POST",
        stow,
        &[("cookie", &cookies), ("x-csrftoken", &csrf)],
        "",
    )
    .await;
    assert_ne!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
    assert_ne!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);

    // Logout needs the CSRF header, then ends the session and clears the cookies.
    let a = send(&state, "POST", "/logout/", &[("cookie", &cookies)], "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
    let a = send(
        &state,
        "POST",
        "/logout/",
        &[("cookie", &cookies), ("x-csrftoken", &csrf)],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    assert!(a.set_cookie("sessionid").contains("Max-Age=0"));
    let a = send(&state, "GET", "/api/user/", &[("cookie", &cookies)], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);

    // An expired session gives 401 and is deleted.
    let expired = accounts::sessions::create(&db, &bob).await.unwrap();
    let past = Utc::now() - Duration::minutes(1);
    adit_server::db_dispatch!(&db, pool =>
        sqlx::query("UPDATE sessions SET expires = $1").bind(past).execute(pool).await.unwrap().rows_affected());
    let a = send(
        &state,
        "GET",
        "/api/user/",
        &[("cookie", &format!("sessionid={}", expired.key))],
        "",
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.json);
    assert_eq!(a.json["detail"], "Invalid session.");
    let left: i64 = adit_server::db_dispatch!(&db, pool =>
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(pool).await.unwrap());
    assert_eq!(left, 0);

    // JSON login works too; an inactive user with the right password gets 403, and an
    // existing session of a deactivated user stops working.
    let a = send(
        &state,
        "POST",
        "/login/",
        &[JSON],
        r#"{"username":"bob","password":"pw"}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.json);
    let cookies = format!("sessionid={}", a.cookie("sessionid"));
    accounts::users::set_active(&db, bob.id, false)
        .await
        .unwrap();
    let a = send(
        &state,
        "POST",
        "/login/",
        &[FORM],
        "username=bob&password=pw",
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
    assert_eq!(a.json["detail"], "User inactive or deleted.");
    let a = send(&state, "GET", "/api/user/", &[("cookie", &cookies)], "").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.json);
}

both_backends! {
    health_reports_the_database => health_sqlite, health_postgres;
    token_authentication_cases => token_auth_sqlite, token_auth_postgres;
    browser_sessions => sessions_sqlite, sessions_postgres;
}
