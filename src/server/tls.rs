//! HTTPS: a rustls server configuration whose certificate is re-read from its PEM files when
//! they change, so that cert-manager or ACME renewals take effect without a restart.
//!
//! The files are polled (read and compared byte for byte) every reload interval rather than
//! watched: Kubernetes swaps mounted Secrets by replacing a symlink, which file watchers often
//! miss. A changed pair is parsed and checked (the key must match the certificate) before it is
//! used; a pair that fails (e.g. the certificate written but not yet its key) is logged and the
//! previous certificate keeps serving until the next poll finds a good pair. Handshakes that
//! start after a reload get the new certificate; open connections keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the certificate and its key are, and how often to look for new ones.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM file with the certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM file with the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the two files are read again to look for a renewal.
    pub reload_interval: Duration,
}

/// Why a certificate pair could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the expected kind.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// rustls refused the pair (unsupported key, key not matching the certificate).
    #[error("the key in {key} does not fit the certificate in {cert}: {source}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
}

/// The raw contents of both files, as last read.
#[derive(PartialEq, Eq)]
struct Contents {
    cert: Vec<u8>,
    key: Vec<u8>,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

impl Contents {
    fn read(files: &TlsFiles) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(&files.cert)?,
            key: read(&files.key)?,
        })
    }

    fn certified_key(
        &self,
        files: &TlsFiles,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem {
                path: files.cert.clone(),
                what: format!("not a PEM certificate chain: {e}"),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Pem {
                path: files.cert.clone(),
                what: "no CERTIFICATE in the file".into(),
            });
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|e| TlsError::Pem {
            path: files.key.clone(),
            what: format!("no usable PRIVATE KEY: {e}"),
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Pair {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })
    }
}

/// Serves whichever certificate was loaded last.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// A TLS acceptor configuration with a certificate that follows its files.
pub struct ReloadingTls {
    config: Arc<ServerConfig>,
    current: Arc<Current>,
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    last: Contents,
}

impl ReloadingTls {
    /// Loads the certificate and key; ALPN offers HTTP/2 then HTTP/1.1.
    ///
    /// # Errors
    /// [`TlsError`] when a file cannot be read or parsed, or the key does not fit the certificate.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let last = Contents::read(&files)?;
        let key = last.certified_key(&files, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(key))));
        let mut config = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Pair {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source,
            })?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
            current,
            files,
            provider,
            last,
        })
    }

    /// The configuration to accept connections with.
    pub fn config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    /// Reads the files again; uses them if they changed and form a good pair.
    ///
    /// Returns `Ok(true)` when a new certificate is now served, `Ok(false)` when nothing changed.
    ///
    /// # Errors
    /// [`TlsError`] when the files changed but cannot be used (the previous certificate stays).
    pub fn reload_if_changed(&mut self) -> Result<bool, TlsError> {
        let now = Contents::read(&self.files)?;
        if now == self.last {
            return Ok(false);
        }
        let key = now.certified_key(&self.files, &self.provider)?;
        *self.current.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        self.last = now;
        Ok(true)
    }

    /// Polls the files every reload interval, forever (abort the task to stop it).
    pub async fn watch(mut self) {
        let mut tick = tokio::time::interval(self.files.reload_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match self.reload_if_changed() {
                Ok(true) => tracing::info!(
                    cert = %self.files.cert.display(),
                    "TLS certificate reloaded; new handshakes use it"
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!(
                    error = %e,
                    "TLS certificate files changed but cannot be used yet; still serving the previous certificate"
                ),
            }
        }
    }
}
