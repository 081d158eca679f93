//! Integration tests: the real app on a random port, over HTTP.

mod auth;
mod claim;
mod cln_faults;
mod cln_rest;
mod cln_support;
mod contract;
mod create;
mod decode_rules;
mod exactly_once;
mod expiry;
mod helpers;
mod idempotency;
mod in_flight;
mod limits;
mod node_built;
mod node_checks;
mod payments;
mod postgres;
mod qr;
mod read_disable;
mod surface;
mod tenants;
mod tools;
