//! invreqd: BOLT12 invoice requests (`lnr1…`) over HTTP, on top of Core Lightning.
//!
//! Layers: [`api`] → [`service`] → {[`bolt12`], [`node`], [`store`]}.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod bench;
pub mod bolt12;
pub mod cli;
pub mod config;
pub mod jobs;
pub mod metrics;
pub mod node;
pub mod qr;
pub mod server;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
