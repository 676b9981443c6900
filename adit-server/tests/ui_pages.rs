//! The HTML pages in-process (no browser): login for browsers, redirects to the login page,
//! CSRF on forms, jobs of other users hidden, assets with cache headers, sample sheets, and
//! the active-group switch, the staff admin pages (audit log, overview, users, groups) and
//! their forms (accounts, node access, announcement, maintenance mode, mail to all users).
//! The browser flows are in `ui_browser.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod jobs_support;

use adit_core::model::{AeTitle, DimseServer, FolderNode, Node};
use adit_server::accounts::{self, NewUser, Permission, User};
use adit_server::audit;
use adit_server::db::Db;
use adit_server::jobs::{JobKind, NewJob, NewTask};
use adit_server::web::{AppState, app};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use jobs_support::*;
use tower::ServiceExt;

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
    let state = t.app_state(&db);
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
    // The action is in the audit log, by her; the refused one is not.
    let filter = audit::Filter {
        action: Some(audit::Action::JobAction),
        ..Default::default()
    };
    let (entries, total) = audit::list(&db, &filter, 0, 10).await.unwrap();
    assert_eq!(total, 1, "{entries:?}");
    assert_eq!(entries[0].username, "alice");
    assert_eq!(entries[0].detail, format!("job {hers}: delete"));
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
    let state = t.app_state(&db);
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
    let state = t.app_state(&db);
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

async fn staff(db: &Db, name: &str) -> User {
    accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: "pw-of-someone".into(),
            is_staff: true,
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The text of the table row with `id` (from its `<tr` to its `</tr>`).
fn row<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body
        .find(&format!(r#"<tr id="{id}""#))
        .unwrap_or_else(|| panic!("no row {id} in {body}"));
    let end = start + body[start..].find("</tr>").unwrap();
    &body[start..end]
}

/// The numbers in the `text-end` cells of `row`, in order.
fn numbers(row: &str) -> Vec<i64> {
    row.split(r#"class="text-end">"#)
        .skip(1)
        .map(|cell| cell.split('<').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn admin_audit_log_lists_and_filters_entries() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = t.app_state(&db);
    let admin = staff(&db, "admin").await;
    let alice = user(&db, "alice").await;
    // Logging in writes `login` entries; one more with a recognizable detail.
    let (alice_cookie, _) = login(&state, "alice").await;
    let (cookie, _) = login(&state, "admin").await;
    audit::record(
        &db,
        &audit::Event::new(audit::Action::JobAction)
            .by(&alice)
            .detail("cancel of job 4711"),
    )
    .await
    .unwrap();

    // A C-ECHO from the nodes page to a loopback port nobody listens on fails, and is logged.
    let port = adit_testkit::net::free_port().unwrap();
    let server = DimseServer::new(
        AeTitle::new("NOBODY").unwrap(),
        "127.0.0.1".to_owned(),
        port.try_into().unwrap(),
    );
    let closed = add_node(&db, &Node::dimse("CLOSED", server)).await;
    let (cookie_for_echo, csrf) = login(&state, "admin").await;
    let a = send(
        &state,
        "POST",
        &format!("/admin/nodes/{closed}/echo/"),
        Some(&cookie_for_echo),
        Some(&format!("csrfmiddlewaretoken={csrf}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);

    // Not for plain users.
    let a = send(&state, "GET", "/admin/audit/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(!a.body.contains("cancel of job 4711"));

    let a = send(&state, "GET", "/admin/audit/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("cancel of job 4711"), "{}", a.body);
    assert!(a.body.contains("<td>login</td>"), "{}", a.body);
    assert!(a.body.contains(r#"href="/admin/audit/""#), "no nav link");
    let at = a
        .body
        .find("<td>node_echo</td>")
        .expect("no node_echo entry");
    let start = a.body[..at].rfind("<tr").unwrap();
    let echo = &a.body[start..start + a.body[start..].find("</tr>").unwrap()];
    assert!(
        echo.contains("<td>node_echo</td>") && echo.contains("<td>CLOSED</td>"),
        "{echo}"
    );
    assert!(echo.contains("failure"), "{echo}");
    // (minijinja escapes `/` in attributes as `&#x2f;`.)
    let body = a.body.replace("&#x2f;", "/");
    assert!(
        body.contains(r#"id="audit-csv" href="/api/v1/audit.csv""#),
        "{body}"
    );

    // By user and action: only Alice's job action, and the CSV link carries the filter.
    let a = send(
        &state,
        "GET",
        "/admin/audit/?user=alice&action=job_action",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("cancel of job 4711"));
    assert!(!a.body.contains("<td>login</td>"), "{}", a.body);
    let csv = format!(
        "/api/v1/audit.csv?user={}&amp;action=job_action",
        alice.id.0
    );
    let body = a.body.replace("&#x2f;", "/");
    assert!(body.contains(&csv), "{body}");
    // The link works with the session and has the same entries.
    let a = send(
        &state,
        "GET",
        &csv.replace("&amp;", "&"),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("cancel of job 4711"), "{}", a.body);
    assert!(!a.body.contains(",login,"), "{}", a.body);
    let a = send(
        &state,
        "GET",
        "/admin/audit/?user=admin",
        Some(&cookie),
        None,
    )
    .await;
    assert!(a.body.contains("<td>login</td>"));
    assert!(!a.body.contains("cancel of job 4711"));
    assert!(a.body.contains(&format!("user={}", admin.id.0)));

    // By date: a span around today has the entries, one long ago has none.
    let today = chrono::Utc::now().date_naive();
    let span = format!(
        "/admin/audit/?from={}&to={}",
        today.pred_opt().unwrap(),
        today.succ_opt().unwrap()
    );
    let a = send(&state, "GET", &span, Some(&cookie), None).await;
    assert!(a.body.contains("cancel of job 4711"));
    let a = send(
        &state,
        "GET",
        "/admin/audit/?from=2000-01-01&to=2000-01-31",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains("cancel of job 4711"));
    assert!(a.body.contains("No entries."));

    // Bad filters are named, with 400; an unknown user matches nothing.
    let a = send(
        &state,
        "GET",
        "/admin/audit/?from=31.01.2024&action=nonsense",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("not a date like 2024-01-31"), "{}", a.body);
    assert!(a.body.contains("Unknown action"), "{}", a.body);
    let a = send(
        &state,
        "GET",
        "/admin/audit/?user=nobody",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.contains("No user named"));
    assert!(!a.body.contains("cancel of job 4711"));
    db.close().await;
}

async fn overview_counts_jobs_and_token_use(t: TestDb) {
    let db = t.db().await;
    let state = t.app_state(&db);
    staff(&db, "admin").await;
    let alice = user(&db, "alice").await;
    let (alice_cookie, _) = login(&state, "alice").await;
    let (cookie, _) = login(&state, "admin").await;
    let jobs = t.jobs().await;
    let node = add_node(&db, &folder_node("OUT", &t.data_dir().join("out"))).await;
    for uid in ["1.2.3", "1.2.4"] {
        let job = NewJob::new(JobKind::SelectiveTransfer, alice.id.0, node, Some(node))
            .task(NewTask::transfer("P1", uid, &[]));
        jobs.create(&job, false).await.unwrap();
    }
    let job = NewJob::new(JobKind::BatchTransfer, alice.id.0, node, Some(node))
        .task(NewTask::transfer("P1", "1.2.5", &[]));
    jobs.create(&job, true).await.unwrap();
    for _ in 0..3 {
        audit::record(&db, &audit::Event::new(audit::Action::TokenUse).by(&alice))
            .await
            .unwrap();
    }

    let a = send(&state, "GET", "/admin/overview/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = send(&state, "GET", "/admin/overview/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(r#"href="/admin/overview/""#), "no nav link");
    // Columns: Unverified, Pending, In Progress, Canceling, Canceled, Success, Warning,
    // Failure, Total.
    assert_eq!(
        numbers(row(&a.body, "count-selective_transfer")),
        [2, 0, 0, 0, 0, 0, 0, 0, 2]
    );
    assert_eq!(
        numbers(row(&a.body, "count-batch_transfer")),
        [0, 1, 0, 0, 0, 0, 0, 0, 1]
    );
    assert_eq!(
        numbers(row(&a.body, "count-batch_query")),
        [0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let token_use = &a.body[a.body.find(r#"id="token-use""#).unwrap()..];
    assert!(
        token_use.contains(r#"<tr><td>alice</td><td class="text-end">3</td></tr>"#),
        "{token_use}"
    );
    assert!(!token_use.contains("<td>admin</td>"));
    db.close().await;
}

#[tokio::test]
async fn admin_overview_counts_jobs_and_token_use_on_sqlite() {
    overview_counts_jobs_and_token_use(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn admin_overview_counts_jobs_and_token_use_on_postgres() {
    overview_counts_jobs_and_token_use(TestDb::postgres().await).await;
}

#[tokio::test]
async fn admin_users_and_groups_pages_show_accounts() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = t.app_state(&db);
    let admin = staff(&db, "admin").await;
    let alice = user(&db, "alice").await;
    let carol = user(&db, "carol").await;
    accounts::users::set_active(&db, carol.id, false)
        .await
        .unwrap();
    let research = accounts::groups::create(&db, "Research").await.unwrap();
    let radiology = accounts::groups::create(&db, "Radiology").await.unwrap();
    accounts::groups::add_member(&db, research.id, alice.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, radiology.id, alice.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, radiology.id, carol.id)
        .await
        .unwrap();
    accounts::groups::grant(&db, research.id, Permission::AddBatchQueryJob)
        .await
        .unwrap();
    let (alice_cookie, _) = login(&state, "alice").await;
    let (cookie, _) = login(&state, "admin").await;

    for page in ["/admin/users/", "/admin/groups/"] {
        let a = send(&state, "GET", page, Some(&alice_cookie), None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{page}");
    }

    let a = send(&state, "GET", "/admin/users/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(r#"href="/admin/users/""#), "no nav link");
    let alice_row = row(&a.body, &format!("user-{}", alice.id.0));
    assert!(alice_row.contains("Radiology, Research"), "{alice_row}");
    // Her first group became her active group.
    assert!(alice_row.contains("<td>Research</td>"), "{alice_row}");
    assert!(alice_row.contains(r#"<td class="staff">no</td>"#));
    assert!(alice_row.contains(r#"<td class="active">yes</td>"#));
    let carol_row = row(&a.body, &format!("user-{}", carol.id.0));
    assert!(
        carol_row.contains(r#"<td class="active">no</td>"#),
        "{carol_row}"
    );
    let admin_row = row(&a.body, &format!("user-{}", admin.id.0));
    assert!(
        admin_row.contains(r#"<td class="staff">yes</td>"#),
        "{admin_row}"
    );

    let a = send(&state, "GET", "/admin/groups/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(r#"href="/admin/groups/""#), "no nav link");
    let research_row = row(&a.body, &format!("group-{}", research.id.0));
    assert_eq!(members(research_row), ["alice"], "{research_row}");
    assert!(research_row.contains(r#"<code class="permission">add_batchqueryjob</code>"#));
    let radiology_row = row(&a.body, &format!("group-{}", radiology.id.0));
    assert_eq!(
        members(radiology_row),
        ["alice", "carol"],
        "{radiology_row}"
    );
    assert!(!radiology_row.contains(r#"<code class="permission">add_batchqueryjob"#));
    db.close().await;
}

/// The member names of a group row, in order.
fn members(row: &str) -> Vec<&str> {
    row.split(r#"member">"#)
        .skip(1)
        .map(|rest| rest.split('\n').next().unwrap().trim())
        .collect()
}

/// `key=value&...`, percent-encoded.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                adit_server::ui::auth::encode_component(v).replace('/', "%2F")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The flash message a redirect sets, decoded (`level|text`).
fn flash(a: &Answer) -> String {
    let cookie = a
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("flash="))
        .unwrap_or_else(|| panic!("no flash in {:?}", a.headers));
    let value = cookie.split(';').next().unwrap();
    let mut bytes = Vec::new();
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            bytes.push(u8::from_str_radix(std::str::from_utf8(&tail[..2]).unwrap(), 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// The audit details of `action`, oldest first.
async fn audited(db: &Db, action: audit::Action) -> Vec<(String, String)> {
    let filter = audit::Filter {
        action: Some(action),
        ..Default::default()
    };
    let (entries, _) = audit::list(db, &filter, 0, 100).await.unwrap();
    entries
        .into_iter()
        .rev()
        .map(|e| (e.username, e.detail))
        .collect()
}

#[tokio::test]
async fn admin_forms_are_for_staff_only() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = t.app_state(&db);
    staff(&db, "admin").await;
    let alice = user(&db, "alice").await;
    let group = accounts::groups::create(&db, "Research").await.unwrap();
    add_node(&db, &Node::folder("OUT", FolderNode::new("/tmp/out"))).await;
    let (cookie, csrf) = login(&state, "alice").await;

    let a = send(&state, "GET", "/admin/site/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let posts = [
        ("/admin/site/announcement/", form(&[("announcement", "x")])),
        ("/admin/site/maintenance/", form(&[("maintenance", "on")])),
        (
            "/admin/site/broadcast/",
            form(&[("subject", "s"), ("body", "b")]),
        ),
        (
            "/admin/users/",
            form(&[
                ("username", "eve"),
                ("password", "pw-of-someone"),
                ("password2", "pw-of-someone"),
            ]),
        ),
        (
            &*format!("/admin/users/{}/active/", alice.id.0),
            form(&[("active", "false")]),
        ),
        (
            &*format!("/admin/users/{}/password/", alice.id.0),
            form(&[("password", "12345678")]),
        ),
        ("/admin/groups/", form(&[("name", "Mine")])),
        (
            &*format!("/admin/groups/{}/members/", group.id.0),
            form(&[("username", "alice"), ("op", "add")]),
        ),
        (
            &*format!("/admin/groups/{}/permissions/", group.id.0),
            form(&[("permission", "add_selectivetransferjob"), ("op", "grant")]),
        ),
        (
            "/admin/nodes/access/",
            form(&[
                ("group", "Research"),
                ("node", "OUT"),
                ("source", "on"),
                ("op", "set"),
            ]),
        ),
    ];
    for (path, body) in &posts {
        let body = format!("csrfmiddlewaretoken={csrf}&{body}");
        let a = send(&state, "POST", path, Some(&cookie), Some(&body)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{path}: {}", a.body);
    }
    // Nothing changed.
    assert!(accounts::users::by_name(&db, "eve").await.is_err());
    assert!(accounts::groups::by_name(&db, "Mine").await.is_err());
    assert!(
        adit_server::nodes::access_list(&db)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        accounts::users::by_name(&db, "alice")
            .await
            .unwrap()
            .is_active
    );
    assert_eq!(
        adit_server::site::get(&db).await.unwrap(),
        Default::default()
    );

    // Staff without the token are refused too.
    let (admin_cookie, _) = login(&state, "admin").await;
    let a = send(
        &state,
        "POST",
        "/admin/groups/",
        Some(&admin_cookie),
        Some("name=Mine"),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(accounts::groups::by_name(&db, "Mine").await.is_err());
    db.close().await;
}

#[tokio::test]
async fn staff_create_users_and_groups_and_set_node_access() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = t.app_state(&db);
    staff(&db, "admin").await;
    let pacs = add_node(
        &db,
        &Node::folder("PACS-OUT", FolderNode::new("/tmp/pacs-out")),
    )
    .await;
    let (cookie, csrf) = login(&state, "admin").await;
    let post = |path: String, body: String| {
        let state = state.clone();
        let cookie = cookie.clone();
        let csrf = csrf.clone();
        async move {
            send(
                &state,
                "POST",
                &path,
                Some(&cookie),
                Some(&format!("csrfmiddlewaretoken={csrf}&{body}")),
            )
            .await
        }
    };

    // Refused forms come back with the errors next to their fields, values kept.
    let a = post(
        "/admin/users/".into(),
        form(&[
            ("username", "new user"),
            ("email", "nope"),
            ("password", "short"),
            ("password2", "short"),
            ("is_staff", "on"),
        ]),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    for field in ["username", "email", "password", "is_staff"] {
        assert!(
            a.body.contains(&format!(r#"id="{field}-error""#)),
            "{field}: {}",
            a.body
        );
    }
    assert!(a.body.contains(r#"value="new user""#), "{}", a.body);
    assert!(
        a.body
            .contains("Only a superuser may create staff members.")
    );
    assert!(accounts::users::list(&db).await.unwrap().len() == 1);

    // A valid one creates the user, who can log in.
    let a = post(
        "/admin/users/".into(),
        form(&[
            ("username", "dora"),
            ("email", "dora@example.org"),
            ("password", "pw-of-someone"),
            ("password2", "pw-of-someone"),
        ]),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(
        flash(&a).starts_with("success|User dora created"),
        "{}",
        flash(&a)
    );
    let dora = accounts::users::by_name(&db, "dora").await.unwrap();
    assert!(!dora.is_staff && dora.is_active);
    let (dora_cookie, _) = login(&state, "dora").await;
    let a = post(
        "/admin/users/".into(),
        form(&[
            ("username", "dora"),
            ("password", "pw-of-someone"),
            ("password2", "pw-of-someone"),
        ]),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("This name is taken."), "{}", a.body);

    // A group with the selective transfer permission and dora in it.
    let a = post("/admin/groups/".into(), form(&[("name", "Research")])).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = post("/admin/groups/".into(), form(&[("name", "Research")])).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains(r#"id="name-error""#), "{}", a.body);
    let research = accounts::groups::by_name(&db, "Research").await.unwrap();
    let a = post(
        format!("/admin/groups/{}/members/", research.id.0),
        form(&[("username", "dora"), ("op", "add")]),
    )
    .await;
    assert_eq!(flash(&a), "success|dora added to group Research.");
    let a = post(
        format!("/admin/groups/{}/permissions/", research.id.0),
        form(&[("permission", "add_selectivetransferjob"), ("op", "grant")]),
    )
    .await;
    assert_eq!(
        flash(&a),
        "success|add_selectivetransferjob granted to group Research."
    );
    let a = post(
        format!("/admin/groups/{}/permissions/", research.id.0),
        form(&[("permission", "no_such_thing"), ("op", "grant")]),
    )
    .await;
    assert!(flash(&a).starts_with("danger|"), "{}", flash(&a));

    // No node in dora's transfer form until the group gets access.
    let option = r#">PACS-OUT</option>"#;
    let a = send(
        &state,
        "GET",
        "/selective-transfer/",
        Some(&dora_cookie),
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(!a.body.contains(option));
    let a = post(
        "/admin/nodes/access/".into(),
        form(&[
            ("group", "Research"),
            ("node", "PACS-OUT"),
            ("destination", "on"),
            ("op", "set"),
        ]),
    )
    .await;
    assert_eq!(
        flash(&a),
        "success|Research may use PACS-OUT as destination."
    );
    let a = send(
        &state,
        "GET",
        "/selective-transfer/",
        Some(&dora_cookie),
        None,
    )
    .await;
    assert!(a.body.contains(option), "{}", a.body);
    let a = send(&state, "GET", "/admin/nodes/", Some(&cookie), None).await;
    assert!(
        a.body
            .contains("<td>Research</td><td>PACS-OUT</td><td>no</td><td>yes</td>"),
        "{}",
        a.body
    );
    // Revoking hides it again.
    let a = post(
        "/admin/nodes/access/".into(),
        form(&[
            ("group", "Research"),
            ("node", "PACS-OUT"),
            ("op", "remove"),
        ]),
    )
    .await;
    assert_eq!(flash(&a), "success|Research may no longer use PACS-OUT.");
    let a = send(
        &state,
        "GET",
        "/selective-transfer/",
        Some(&dora_cookie),
        None,
    )
    .await;
    assert!(!a.body.contains(option));
    assert!(
        adit_server::nodes::access_list(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let a = send(&state, "GET", "/admin/nodes/", Some(&cookie), None).await;
    assert_eq!(a.body.matches("<h1").count(), 1, "{}", a.body);
    assert!(a.body.contains("No access granted."), "{}", a.body);

    // Removing the member and revoking the permission.
    let a = post(
        format!("/admin/groups/{}/permissions/", research.id.0),
        form(&[("permission", "add_selectivetransferjob"), ("op", "revoke")]),
    )
    .await;
    assert_eq!(
        flash(&a),
        "success|add_selectivetransferjob revoked from group Research."
    );
    let a = post(
        format!("/admin/groups/{}/members/", research.id.0),
        form(&[("username", "dora"), ("op", "remove")]),
    )
    .await;
    assert_eq!(flash(&a), "success|dora removed from group Research.");
    assert!(
        accounts::users::groups_of(&db, dora.id)
            .await
            .unwrap()
            .is_empty()
    );

    // Password reset, then deactivation, each ending her browser sessions.
    let a = post(
        format!("/admin/users/{}/password/", dora.id.0),
        form(&[("password", "short")]),
    )
    .await;
    assert!(flash(&a).starts_with("danger|"), "{}", flash(&a));
    let a = post(
        format!("/admin/users/{}/password/", dora.id.0),
        form(&[("password", "a-new-password")]),
    )
    .await;
    assert_eq!(flash(&a), "success|The password of dora was reset.");
    assert!(
        accounts::users::check_password(&db, "dora", "a-new-password")
            .await
            .unwrap()
            .is_some()
    );
    // Her browser session ended with it; she logs in again (with the helper's password).
    let a = send(&state, "GET", "/", Some(&dora_cookie), None).await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "session survived the reset"
    );
    accounts::users::set_password(&db, dora.id, "pw-of-someone")
        .await
        .unwrap();
    let (dora_cookie, _) = login(&state, "dora").await;
    // Deactivated: the password no longer works and the session is gone.
    let a = post(
        format!("/admin/users/{}/active/", dora.id.0),
        form(&[("active", "false")]),
    )
    .await;
    assert_eq!(flash(&a), "success|User dora deactivated.");
    assert!(
        accounts::users::check_password(&db, "dora", "pw-of-someone")
            .await
            .unwrap()
            .is_none()
    );
    let a = send(&state, "GET", "/", Some(&dora_cookie), None).await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "an inactive user's session works"
    );
    let sessions: i64 = adit_server::db_dispatch!(&db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1")
        .bind(dora.id.0)
        .fetch_one(pool)
        .await
        .unwrap());
    assert_eq!(sessions, 0);

    // A staff member cannot change another staff account, nor deactivate themselves.
    let other = staff(&db, "other-admin").await;
    let a = post(
        format!("/admin/users/{}/active/", other.id.0),
        form(&[("active", "false")]),
    )
    .await;
    assert!(
        flash(&a).starts_with("danger|Only a superuser"),
        "{}",
        flash(&a)
    );
    let me = accounts::users::by_name(&db, "admin").await.unwrap();
    let a = post(
        format!("/admin/users/{}/password/", me.id.0),
        form(&[("password", "whatever-long")]),
    )
    .await;
    assert!(
        flash(&a).starts_with("danger|Only a superuser"),
        "{}",
        flash(&a)
    );
    assert!(
        accounts::users::by_name(&db, "other-admin")
            .await
            .unwrap()
            .is_active
    );

    // Every change is in the audit log under the staff member's name, passwords never.
    let users = audited(&db, audit::Action::UserChange).await;
    let details: Vec<&str> = users.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        details,
        [
            "created user dora",
            "reset the password of user dora",
            "deactivated user dora"
        ]
    );
    assert!(users.iter().all(|(who, _)| who == "admin"));
    let groups = audited(&db, audit::Action::GroupChange).await;
    assert_eq!(groups.len(), 5, "{groups:?}");
    assert_eq!(groups[0].1, "created group Research");
    let access = audited(&db, audit::Action::NodeAccess).await;
    let details: Vec<&str> = access.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        details,
        [
            "group Research: source false, destination true",
            "group Research: removed"
        ]
    );
    let _ = pacs;
    db.close().await;
}

#[tokio::test]
async fn announcement_is_escaped_on_the_home_page() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    let state = t.app_state(&db);
    staff(&db, "admin").await;
    user(&db, "alice").await;
    let (cookie, csrf) = login(&state, "admin").await;
    let (alice_cookie, _) = login(&state, "alice").await;

    let a = send(&state, "GET", "/", Some(&alice_cookie), None).await;
    assert!(!a.body.contains(r#"id="announcement""#));
    let text = "Downtime <b>Friday</b>\r\n<script>alert(1)</script>";
    let a = send(
        &state,
        "POST",
        "/admin/site/announcement/",
        Some(&cookie),
        Some(&format!(
            "csrfmiddlewaretoken={csrf}&{}",
            form(&[("announcement", text)])
        )),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = send(&state, "GET", "/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.body.contains(
            r#"id="announcement">Downtime &lt;b&gt;Friday&lt;&#x2f;b&gt;
&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</div>"#
        ),
        "{}",
        a.body
    );
    assert!(!a.body.contains("<script>alert"));
    let entries = audited(&db, audit::Action::SiteSettings).await;
    assert_eq!(entries.len(), 1);
    assert!(
        entries[0].1.starts_with("announcement: Downtime"),
        "{entries:?}"
    );

    // Too long: refused next to the field, the text kept.
    let long = "x".repeat(adit_server::site::MAX_ANNOUNCEMENT_LEN + 1);
    let a = send(
        &state,
        "POST",
        "/admin/site/announcement/",
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}&announcement={long}")),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains(r#"id="announcement-error""#));

    // Empty removes it.
    send(
        &state,
        "POST",
        "/admin/site/announcement/",
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}&announcement=")),
    )
    .await;
    let a = send(&state, "GET", "/", Some(&alice_cookie), None).await;
    assert!(!a.body.contains(r#"id="announcement""#));
    db.close().await;
}

#[tokio::test]
async fn maintenance_mode_lets_only_staff_in_on_sqlite() {
    maintenance_mode_lets_only_staff_in(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn maintenance_mode_lets_only_staff_in_on_postgres() {
    maintenance_mode_lets_only_staff_in(TestDb::postgres().await).await;
}

async fn maintenance_mode_lets_only_staff_in(t: TestDb) {
    let db = t.db().await;
    let state = t.app_state(&db);
    let admin = staff(&db, "admin").await;
    let alice = user(&db, "alice").await;
    let (cookie, csrf) = login(&state, "admin").await;
    let (alice_cookie, _) = login(&state, "alice").await;
    let alice_token = accounts::tokens::create(&db, &alice, "script", None)
        .await
        .unwrap()
        .token;
    let admin_token = accounts::tokens::create(&db, &admin, "script", None)
        .await
        .unwrap()
        .token;
    let toggle = |on: &'static str| {
        let state = state.clone();
        let cookie = cookie.clone();
        let csrf = csrf.clone();
        async move {
            let a = send(
                &state,
                "POST",
                "/admin/site/maintenance/",
                Some(&cookie),
                Some(&format!("csrfmiddlewaretoken={csrf}&maintenance={on}")),
            )
            .await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        }
    };
    let api = |path: &'static str, token: String| {
        let state = state.clone();
        async move {
            let request = Request::builder()
                .uri(path)
                .header(header::AUTHORIZATION, format!("Token {token}"))
                .body(Body::empty())
                .unwrap();
            let response = app(state).oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };

    toggle("on").await;
    // A plain user: the maintenance page, and 503 on the API with a session or a token.
    let a = send(&state, "GET", "/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.body.contains(r#"id="maintenance""#), "{}", a.body);
    let a = send(&state, "GET", "/jobs/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let a = send(&state, "GET", "/api/user/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.body.contains(r#""code":"unavailable""#), "{}", a.body);
    assert!(a.body.contains("maintenance mode"), "{}", a.body);
    assert!(a.headers.contains_key(header::RETRY_AFTER));
    let (status, body) = api("/api/v1/jobs/", alice_token.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // The DICOMweb facade too (before it would look the node up).
    let (status, body) = api(
        "/api/dicom-web/NOSUCHAE/qidors/studies",
        alice_token.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Tokens are refused for staff too; a staff browser session is not.
    let (status, _) = api("/api/v1/jobs/", admin_token.clone()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let a = send(&state, "GET", "/api/user/", Some(&cookie), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Not signed in: the same page; login, health and assets stay open.
    let a = send(&state, "GET", "/jobs/", None, None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    let a = send(&state, "GET", "/login/", None, None).await;
    assert_eq!(a.status, StatusCode::OK);
    let a = send(&state, "GET", "/health/", None, None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (alice_again, _) = login(&state, "alice").await;
    let a = send(&state, "GET", "/", Some(&alice_again), None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    // Staff use the site, with the banner on every page.
    for page in ["/", "/jobs/", "/admin/users/", "/admin/site/"] {
        let a = send(&state, "GET", page, Some(&cookie), None).await;
        assert_eq!(a.status, StatusCode::OK, "{page}: {}", a.body);
        assert!(a.body.contains(r#"id="maintenance-banner""#), "{page}");
    }

    toggle("off").await;
    let a = send(&state, "GET", "/", Some(&alice_cookie), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.body.contains(r#"id="maintenance-banner""#));
    let (status, body) = api("/api/v1/jobs/", alice_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api("/api/dicom-web/NOSUCHAE/qidors/studies", alice_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let a = send(&state, "GET", "/", Some(&cookie), None).await;
    assert!(!a.body.contains(r#"id="maintenance-banner""#));
    let entries = audited(&db, audit::Action::SiteSettings).await;
    let details: Vec<&str> = entries.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(details, ["maintenance on", "maintenance off"]);
    db.close().await;
}

#[tokio::test]
async fn broadcast_mails_every_active_user_or_says_smtp_is_missing() {
    let t = TestDb::sqlite().await;
    let db = t.db().await;
    staff(&db, "admin").await;
    for (name, email, active) in [
        ("alice", "alice@example.org", true),
        ("bob", "bob@example.org", true),
        ("carol", "carol@example.org", false),
        ("dave", "", true),
    ] {
        let u = accounts::users::create(
            &db,
            &NewUser {
                username: name.into(),
                password: "pw-of-someone".into(),
                email: email.into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        accounts::users::set_active(&db, u.id, active)
            .await
            .unwrap();
    }
    let body = |csrf: &str| {
        format!(
            "csrfmiddlewaretoken={csrf}&{}",
            form(&[
                ("subject", "Downtime on Friday"),
                ("body", "ADIT is down\nfrom 8 to 10.")
            ])
        )
    };

    // Without SMTP: a clear error, nothing sent, nothing audited.
    let plain = t.app_state(&db);
    let (cookie, csrf) = login(&plain, "admin").await;
    let a = send(&plain, "GET", "/admin/site/", Some(&cookie), None).await;
    assert!(a.body.contains(r#"id="smtp-missing""#), "{}", a.body);
    let a = send(
        &plain,
        "POST",
        "/admin/site/broadcast/",
        Some(&cookie),
        Some(&body(&csrf)),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert!(
        flash(&a).starts_with("danger|No mail was sent: no SMTP server"),
        "{}",
        flash(&a)
    );
    // An empty subject is refused next to the field.
    let a = send(
        &plain,
        "POST",
        "/admin/site/broadcast/",
        Some(&cookie),
        Some(&format!("csrfmiddlewaretoken={csrf}&subject=&body=text")),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains(r#"id="subject-error""#), "{}", a.body);
    assert!(audited(&db, audit::Action::Broadcast).await.is_empty());

    // With a real SMTP server on loopback: one mail to each active user with an address.
    let smtp = common::smtp::SmtpSink::start();
    let config = t.config(&[
        ("ADIT_SMTP_HOST", "127.0.0.1"),
        ("ADIT_SMTP_PORT", &smtp.port.to_string()),
    ]);
    let mailing = AppState::new(db.clone(), config);
    let a = send(
        &mailing,
        "POST",
        "/admin/site/broadcast/",
        Some(&cookie),
        Some(&body(&csrf)),
    )
    .await;
    assert_eq!(flash(&a), "success|The mail was sent to 2 users.");
    let printed = smtp.wait_for("bob@example.org").await;
    let printed = smtp.wait_for("alice@example.org").await.max(printed);
    assert!(printed.contains("Subject: Downtime on Friday"), "{printed}");
    assert!(printed.contains("from 8 to 10."), "{printed}");
    assert!(!printed.contains("carol@example.org"), "{printed}");
    let entries = audited(&db, audit::Action::Broadcast).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].1,
        r#"subject "Downtime on Friday": sent to 2 of 2 users"#
    );
    db.close().await;
}
