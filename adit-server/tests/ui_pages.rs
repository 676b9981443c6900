//! The HTML pages in-process (no browser): login for browsers, redirects to the login page,
//! CSRF on forms, jobs of other users hidden, assets with cache headers, sample sheets, and
//! the active-group switch. The browser flows are in `ui_browser.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use adit_server::Config;
use adit_server::accounts::{self, NewUser, Permission, User};
use adit_server::db::Db;
use adit_server::jobs::{JobKind, NewJob, NewTask};
use adit_server::web::{AppState, app};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jobs_support::*;
use tower::ServiceExt;

fn state(db: &Db, t: &TestDb) -> AppState {
    let config = Config::load_from(None, |key| match key {
        "ADIT_DATA_DIR" => Some(t.data_dir().display().to_string()),
        "ADIT_DATABASE_URL" => Some(t.url.clone()),
        _ => None,
    })
    .unwrap();
    AppState::new(db.clone(), config)
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(
    state: &AppState,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::ACCEPT, "text/html,application/xhtml+xml");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let body = match form {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    let response = app(state.clone())
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn user(db: &Db, name: &str) -> User {
    accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: "pw-of-someone".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Logs in through the HTML form; returns the Cookie header value and the CSRF token.
async fn login(state: &AppState, name: &str) -> (String, String) {
    let a = send(
        state,
        "POST",
        "/login/",
        None,
        Some(&format!(
            "username={name}&password=pw-of-someone&next=%2Fjobs%2F"
        )),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.headers[header::LOCATION], "/jobs/");
    let mut cookies = Vec::new();
    let mut csrf = String::new();
    for value in a.headers.get_all(header::SET_COOKIE) {
        let pair = value
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        if let Some(token) = pair.strip_prefix("csrftoken=") {
            csrf = token.to_owned();
        }
        cookies.push(pair);
    }
    (cookies.join("; "), csrf)
}

#[tokio::test]
async fn pages_need_a_session_and_forms_need_the_csrf_token() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = state(&db, &t);
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;

    // Without a session: to the login page, remembering where to go.
    let a = send(&state, "GET", "/jobs/?status=SU", None, None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(
        a.headers[header::LOCATION],
        "/login/?next=/jobs/%3Fstatus%3DSU"
    );
    let a = send(&state, "GET", "/login/?next=//evil.example/", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    // (minijinja escapes `/` as `&#x2f;`.)
    assert!(
        a.body.contains(r#"name="next" value="&#x2f;""#),
        "{}",
        a.body
    );

    // A wrong password from a browser: the form again, with the error, 401.
    let a = send(
        &state,
        "POST",
        "/login/",
        None,
        Some("username=alice&password=nope"),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Invalid username or password."));
    assert!(a.headers.get(header::SET_COOKIE).is_none());

    let (cookie, csrf) = login(&state, "alice").await;
    let a = send(&state, "GET", "/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("Welcome, alice"));

    // A job of Bob's is not found for Alice; a job of hers is shown.
    let jobs = t.jobs().await;
    let node = add_node(&db, &folder_node("OUT", &t.data_dir().join("out"))).await;
    let bobs = NewJob::new(JobKind::SelectiveTransfer, bob.id.0, node, Some(node))
        .task(NewTask::transfer("P1", "1.2.3", &[]));
    let bobs = jobs.create(&bobs, false).await.unwrap();
    let hers = NewJob::new(JobKind::SelectiveTransfer, alice.id.0, node, Some(node))
        .task(NewTask::transfer("P2", "1.2.4", &[]));
    let hers = jobs.create(&hers, false).await.unwrap();
    let a = send(
        &state,
        "GET",
        &format!("/jobs/{bobs}/"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = send(
        &state,
        "GET",
        &format!("/jobs/{hers}/"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("Unverified"), "{}", a.body);
    // Her unverified job may be deleted by her, not verified (staff only).
    assert!(a.body.contains(r#"data-action="delete""#));
    assert!(!a.body.contains(r#"data-action="verify""#));
    let a = send(&state, "GET", "/jobs/", Some(&cookie), None).await;
    assert!(a.body.contains(&format!(r#"id="job-{hers}""#)));
    assert!(!a.body.contains(&format!(r#"id="job-{bobs}""#)));

    // An action without the CSRF token is refused and changes nothing; with it, it runs.
    let path = format!("/jobs/{hers}/delete/");
    let a = send(&state, "POST", &path, Some(&cookie), Some("")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(jobs.job(hers).await.unwrap().is_some());
    let a = send(
        &state,
        "POST",
        &path,
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(jobs.job(hers).await.unwrap().is_none());
    // Bob's job cannot be acted on either.
    let a = send(
        &state,
        "POST",
        &format!("/jobs/{bobs}/delete/"),
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(jobs.job(bobs).await.unwrap().is_some());

    // Pages that need a permission say which.
    let a = send(&state, "GET", "/selective-transfer/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("add_selectivetransferjob"));
    let a = send(&state, "GET", "/admin/nodes/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Logout needs the token too, then the session is gone.
    let a = send(&state, "POST", "/accounts/logout/", Some(&cookie), Some("")).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &state,
        "POST",
        "/accounts/logout/",
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = send(&state, "GET", "/jobs/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    db.close().await;
}

#[tokio::test]
async fn active_group_switch_changes_permissions() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = state(&db, &t);
    let alice = user(&db, "alice").await;
    let radiology = accounts::groups::create(&db, "radiology").await.unwrap();
    let research = accounts::groups::create(&db, "research").await.unwrap();
    let foreign = accounts::groups::create(&db, "foreign").await.unwrap();
    for g in [&radiology, &research] {
        accounts::groups::add_member(&db, g.id, alice.id)
            .await
            .unwrap();
    }
    accounts::groups::grant(&db, research.id, Permission::AddBatchTransferJob)
        .await
        .unwrap();
    accounts::users::set_active_group(&db, &alice, radiology.id)
        .await
        .unwrap();
    let (cookie, csrf) = login(&state, "alice").await;
    let a = send(&state, "GET", "/batch-transfer/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = send(
        &state,
        "POST",
        "/accounts/active-group/",
        Some(&cookie),
        Some(&format!(
            "csrfmiddlewaretoken={csrf}&group={}",
            research.id.0
        )),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let a = send(&state, "GET", "/batch-transfer/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // A group she is not in is refused.
    let a = send(
        &state,
        "POST",
        "/accounts/active-group/",
        Some(&cookie),
        Some(&format!(
            "csrfmiddlewaretoken={csrf}&group={}",
            foreign.id.0
        )),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let flash = a.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        flash.starts_with("flash=danger%7CYou%20are%20not%20a%20member"),
        "{flash}"
    );
    // The flash cookie shows the message once on the next page.
    let with_flash = format!("{cookie}; {}", flash.split(';').next().unwrap());
    let a = send(&state, "GET", "/accounts/profile/", Some(&with_flash), None).await;
    assert!(
        a.body.contains("You are not a member of that group."),
        "{}",
        a.body
    );
    assert!(
        a.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("flash=; Max-Age=0")
    );
    assert!(a.body.contains("add_batchtransferjob"));
    db.close().await;
}

#[tokio::test]
async fn assets_are_cached_and_samples_download() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = state(&db, &t);
    let a = send(&state, "GET", "/login/", None, None).await;
    let start = a.body.find("/static/").unwrap();
    let url: String = a.body[start..].chars().take_while(|c| *c != '"').collect();
    assert!(url.ends_with("/bootstrap.min.css"), "{url}");
    let css = send(&state, "GET", &url, None, None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(
        css.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(css.body.contains("Bootstrap"));
    // Another hash (an old or made-up version) is not served.
    let a = send(
        &state,
        "GET",
        "/static/000000000000/bootstrap.min.css",
        None,
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = send(&state, "GET", "/batch-transfer/sample.csv", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body
            .trim_start_matches('\u{feff}')
            .starts_with("PatientID,StudyInstanceUID"),
        "{}",
        a.body
    );
    assert!(
        a.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("batch_transfer_sample.csv")
    );
    let a = send(&state, "GET", "/batch-query/sample.xlsx", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.starts_with("PK"));
    db.close().await;
}
