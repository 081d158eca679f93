//! Build script: lets the PostgreSQL tests report themselves as ignored when there is no
//! database, instead of passing without having run.
//!
//! Without `TEST_DATABASE_URL` in the environment of `cargo test`, it sets the cfg
//! `no_test_database`; the PostgreSQL tests carry
//! `#[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]`, so `cargo test`
//! lists them as ignored. With it set (as `.ci/run` does) they run. Setting or unsetting the
//! variable rebuilds the crate once.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_test_database)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        println!("cargo::rustc-cfg=no_test_database");
    }
}
