//! Audit entries for what the pages change: job creation, job and task actions and node
//! checks, with the same actions and details as the REST API writes, so the audit log shows
//! browser users too.

use super::auth::UiUser;
use crate::audit::{self, Event};
use crate::web::AppState;
use crate::web::address::ClientAddress;

/// Writes `event` as done by the page's user from `address`. The change has already
/// happened, so a failed write is logged rather than turned into an error page (which would
/// invite the user to submit again).
pub async fn record(state: &AppState, user: &UiUser, address: &ClientAddress, event: Event) {
    let event = event.by(&user.user).from_address(address.0.clone());
    audit::record_or_log(&state.db, &event).await;
}
