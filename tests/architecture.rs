//! `docs/architecture.md` against the code: the error-code table names the codes the API layer
//! answers with (and, where the OpenAPI document lists the codes, exactly those), with the
//! status each carries. (The status diagram is checked in `src/domain/lifecycle.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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

/// Every Rust source under `src/api`, concatenated.
fn api_sources() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = String::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"),
        &mut out,
    );
    out
}

#[test]
fn every_documented_error_code_is_one_the_api_answers_with() {
    let api = api_sources();
    for code in documented().keys() {
        let quoted = format!("\"{code}\"");
        let variant: String = code
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        assert!(
            api.contains(&quoted) || api.contains(&format!("ErrorCode::{variant}")),
            "docs/architecture.md lists {code}, which src/api never answers with"
        );
    }
}

#[test]
fn the_documented_codes_are_the_openapi_codes_when_it_lists_them() {
    let doc: serde_json::Value = serde_json::from_str(&read("openapi/openapi.json")).unwrap();
    let schemas = &doc["components"]["schemas"];
    let listed = [
        &schemas["ErrorCode"]["enum"],
        &schemas["Problem"]["properties"]["code"]["enum"],
    ]
    .into_iter()
    .find_map(|v| v.as_array().cloned());
    let Some(listed) = listed else {
        // The document does not enumerate the codes yet: the source check above stands alone.
        return;
    };
    let listed: BTreeSet<String> = listed
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let documented: BTreeSet<String> = documented().into_keys().collect();
    assert_eq!(documented, listed, "docs/architecture.md and openapi.json");
}

#[test]
fn each_documented_status_is_the_one_the_api_gives_the_code() {
    // Where src/api pairs a code with a status in one expression (`StatusCode::X, "code"` or
    // `(S::X, "code"`), the table says that status.
    let api = api_sources().replace(['\n', ' '], "");
    let statuses = [
        ("BAD_REQUEST", 400),
        ("UNAUTHORIZED", 401),
        ("FORBIDDEN", 403),
        ("NOT_FOUND", 404),
        ("METHOD_NOT_ALLOWED", 405),
        ("CONFLICT", 409),
        ("PAYLOAD_TOO_LARGE", 413),
        ("UNSUPPORTED_MEDIA_TYPE", 415),
        ("TOO_MANY_REQUESTS", 429),
        ("INTERNAL_SERVER_ERROR", 500),
        ("NOT_IMPLEMENTED", 501),
        ("BAD_GATEWAY", 502),
        ("SERVICE_UNAVAILABLE", 503),
        ("GATEWAY_TIMEOUT", 504),
    ];
    let mut checked = 0;
    for (code, want) in documented() {
        for (name, status) in statuses {
            for prefix in ["StatusCode::", "S::"] {
                if api.contains(&format!("{prefix}{name},\"{code}\"")) {
                    assert_eq!(status, want, "{code}: src/api answers {status}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} pairs found in src/api");
}
