//! The development signer: a local key, no Lightning node, nothing can be paid.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;

use super::{Node, NodeError, NodeInfo, NodeInvoiceRequest, NodePayment};
use crate::bolt12::{InvoiceRequest, Keypair, Network, SecretKey, UnsignedInvoiceRequest, secp};

/// The file in the data directory that holds the key (hex, mode 0600).
pub const KEY_FILE: &str = "dev-signer.key";

/// Signs with a key kept in the data directory. It stores nothing itself: the service's store
/// is the only record, and no invoice for its requests can be paid.
pub struct DevSigner {
    keypair: Keypair,
    info: NodeInfo,
}

impl DevSigner {
    /// Loads the key from `data_dir`, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path, network: Network) -> std::io::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let secret = match std::fs::read_to_string(&path) {
            Ok(text) => parse_key(text.trim()).ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} does not hold a 32-byte hex secret key", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = random_key();
                std::fs::create_dir_all(data_dir)?;
                match write_private(&path, &hex::encode(secret.secret_bytes())) {
                    Ok(()) => secret,
                    // Another process sharing the directory created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Self::load_or_create(data_dir, network);
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        Ok(Self::from_secret(secret, network))
    }

    /// A signer with the given key (tests, benchmarks).
    pub fn from_secret(secret: SecretKey, network: Network) -> Self {
        let keypair = Keypair::from_secret_key(secp(), &secret);
        let info = NodeInfo {
            id: keypair.public_key(),
            network,
            version: concat!("invreqd-dev-signer-", env!("CARGO_PKG_VERSION")).to_string(),
            can_pay: false,
        };
        Self { keypair, info }
    }
}

fn random_key() -> SecretKey {
    use rand::RngCore;
    loop {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return key;
        }
    }
}

fn parse_key(hex_text: &str) -> Option<SecretKey> {
    let bytes = hex::decode(hex_text).ok()?;
    SecretKey::from_slice(&bytes).ok()
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[async_trait]
impl Node for DevSigner {
    fn info(&self) -> &NodeInfo {
        &self.info
    }

    fn signs_locally(&self) -> bool {
        true
    }

    async fn sign_and_store(
        &self,
        unsigned: &UnsignedInvoiceRequest,
        _single_use: bool,
        _label: Option<&str>,
    ) -> Result<InvoiceRequest, NodeError> {
        Ok(unsigned.sign(&self.keypair))
    }

    async fn list(&self, _invreq_id: Option<&str>) -> Result<Vec<NodeInvoiceRequest>, NodeError> {
        // Keeps nothing: a request it signed exists only if the store recorded it.
        Ok(Vec::new())
    }

    async fn disable(&self, invreq_id: &str) -> Result<NodeInvoiceRequest, NodeError> {
        // Nothing to disable here: the store's record is the only copy, and the service marks it.
        Ok(NodeInvoiceRequest {
            invreq_id: invreq_id.to_string(),
            active: false,
            used: false,
            single_use: true,
            bolt12: String::new(),
            label: None,
        })
    }

    async fn payments_since(
        &self,
        _created_index: u64,
        _updated_index: u64,
        wait: Duration,
    ) -> Result<Vec<NodePayment>, NodeError> {
        tokio::time::sleep(wait).await;
        Ok(Vec::new())
    }

    async fn ping(&self) -> Result<(), NodeError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = DevSigner::load_or_create(dir.path(), Network::Regtest).unwrap();
        let b = DevSigner::load_or_create(dir.path(), Network::Regtest).unwrap();
        assert_eq!(a.info().id, b.info().id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_corrupt_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not hex").unwrap();
        assert!(DevSigner::load_or_create(dir.path(), Network::Regtest).is_err());
    }
}
