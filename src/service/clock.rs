//! The wall clock, in the unit every record uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since 1970, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
