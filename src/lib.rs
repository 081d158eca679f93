//! invreqd: BOLT12 invoice requests (`lnr1…`) over HTTP, on top of Core Lightning.
//!
//! Layers: [`api`] → [`service`] → {[`bolt12`], [`node`], [`store`]}; [`domain`] (the
//! lifecycle) is read by the service and the store.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
#[cfg(feature = "load-test")]
pub mod bench;
pub mod bolt12;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error_code;
pub mod jobs;
pub mod metrics;
pub mod node;
pub mod qr;
pub mod server;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
