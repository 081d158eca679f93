//! The OpenAPI document's frame (paths come from the route annotations).

use utoipa::OpenApi;

use super::auth::openapi::BearerScheme;

/// Title, version, description and tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "invreqd",
        description = "BOLT12 invoice requests (`lnr1…`) over HTTP, on top of Core Lightning. The contract is CLN's `invoicerequest` command. Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`.",
        license(name = "MIT"),
    ),
    tags(
        (name = "invoicerequests", description = "Create, list, get and disable invoice requests"),
        (name = "claim", description = "Claim pages for the person being paid (public: the secret token in the path is the credential)"),
        (name = "decode", description = "Read an lnr1… string"),
        (name = "keys", description = "API keys: create, list, revoke (scope `admin`)"),
        (name = "events", description = "The event log: every change of an invoice request, in order"),
        (name = "webhooks", description = "Webhook endpoints (scope `webhooks:manage`): signed deliveries of the events"),
        (name = "operations", description = "Health, readiness and Prometheus metrics"),
    ),
    components(schemas(
        super::error::Problem,
        crate::error_code::ErrorCode,
        crate::service::EventType
    )),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// The document before routes are added.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The payload of every delivery (Standard Webhooks: `{type, timestamp, data}`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WebhookPayload {
    /// The event's type.
    #[schema(rename = "type")]
    kind: String,
    /// When the change was committed, RFC 3339 (UTC).
    timestamp: String,
    /// For `invoicerequest.*`: the invoice request as `GET /v1/invoicerequests/{invreq_id}`
    /// showed it right after the change.
    #[schema(inline)]
    data: super::invoicerequests::InvoiceRequestBody,
}

/// Adds the document's `webhooks` section (OpenAPI 3.1): one operation per event type, the
/// `POST` invreqd makes to a registered endpoint, with the Standard Webhooks headers. utoipa's
/// route annotations describe only paths this server serves, so it is added here, in one place.
pub fn add_webhooks(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{
        ContentBuilder, PathItem, PathsBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder,
    };
    use utoipa::{PartialSchema, ToSchema};

    let components = api.components.get_or_insert_with(Default::default);
    components.schemas.insert(
        WebhookPayload::name().into_owned(),
        WebhookPayload::schema(),
    );
    let header = |name: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(String::schema()))
            .build()
    };
    let mut paths = PathsBuilder::new();
    for t in crate::service::EventType::ALL {
        let operation = OperationBuilder::new()
            .summary(Some(format!("{} delivery", t.as_str())))
            .description(Some(format!(
                "invreqd posts `{}` events to each subscribed endpoint. Verify the signature \
                 with the endpoint's secret before trusting the body (any Standard Webhooks \
                 library does it); answer 2xx within 10 s, else the delivery is retried with \
                 the same `webhook-id`.",
                t.as_str()
            )))
            .tag("webhooks")
            .parameter(header(
                "webhook-id",
                "The event's id (evt_…): the same on every attempt; deduplicate on it.",
            ))
            .parameter(header(
                "webhook-timestamp",
                "Seconds since 1970 when this attempt was signed.",
            ))
            .parameter(header(
                "webhook-signature",
                "v1,<base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the base64-decoded part of the secret after whsec_>",
            ))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(WebhookPayload::name())))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            ))
            .responses(
                ResponsesBuilder::new()
                    .response(
                        "2XX",
                        ResponseBuilder::new().description("Delivered.").build(),
                    )
                    .build(),
            )
            .build();
        paths = paths.path(t.as_str(), PathItem::new(HttpMethod::Post, operation));
    }
    api.webhooks = Some(paths.build());
}
