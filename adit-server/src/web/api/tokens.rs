//! `/api/v1/tokens/`: the user's own API tokens (adit-reference §6.1, §8). Listing needs
//! `view_token`, creating `add_token` (a token that never expires also
//! `can_generate_never_expiring_token`), revoking `delete_token`. The token itself is
//! shown once, in the answer to its creation.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{Json, Path};
use crate::accounts::{Permission, TokenInfo, User, tokens, users};
use crate::audit::{self, Action, Event};
use crate::web::AppState;
use crate::web::address::ClientAddress;
use crate::web::auth::ApiUser;
use crate::web::error::{ApiError, ErrorBody};

/// The longest lifetime a token can be given, in days (about ten years).
const MAX_EXPIRY_DAYS: u32 = 3650;

/// A token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    /// Its id.
    pub id: i64,
    /// Its first 4 characters.
    pub fraction: String,
    /// Free text.
    pub description: String,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it expires; `null` never.
    pub expires: Option<DateTime<Utc>>,
    /// When it was last used.
    pub last_used: Option<DateTime<Utc>>,
}

/// The user's tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenList {
    /// Newest first.
    pub items: Vec<TokenView>,
}

/// A token to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Free text, at most 250 characters.
    #[serde(default)]
    pub description: String,
    /// Lifetime in days; `null` or absent never expires (needs
    /// `can_generate_never_expiring_token`).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

/// A token just created.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token: send it as `Authorization: Token <token>`. Shown only now.
    pub token: String,
    /// What is stored about it.
    pub info: TokenView,
}

/// `GET /api/v1/tokens/`.
#[utoipa::path(
    get,
    path = "/api/v1/tokens/",
    tag = "tokens",
    responses(
        (status = 200, description = "The user's tokens", body = TokenList),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No view_token permission", body = ErrorBody),
    )
)]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<axum::Json<TokenList>, ApiError> {
    require(&state, &user, Permission::ViewToken).await?;
    let items = tokens::list(&state.db, Some(user.id))
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(axum::Json(TokenList { items }))
}

/// `POST /api/v1/tokens/`.
#[utoipa::path(
    post,
    path = "/api/v1/tokens/",
    tag = "tokens",
    request_body = CreateToken,
    responses(
        (status = 201, description = "The token, shown once", body = CreatedToken),
        (status = 400, description = "Invalid fields", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Missing permission", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub async fn create_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Json(request): Json<CreateToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    require(&state, &user, Permission::AddToken).await?;
    if request.description.chars().count() > 250
        || request.description.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "description: at most 250 characters, no control characters.",
        ));
    }
    let expires = match request.expires_in_days {
        Some(days) if days == 0 || days > MAX_EXPIRY_DAYS => {
            return Err(ApiError::invalid(format!(
                "expires_in_days: between 1 and {MAX_EXPIRY_DAYS}."
            )));
        }
        Some(days) => Some(Utc::now() + Duration::days(i64::from(days))),
        None => {
            require(&state, &user, Permission::CanGenerateNeverExpiringToken).await?;
            None
        }
    };
    let created = tokens::create(&state.db, &user, &request.description, expires).await?;
    audit::record(
        &state.db,
        &Event::new(Action::TokenCreate)
            .by(&user)
            .from_address(address)
            .detail(format!(
                "token {} ({})",
                created.info.id, created.info.fraction
            )),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: created.token,
            info: view(created.info),
        }),
    ))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the user's tokens.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "No delete_token permission", body = ErrorBody),
        (status = 404, description = "No such token of the user", body = ErrorBody),
    )
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    require(&state, &user, Permission::DeleteToken).await?;
    let own = tokens::list(&state.db, Some(user.id))
        .await?
        .into_iter()
        .any(|t| t.id == id);
    if !own || !tokens::delete(&state.db, id).await? {
        return Err(ApiError::not_found(format!("Token {id} not found.")));
    }
    audit::record(
        &state.db,
        &Event::new(Action::TokenRevoke)
            .by(&user)
            .from_address(address)
            .detail(format!("token {id}")),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn require(state: &AppState, user: &User, permission: Permission) -> Result<(), ApiError> {
    if users::has_permission(&state.db, user, permission).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "This needs the permission {}.",
            permission.codename()
        )))
    }
}

fn view(t: TokenInfo) -> TokenView {
    TokenView {
        id: t.id,
        fraction: t.fraction,
        description: t.description,
        created: t.created,
        expires: t.expires,
        last_used: t.last_used,
    }
}
