//! Integration tests: the real app on a random port, over HTTP.

mod auth;
mod create;
mod helpers;
mod idempotency;
mod limits;
mod postgres;
mod read_disable;
mod surface;
mod tenants;
