//! Process-wide SQLite settings, made once before the first connection opens.
//!
//! SQLite keeps memory statistics by default (`SQLITE_DEFAULT_MEMSTATUS=1`, which the bundled
//! build of `libsqlite3-sys` keeps): every `sqlite3_malloc` and `sqlite3_free` then takes one
//! global mutex. sqlx-sqlite copies every column value of every row (`sqlite3_value_dup`), on one
//! worker thread per pooled connection, so under load those threads queue on that mutex (a
//! `perf` profile of the list of 100 showed 14 % of the CPU in its futex wake-ups; see
//! docs/performance.md). invreqd reads no statistics, so it turns them off. sqlx has no option for
//! it: `sqlite3_config` is process-wide and only allowed before SQLite initializes.

use std::sync::OnceLock;

/// Whether SQLite took the settings (decided once per process).
static CONFIGURED: OnceLock<bool> = OnceLock::new();

/// Turns SQLite's memory statistics off (`SQLITE_CONFIG_MEMSTATUS`, 0), once per process,
/// before the first connection. Returns whether SQLite took it: `false` when SQLite was already
/// initialized (a connection opened earlier in the process), in which case the defaults stay —
/// slower under contention, never wrong.
pub(super) fn configure_sqlite() -> bool {
    *CONFIGURED.get_or_init(|| {
        // SAFETY: `sqlite3_config` is the C API's own way to set this; it runs once
        // (`OnceLock`), before any connection the store opens, with the one integer argument the
        // `SQLITE_CONFIG_MEMSTATUS` verb takes. If SQLite is already initialized it returns
        // SQLITE_MISUSE and changes nothing.
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0) };
        rc == libsqlite3_sys::SQLITE_OK
    })
}
