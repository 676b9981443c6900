//! The staff page of the site settings (adit-reference §8): the announcement on the home
//! page, maintenance mode, and a mail to every active user (ADIT's "broadcast"). Each change
//! is audited.

use std::collections::BTreeMap;

use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use minijinja::context;
use serde::Deserialize;

use super::audit_trail;
use super::auth::UiUser;
use super::jobs::internal;
use super::templates::{self, redirect_with_flash};
use crate::accounts::users;
use crate::audit::{Action, Event};
use crate::jobs::FinishedMail;
use crate::jobs::SmtpMailer;
use crate::site::{self, MAX_ANNOUNCEMENT_LEN};
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// Longest broadcast subject accepted.
const MAX_SUBJECT_LEN: usize = 200;

/// Where the forms go back to.
const PAGE: &str = "/admin/site/";

/// The routes of the site settings page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE, get(page))
        .route("/admin/site/announcement/", post(announcement))
        .route("/admin/site/maintenance/", post(maintenance))
        .route("/admin/site/broadcast/", post(broadcast))
}

/// `GET /admin/site/`.
pub async fn page(State(state): State<AppState>, user: UiUser) -> Response {
    if let Err(refused) = user.require_staff() {
        return *refused;
    }
    render(&state, &user, Values::default()).await
}

/// What the page's forms show: the values a refused form sent and the errors by field.
#[derive(Debug, Default)]
struct Values {
    /// The announcement as typed (`None`: the stored one).
    announcement: Option<String>,
    subject: String,
    body: String,
    errors: BTreeMap<&'static str, String>,
}

async fn render(state: &AppState, user: &UiUser, values: Values) -> Response {
    // Read again rather than from the request: a refused form is shown with the stored
    // settings beside it, and the recipients count must be current.
    let (settings, all) = match (site::get(&state.db).await, users::list(&state.db).await) {
        (Ok(settings), Ok(all)) => (settings, all),
        (Err(e), _) | (_, Err(e)) => return internal(user, &e),
    };
    let recipients = all.iter().filter(|u| is_recipient(u)).count();
    let smtp = state.config.smtp.host.as_deref().filter(|h| !h.is_empty());
    let invalid = !values.errors.is_empty();
    let mut response = templates::page(
        user,
        "admin_site.html",
        context! {
            announcement => values.announcement.unwrap_or(settings.announcement),
            maintenance_on => settings.maintenance,
            subject => values.subject,
            body => values.body,
            errors => values.errors,
            recipients,
            smtp,
            max_announcement => MAX_ANNOUNCEMENT_LEN,
        },
    );
    if invalid {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    response
}

/// Active users with an address get the broadcast.
fn is_recipient(user: &crate::accounts::User) -> bool {
    user.is_active && !user.email.trim().is_empty()
}

/// The announcement form.
#[derive(Debug, Deserialize)]
pub struct AnnouncementForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// The new text (empty removes the announcement).
    #[serde(default)]
    pub announcement: String,
}

/// `POST /admin/site/announcement/`.
pub async fn announcement(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<AnnouncementForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    // Browsers send CRLF line breaks; store LF so the text is the same however it came.
    let text = form.announcement.replace("\r\n", "\n").trim().to_owned();
    if text.chars().count() > MAX_ANNOUNCEMENT_LEN {
        let mut values = Values {
            announcement: Some(text),
            ..Values::default()
        };
        values.errors.insert(
            "announcement",
            format!("At most {MAX_ANNOUNCEMENT_LEN} characters."),
        );
        return render(&state, &user, values).await;
    }
    if let Err(e) = site::set_announcement(&state.db, &text).await {
        return internal(&user, &e);
    }
    let detail = if text.is_empty() {
        "announcement removed".to_owned()
    } else {
        format!("announcement: {}", shorten(&text, 200))
    };
    audit_trail::record(
        &state,
        &user,
        &address,
        Event::new(Action::SiteSettings).detail(detail),
    )
    .await;
    let said = if text.is_empty() {
        "The announcement was removed."
    } else {
        "The announcement was saved; it is shown on the home page."
    };
    redirect_with_flash(PAGE, "success", said)
}

/// The maintenance form.
#[derive(Debug, Deserialize)]
pub struct MaintenanceForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// `on` or `off`.
    pub maintenance: String,
}

/// `POST /admin/site/maintenance/`.
pub async fn maintenance(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<MaintenanceForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let on = match form.maintenance.as_str() {
        "on" => true,
        "off" => false,
        _ => return redirect_with_flash(PAGE, "danger", "Maintenance mode: `on` or `off`."),
    };
    if let Err(e) = site::set_maintenance(&state.db, on).await {
        return internal(&user, &e);
    }
    let detail = format!("maintenance {}", form.maintenance);
    audit_trail::record(
        &state,
        &user,
        &address,
        Event::new(Action::SiteSettings).detail(detail),
    )
    .await;
    if on {
        redirect_with_flash(
            PAGE,
            "warning",
            "Maintenance mode is on: only staff can use the site and the API.",
        )
    } else {
        redirect_with_flash(PAGE, "success", "Maintenance mode is off.")
    }
}

/// The broadcast form.
#[derive(Debug, Deserialize)]
pub struct BroadcastForm {
    /// CSRF token.
    #[serde(default)]
    pub csrfmiddlewaretoken: Option<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body: String,
}

/// `POST /admin/site/broadcast/`: mails `subject` and `body` to every active user with an
/// address, one mail each (no recipient sees another's address), and reports how many went.
pub async fn broadcast(
    State(state): State<AppState>,
    user: UiUser,
    address: ClientAddress,
    headers: HeaderMap,
    Form(form): Form<BroadcastForm>,
) -> Response {
    if let Err(refused) = user.require_staff_post(form.csrfmiddlewaretoken.as_deref(), &headers) {
        return *refused;
    }
    let subject = form.subject.trim().to_owned();
    let body = form.body.replace("\r\n", "\n");
    let mut errors = BTreeMap::new();
    if subject.is_empty() {
        errors.insert("subject", "A subject is required.".to_owned());
    } else if subject.chars().count() > MAX_SUBJECT_LEN || subject.contains(['\r', '\n']) {
        errors.insert(
            "subject",
            format!("One line of at most {MAX_SUBJECT_LEN} characters."),
        );
    }
    if body.trim().is_empty() {
        errors.insert("body", "A message is required.".to_owned());
    }
    if !errors.is_empty() {
        let values = Values {
            announcement: None,
            subject,
            body,
            errors,
        };
        return render(&state, &user, values).await;
    }
    let mailer = match SmtpMailer::from_config(&state.config.smtp) {
        Ok(Some(mailer)) => mailer,
        Ok(None) => {
            return redirect_with_flash(
                PAGE,
                "danger",
                "No mail was sent: no SMTP server is configured (ADIT_SMTP_HOST).",
            );
        }
        Err(e) => {
            return redirect_with_flash(
                PAGE,
                "danger",
                &format!("No mail was sent: the SMTP settings are wrong: {e}"),
            );
        }
    };
    let all = match users::list(&state.db).await {
        Ok(all) => all,
        Err(e) => return internal(&user, &e),
    };
    let recipients: Vec<_> = all.iter().filter(|u| is_recipient(u)).collect();
    let mut sent = 0usize;
    let mut failed = Vec::new();
    for recipient in &recipients {
        let mail = FinishedMail {
            to: recipient.email.clone(),
            subject: subject.clone(),
            body: body.clone(),
        };
        match mailer.deliver(&mail).await {
            Ok(()) => sent += 1,
            Err(e) => {
                tracing::warn!(to = %recipient.email, error = %e, "broadcast mail not sent");
                failed.push(recipient.username.as_str());
            }
        }
    }
    let event = Event::new(Action::Broadcast).detail(format!(
        "subject {:?}: sent to {sent} of {} users",
        shorten(&subject, 200),
        recipients.len()
    ));
    audit_trail::record(&state, &user, &address, event).await;
    if failed.is_empty() {
        redirect_with_flash(
            PAGE,
            "success",
            &format!("The mail was sent to {sent} users."),
        )
    } else {
        redirect_with_flash(
            PAGE,
            "danger",
            &format!(
                "The mail was sent to {sent} of {} users; not to {} (see the server log).",
                recipients.len(),
                shorten(&failed.join(", "), 300)
            ),
        )
    }
}

/// The first `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_shortened_on_a_char_boundary() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("äöüß", 2), "äö…");
    }
}
