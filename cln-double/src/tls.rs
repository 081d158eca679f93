//! The double's TLS identity: a fresh CA and a server certificate for `cln` and `localhost`,
//! as clnrest generates them (clients must trust the CA and connect as `localhost`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and the server configuration it signed.
pub struct TlsIdentity {
    /// The CA certificate, PEM (what clnrest writes as `ca.pem`).
    pub ca_pem: String,
    /// Server side of the TLS handshake.
    pub server_config: Arc<ServerConfig>,
    /// Server side for gRPC: the same certificate, HTTP/2, and a client certificate signed by
    /// the CA required (mutual TLS, as cln-grpc).
    pub grpc_server_config: Arc<ServerConfig>,
    /// The client certificate, PEM (cln-grpc's `client.pem`, "cln grpc Client").
    pub client_cert_pem: String,
    /// Its key, PEM (`client-key.pem`).
    pub client_key_pem: String,
}

/// Generates a CA ("cln Root REST CA") and a server certificate ("cln rest server") with the
/// subject alternative names `cln` and `localhost` (HTTP/1.1 for clnrest, HTTP/2 with a required
/// client certificate for gRPC), and a client certificate for gRPC.
pub fn generate() -> Result<TlsIdentity, Box<dyn std::error::Error + Send + Sync>> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "cln Root REST CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["cln".to_string(), "localhost".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "cln rest server");
    let server_cert = params.signed_by(&server_key, &issuer)?;

    let client_key = KeyPair::generate()?;
    let mut client_params =
        CertificateParams::new(vec!["cln".to_string(), "localhost".to_string()])?;
    client_params
        .distinguished_name
        .push(DnType::CommonName, "cln grpc Client");
    let client_cert = client_params.signed_by(&client_key, &issuer)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca_cert.der().to_vec()))?;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()?;
    let mut grpc = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )?;
    grpc.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsIdentity {
        ca_pem: ca_cert.pem(),
        server_config: Arc::new(config),
        grpc_server_config: Arc::new(grpc),
        client_cert_pem: client_cert.pem(),
        client_key_pem: client_key.serialize_pem(),
    })
}
