//! `/v1/keys`: create, list and revoke API keys (scope `admin`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::IsAdmin;
use super::error::{ApiError, Problem};
use super::extract::{JsonObject, QueryPairs};
use crate::auth::{Scope, SpendingPolicy, valid_tenant};
use crate::service::{NewKey, ValidationError};
use crate::store::ApiKeyRecord;

/// The body of `POST /v1/keys`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "shop backend", "tenant": "shop", "scopes": ["invoicerequests:read", "invoicerequests:write"], "max_per_request_msat": 100000000, "max_daily_msat": 1000000000, "max_outstanding_msat": 500000000}))]
pub struct CreateKeyRequest {
    /// A human name, 1 to 128 characters.
    pub name: String,
    /// Whose invoice requests the key sees: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub tenant: String,
    /// What the key may do (at least one).
    pub scopes: Vec<Scope>,
    /// Seconds since 1970 from which the key no longer works.
    pub expires_at: Option<u64>,
    /// Largest amount of one invoice request, msat.
    pub max_per_request_msat: Option<u64>,
    /// Most the tenant may promise over a rolling 24 hours (pending, open, paying and paid requests created in the window), msat.
    pub max_daily_msat: Option<u64>,
    /// Most the tenant may have outstanding at once (pending, open and paying requests not yet expired), msat.
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

/// Query parameters of the key list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct KeyListParams {
    /// Only the keys of this tenant.
    tenant: Option<String>,
}

/// Create an API key (scope `admin`).
#[utoipa::path(
    post,
    path = "/v1/keys",
    tag = "keys",
    request_body(content = CreateKeyRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; the body holds the key, shown only this once.", body = CreatedKeyBody),
        (status = 400, description = "A field that breaks a rule.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_key(
    State(state): State<AppState>,
    admin: IsAdmin,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let req: CreateKeyRequest =
        serde_path_to_error::deserialize(serde_json::Value::Object(body.map)).map_err(|e| {
            let field = e.path().to_string();
            let field = field.split(['.', '[']).next().unwrap_or("").to_owned();
            let msg = e.into_inner().to_string();
            let field = if field.is_empty() || field == "?" {
                msg.split('`').nth(1).unwrap_or("body").to_owned()
            } else {
                field
            };
            ApiError::from(ValidationError::new(field, msg))
        })?;
    let created = state
        .service
        .keys()
        .create_key(
            &admin,
            NewKey {
                name: req.name,
                tenant: req.tenant,
                scopes: req.scopes,
                expires_at: req.expires_at,
                policy: SpendingPolicy {
                    max_per_request_msat: req.max_per_request_msat,
                    max_daily_msat: req.max_daily_msat,
                    max_outstanding_msat: req.max_outstanding_msat,
                },
            },
        )
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
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_keys(
    State(state): State<AppState>,
    _admin: IsAdmin,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<ApiKeyList>, ApiError> {
    let mut tenant = None;
    for (name, value) in pairs {
        match name.as_str() {
            "tenant" if tenant.is_none() && valid_tenant(&value) => tenant = Some(value),
            "tenant" => {
                return Err(ApiError::invalid_parameter(
                    "tenant",
                    "tenant must be given once, 1 to 64 of A-Z a-z 0-9 . _ -",
                ));
            }
            other => {
                return Err(ApiError::invalid_parameter(
                    other,
                    format!("unknown parameter {other:?}; the only one is tenant"),
                ));
            }
        }
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
    params(("key_id" = String, Path, description = "16 hex digits")),
    responses(
        (status = 200, description = "Revoked.", body = ApiKeyBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked (`already_revoked`), or the last active admin key (`last_admin_key`: create another admin key first).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: IsAdmin,
    axum::extract::Path(key_id): axum::extract::Path<String>,
) -> Result<Json<ApiKeyBody>, ApiError> {
    if key_id.len() != 16
        || !key_id
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::invalid_parameter(
            "key_id",
            "key_id must be 16 lowercase hexadecimal digits",
        ));
    }
    let record = state.service.keys().revoke_key(&admin, &key_id).await?;
    Ok(Json(ApiKeyBody::from(&record)))
}
