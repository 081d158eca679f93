//! Domain rules shared by the service and the store, free of HTTP, SQL and node calls.

pub mod lifecycle;
pub mod spending;
