//! `/v1/keys`: create, list and revoke API keys (scope `admin`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::IsAdmin;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::auth::{Scope, SpendingPolicy, valid_tenant};
use crate::service::{ApiKeyRecord, KeyId, NewKey, ValidationError};

/// The body of `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "shop backend", "tenant": "shop", "scopes": ["invoicerequests:read", "invoicerequests:write"], "max_per_request_msat": 100000000, "max_daily_msat": 1000000000, "max_outstanding_msat": 500000000}))]
pub struct CreateKeyRequest {
    /// A human name, 1 to 128 characters, no control characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub name: Option<String>,
    /// Whose invoice requests the key sees: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub tenant: Option<String>,
    /// What the key may do (at least one).
    #[schema(value_type = Vec<Scope>, required = true, min_items = 1)]
    pub scopes: Option<Vec<Scope>>,
    /// Seconds since 1970 from which the key no longer works (in the future).
    #[schema(minimum = 1, maximum = 9223372036854775807_u64)]
    pub expires_at: Option<u64>,
    /// Largest amount of one invoice request, msat.
    #[schema(maximum = 9223372036854775807_u64)]
    pub max_per_request_msat: Option<u64>,
    /// Most the tenant may promise over a rolling 24 hours (pending, open, paying and paid requests created in the window), msat.
    #[schema(maximum = 9223372036854775807_u64)]
    pub max_daily_msat: Option<u64>,
    /// Most the tenant may have outstanding at once (pending, open and paying requests not yet expired), msat.
    #[schema(maximum = 9223372036854775807_u64)]
    pub max_outstanding_msat: Option<u64>,
}

/// An API key as listed: never its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyBody {
    /// The public id: the part of the key after `ird_` and before the next `_`.
    pub key_id: String,
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub tenant: String,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Seconds since 1970 from which it no longer works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Largest amount of one invoice request, msat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_per_request_msat: Option<u64>,
    /// Most promised over a rolling 24 hours, msat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_daily_msat: Option<u64>,
    /// Most outstanding at once, msat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_outstanding_msat: Option<u64>,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970, once revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

fn required(field: &str) -> ValidationError {
    ValidationError::new(field, format!("{field} is required"))
}

impl TryFrom<CreateKeyRequest> for NewKey {
    type Error = ValidationError;

    /// Presence here; the rules of each field in the service ([`NewKey`] validates).
    fn try_from(r: CreateKeyRequest) -> Result<Self, ValidationError> {
        if r.expires_at.is_some_and(|e| e > i64::MAX as u64) {
            return Err(ValidationError::new(
                "expires_at",
                format!("expires_at is too far in the future (at most {})", i64::MAX),
            ));
        }
        Ok(NewKey {
            name: r.name.ok_or_else(|| required("name"))?,
            tenant: r.tenant.ok_or_else(|| required("tenant"))?,
            scopes: r.scopes.ok_or_else(|| required("scopes"))?,
            expires_at: r.expires_at,
            policy: SpendingPolicy {
                max_per_request_msat: r.max_per_request_msat,
                max_daily_msat: r.max_daily_msat,
                max_outstanding_msat: r.max_outstanding_msat,
            },
        })
    }
}

impl From<&ApiKeyRecord> for ApiKeyBody {
    fn from(k: &ApiKeyRecord) -> Self {
        Self {
            key_id: k.key_id.clone(),
            name: k.name.clone(),
            tenant: k.tenant.clone(),
            scopes: k.scopes.clone(),
            expires_at: k.expires_at,
            revoked: k.revoked,
            max_per_request_msat: k.policy.max_per_request_msat,
            max_daily_msat: k.policy.max_daily_msat,
            max_outstanding_msat: k.policy.max_outstanding_msat,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key: `api_key` is shown this once and kept nowhere.
#[derive(Serialize, ToSchema)]
pub struct CreatedKeyBody {
    /// The key to send as `Authorization: Bearer <api_key>`. Store it now: it cannot be shown again.
    pub api_key: String,
    /// What the server keeps about it.
    pub key: ApiKeyBody,
}

/// The keys.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Oldest first.
    pub keys: Vec<ApiKeyBody>,
}

/// The query string of the key list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyListParams {
    /// Only the keys of this tenant (1 to 64 of `A-Z a-z 0-9 . _ -`).
    #[param(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub tenant: Option<String>,
}

/// Create an API key (scope `admin`).
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    request_body(content = CreateKeyRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the body holds the key, shown only this once.", body = CreatedKeyBody),
    )
)]
pub async fn create_key(
    State(state): State<AppState>,
    admin: IsAdmin,
    ApiJson(body): ApiJson<CreateKeyRequest>,
) -> Result<Response, ApiError> {
    let created = state
        .service
        .keys()
        .create_key(&admin, NewKey::try_from(body)?)
        .await?;
    let body = CreatedKeyBody {
        api_key: created.token,
        key: ApiKeyBody::from(&created.record),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/keys/{}", created.record.key_id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    // The body holds a secret: no cache may keep it.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// List API keys, of every tenant or of one (scope `admin`). Secrets are never shown.
#[utoipa::path(
    get,
    path = "/v1/keys",
    tag = "keys",
    params(KeyListParams),
    responses(
        (status = 200, description = "The keys, oldest first.", body = ApiKeyList),
    )
)]
pub async fn list_keys(
    State(state): State<AppState>,
    _admin: IsAdmin,
    ApiQuery(params): ApiQuery<KeyListParams>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let tenant = params.tenant;
    if tenant.as_deref().is_some_and(|t| !valid_tenant(t)) {
        return Err(ApiError::invalid_parameter(
            "tenant",
            "tenant must be 1 to 64 of A-Z a-z 0-9 . _ -",
        ));
    }
    let keys = state.service.keys().list_keys(tenant.as_deref()).await?;
    Ok(Json(ApiKeyList {
        keys: keys.iter().map(ApiKeyBody::from).collect(),
    }))
}

/// Revoke an API key (scope `admin`); it stops working at once on this replica, and within `--key-cache-ms` on the others.
#[utoipa::path(
    delete,
    path = "/v1/keys/{key_id}",
    tag = "keys",
    params(("key_id" = String, Path, description = "16 lowercase hex digits", pattern = "^[0-9a-f]{16}$")),
    responses(
        (status = 200, description = "Revoked.", body = ApiKeyBody),
    )
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: IsAdmin,
    ApiPath(key_id): ApiPath<KeyId>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    let record = state
        .service
        .keys()
        .revoke_key(&admin, key_id.as_str())
        .await?;
    Ok(Json(ApiKeyBody::from(&record)))
}
