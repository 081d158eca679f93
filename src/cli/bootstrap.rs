//! The bootstrap admin key: made on the first start with an empty key table, printed once to
//! stdout and written to `<data-dir>/bootstrap-admin.key` (mode 0600).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::service::Service;

/// The file the bootstrap admin key is written to.
pub const FILE_NAME: &str = "bootstrap-admin.key";

/// The path of the bootstrap key file in a data directory.
pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Makes the bootstrap key if the store has none; announces it once. Only one of several
/// replicas starting together on one database makes it (the store's claim).
pub async fn ensure_bootstrap_key(service: &Service, data_dir: &Path) -> anyhow::Result<()> {
    let Some(created) = service.keys().ensure_bootstrap_key().await? else {
        return Ok(());
    };
    let path = key_path(data_dir);
    let written = write_secret_file(&path, &created.token);
    // stdout, not the logs: the key must never reach a log pipeline.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\ninvreqd: bootstrap admin API key (scope admin; shown once):\n\n    {}\n",
        created.token
    );
    match &written {
        Ok(()) => {
            let _ = writeln!(out, "    also written to {} (mode 0600)\n", path.display());
        }
        Err(e) => {
            let _ = writeln!(out, "    could NOT be written to {}: {e}\n", path.display());
        }
    }
    let _ = out.flush();
    tracing::warn!(
        key_id = %created.record.key_id,
        file = %path.display(),
        "bootstrap admin API key created; use it to create scoped keys (POST /v1/keys), then revoke it"
    );
    Ok(())
}

/// Writes `content` to a new file readable only by its owner.
fn write_secret_file(path: &Path, content: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let mut f = opts.open(path)?;
        // A file that existed before keeps its mode on open: set it.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(content.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut f = opts.open(path)?;
        f.write_all(content.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    }
}
