//! `docs/architecture.md` against the code: the error-code table names the codes the API layer
//! answers with (`ErrorCode`) and the OpenAPI document lists, with the status each carries; and
//! every status change of the service writes its event. (The status diagram is checked in
//! `src/domain/lifecycle.rs`.)

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

/// Every Rust source under `dir`, as (path, text).
fn sources_under(dir: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out
}

#[test]
fn every_status_change_of_the_service_writes_its_event() {
    // The store's status changes (lifecycle moves) are called from src/service/events.rs only,
    // which hands each move its event (the outbox row) for the same transaction: no other
    // service module can move a request without its event.
    let moves = [
        "store.apply(",
        "store.apply_with(",
        "store.activate(",
        "store.rekey_pending(",
    ];
    let mut seen = 0;
    for (path, text) in sources_under("src/service") {
        let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for m in moves {
            let n = flat.matches(m).count();
            if path.ends_with("service/events.rs") {
                seen += n;
            } else {
                assert_eq!(
                    n, 0,
                    "{path} calls {m}: move requests with Service::move_request"
                );
            }
        }
    }
    assert!(seen >= 2, "src/service/events.rs applies the moves");
}
