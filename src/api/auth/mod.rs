//! Authentication at the HTTP edge: the API key middleware, scope extractors, the per-key rate
//! limit, the request timeout and the OpenAPI security description.
//!
//! Deny by default: [`require_api_key`] wraps the whole router, so every route — including any
//! added later — needs a key unless its path is in [`is_public`].

pub mod openapi;
pub mod ratelimit;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::auth::{ApiClient, Scope};
use crate::error_code::ErrorCode;
use crate::service::Service;
pub use ratelimit::{KeyRateLimiter, RateLimit};

/// Paths that need no key: liveness, readiness, metrics, the API's own description, and the
/// claim pages (whose secret token in the path is their credential).
pub fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/openapi.json" | "/docs"
    ) || path.starts_with("/docs/")
        || path.starts_with("/claim/")
}

/// What the authentication middleware needs.
#[derive(Clone)]
pub struct AuthState {
    /// Checks keys.
    pub service: Service,
    /// Per-key buckets; `None`: no rate limit.
    pub limiter: Option<Arc<KeyRateLimiter>>,
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "send the API key as `Authorization: Bearer <key>` (exactly one Authorization header)",
        ));
    };
    let value = value.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidApiKey,
            "the Authorization header is not ASCII",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(ApiError::new(
                    ErrorCode::InvalidApiKey,
                    "the bearer token is empty",
                ))
            } else {
                Ok(token)
            }
        }
        _ => Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "the Authorization header must use the Bearer scheme: `Authorization: Bearer <key>`",
        )),
    }
}

/// Middleware: authenticates the key, applies its rate limit and hands the [`ApiClient`] to
/// the handlers (request extensions). Public paths pass untouched.
pub async fn require_api_key(
    State(auth): State<AuthState>,
    mut req: Request,
    next: Next,
) -> Response {
    if is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let client = match bearer(req.headers()) {
        Ok(token) => match auth.service.keys().authenticate(token).await {
            Ok(client) => client,
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(e) => return e.into_response(),
    };
    if let Some(limiter) = &auth.limiter
        && let Err(wait) = limiter.check(&client.key_id)
    {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return ApiError::rate_limited(secs.max(1)).into_response();
    }
    req.extensions_mut().insert(client);
    next.run(req).await
}

/// Middleware: answers a problem (503 `request_timeout`) when a request takes longer than the
/// limit. The handler's future is dropped at that point; a create already in the store is
/// settled by the reconciler like any other pending one.
pub async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::request_timeout(limit).into_response(),
    }
}

/// A scope a route needs (type-level, for [`Scoped`]).
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope; `None`: any valid key.
    const SCOPE: Option<Scope>;
}

macro_rules! required_scope {
    ($(#[$m:meta])* $name:ident, $scope:expr) => {
        $(#[$m])*
        pub struct $name;
        impl RequiredScope for $name {
            const SCOPE: Option<Scope> = $scope;
        }
    };
}

required_scope!(
    /// Any valid key.
    AnyScope,
    None
);
required_scope!(
    /// `invoicerequests:read`.
    ReadScope,
    Some(Scope::InvoiceRequestsRead)
);
required_scope!(
    /// `invoicerequests:write`.
    WriteScope,
    Some(Scope::InvoiceRequestsWrite)
);
required_scope!(
    /// `invoicerequests:disable`.
    DisableScope,
    Some(Scope::InvoiceRequestsDisable)
);
required_scope!(
    /// `admin`.
    AdminScope,
    Some(Scope::Admin)
);

required_scope!(
    /// `webhooks:manage`.
    WebhooksScope,
    Some(Scope::WebhooksManage)
);

/// Extractor: the authenticated client, which holds scope `S` (else 403 `missing_scope`).
/// Runs before the body is read, so a client without the scope learns nothing about its body.
pub struct Scoped<S> {
    /// The client.
    pub client: ApiClient,
    _scope: PhantomData<S>,
}

impl<S> std::ops::Deref for Scoped<S> {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.client
    }
}

/// Any valid key.
pub type Authenticated = Scoped<AnyScope>;
/// A key with `invoicerequests:read`.
pub type CanRead = Scoped<ReadScope>;
/// A key with `invoicerequests:write`.
pub type CanWrite = Scoped<WriteScope>;
/// A key with `invoicerequests:disable`.
pub type CanDisable = Scoped<DisableScope>;
/// A key with `admin`.
pub type IsAdmin = Scoped<AdminScope>;
/// A key with `webhooks:manage`.
pub type CanManageWebhooks = Scoped<WebhooksScope>;

impl<St: Send + Sync, S: RequiredScope> FromRequestParts<St> for Scoped<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiError> {
        // Absent only if the middleware is missing: refuse rather than serve unauthenticated.
        let client = parts
            .extensions
            .get::<ApiClient>()
            .cloned()
            .ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthenticated, "this route needs an API key")
            })?;
        if let Some(scope) = S::SCOPE
            && !client.has(scope)
        {
            return Err(ApiError::missing_scope(scope));
        }
        Ok(Self {
            client,
            _scope: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[test]
    fn public_paths() {
        for p in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
            "/docs",
            "/docs/index.html",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/v1/invoicerequests",
            "/v1/keys",
            "/docsx",
            "/",
            "/healthz/x",
            "/openapi.json/",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[tokio::test]
    async fn a_slow_request_is_a_503_problem() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                request_timeout,
            ));
        let req = |p: &str| Request::builder().uri(p).body(Body::empty()).unwrap();
        let res = app.clone().oneshot(req("/slow")).await.unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "request_timeout");
        assert_eq!(app.oneshot(req("/fast")).await.unwrap().status(), 200);
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let h = |v: &[&str]| {
            let mut m = HeaderMap::new();
            for x in v {
                m.append(header::AUTHORIZATION, x.parse().unwrap());
            }
            m
        };
        assert_eq!(bearer(&h(&["Bearer abc"])).unwrap(), "abc");
        assert_eq!(bearer(&h(&["bearer  abc "])).unwrap(), "abc");
        for bad in [
            &[][..],
            &["Basic abc"],
            &["Bearer"],
            &["Bearer "],
            &["Bearer a", "Bearer b"],
        ] {
            assert!(bearer(&h(bad)).is_err(), "{bad:?}");
        }
    }
}
