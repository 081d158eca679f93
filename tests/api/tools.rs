//! External programs some tests drive: Debian's `chromium` (headless) and a Python QR decoder
//! (zxing-cpp from PyPI, in `.ci-venv`). `.ci/run` installs both and sets
//! `INVREQD_REQUIRE_BROWSER=1` / `INVREQD_REQUIRE_QR_DECODER=1`, so in CI a missing tool fails the
//! test; elsewhere the test says SKIPPED on the terminal (past the test harness's capture) and
//! returns.
#![allow(dead_code)] // each test binary uses a part

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Says loudly that a test did not run, or fails it when `require_var` is `1`.
pub fn skip_or_fail(test: &str, why: &str, require_var: &str) {
    if std::env::var(require_var).as_deref() == Ok("1") {
        panic!("{test}: {why} (and {require_var}=1 requires it)");
    }
    // Straight to the process's stderr: the harness captures only print!/eprint!.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: {why}; set {require_var}=1 to make this a failure ***\n"
    );
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The chromium binary: `$INVREQD_CHROMIUM`, or `chromium` / `chromium-browser` on the PATH.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("INVREQD_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    on_path("chromium").or_else(|| on_path("chromium-browser"))
}

/// A Python that can import zxingcpp and PIL: `$INVREQD_QR_PYTHON`, or `.ci-venv/bin/python`.
pub fn qr_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("INVREQD_QR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci-venv/bin/python"));
    let ok = std::process::Command::new(&candidate)
        .args(["-c", "import zxingcpp, PIL"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(candidate)
}

/// The texts of the QR codes zxing-cpp finds in an image file.
pub fn decode_qr(python: &Path, image: &Path) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/qr_decode.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(image)
        .output()
        .expect("run the QR decoder");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Where a test keeps files worth looking at afterwards: `target/<name>/`.
pub fn artifacts_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// Headless chromium with the flags that keep it off the network and quiet; every run gets a
/// fresh profile (no state, and no profile lock shared with a run still shutting down).
pub struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    /// A browser.
    pub fn new(bin: PathBuf) -> Self {
        Self { bin }
    }

    fn command(&self, profile: &Path, extra: &[String], url: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
        cmd
    }

    async fn run(&self, extra: &[String], url: &str, limit: Duration) -> std::process::Output {
        let profile = tempfile::tempdir().expect("profile dir");
        let started = std::time::Instant::now();
        let child = self
            .command(profile.path(), extra, url)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start chromium");
        let out = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Ok(out) => out.expect("chromium output"),
            Err(_) => panic!("chromium {extra:?} did not finish within {limit:?}"),
        };
        println!("chromium {extra:?}: {:?}", started.elapsed());
        out
    }

    /// The DOM after the page ran for `budget_ms` of virtual time (network waits pause the
    /// virtual clock, so a pending long-poll holds the dump until it is answered).
    pub async fn dump_dom(&self, url: &str, width: u32, height: u32, budget_ms: u32) -> String {
        let out = self
            .run(
                &[
                    format!("--window-size={width},{height}"),
                    format!("--virtual-time-budget={budget_ms}"),
                    "--dump-dom".into(),
                ],
                url,
                Duration::from_secs(90),
            )
            .await;
        assert!(
            out.status.success(),
            "chromium --dump-dom failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 DOM")
    }

    /// A PNG screenshot of the page at this window size.
    pub async fn screenshot(&self, url: &str, width: u32, height: u32, path: &Path) {
        let _ = std::fs::remove_file(path);
        let out = self
            .run(
                &[
                    format!("--window-size={width},{height}"),
                    "--virtual-time-budget=500".into(),
                    format!("--screenshot={}", path.display()),
                ],
                url,
                Duration::from_secs(90),
            )
            .await;
        assert!(
            out.status.success() && path.is_file(),
            "chromium --screenshot failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
