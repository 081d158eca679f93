//! `docs/architecture.md` against the code: the error-code table names the codes the API layer
//! answers with (`ErrorCode`) and the OpenAPI document lists, with the status each carries.
//! (The status diagram is checked in `src/domain/lifecycle.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use invreqd::error_code::ErrorCode;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `code → status` from the table under "## Error codes".
fn documented() -> BTreeMap<String, u16> {
    let doc = read("docs/architecture.md");
    let section = doc
        .split("## Error codes")
        .nth(1)
        .expect("an Error codes section");
    let mut codes = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let code = cells[1].trim_matches('`').to_owned();
        let status: u16 = cells[2].parse().unwrap_or_else(|_| panic!("{line}"));
        assert!(codes.insert(code, status).is_none(), "{line} listed twice");
    }
    assert!(codes.len() > 20, "the table was read");
    codes
}

/// `code → status` from the one error vocabulary the API answers with (`src/error_code.rs`).
fn answered() -> BTreeMap<String, u16> {
    ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.status()))
        .collect()
}

#[test]
fn the_documented_error_codes_are_the_codes_the_api_answers_with_and_their_statuses() {
    assert_eq!(
        documented(),
        answered(),
        "docs/architecture.md's table and src/error_code.rs"
    );
}

#[test]
fn the_documented_codes_are_the_openapi_codes() {
    let doc: serde_json::Value = serde_json::from_str(&read("openapi/openapi.json")).unwrap();
    let listed = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("openapi.json enumerates the error codes");
    let listed: BTreeSet<String> = listed
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let documented: BTreeSet<String> = documented().into_keys().collect();
    assert_eq!(documented, listed, "docs/architecture.md and openapi.json");
}
