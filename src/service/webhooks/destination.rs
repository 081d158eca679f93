//! Where deliveries may go: `https://` (unless HTTP is allowed) and never, unless allowed, an
//! address inside the operator's network (loopback, private, link-local, …).
//!
//! The check is made twice: on the URL at registration (an IP literal), and on every address a
//! name resolves to at delivery time, by the HTTP client's own resolver
//! ([`GuardedResolver`]): the client connects only to the addresses that passed, so a name
//! that changes its answer between a check and the connect cannot slip through.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::service::ValidationError;

/// What destinations are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// `http://` URLs are accepted (`--webhook-allow-http`).
    pub allow_http: bool,
    /// Loopback, private, link-local and other non-public addresses are accepted
    /// (`--webhook-allow-private`).
    pub allow_private: bool,
}

/// A delivery refused because its destination is not public.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not a public address (allow it with --webhook-allow-private)")]
pub struct RefusedDestination(pub String);

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24, protocol assignments
                || (o[0] == 198 && (o[1] & 0xfe) == 18) // 198.18.0.0/15, benchmarking
                || o[0] >= 240) // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
                || s[0] == 0x2002) // 6to4 (embeds IPv4)
        }
    }
}

impl DestinationPolicy {
    /// Checks a URL at registration: absolute `https://` (or `http://` when allowed), a host,
    /// no credentials, and not an IP literal outside the public internet unless allowed.
    ///
    /// # Errors
    /// A [`ValidationError`] on field `url` saying what is wrong.
    pub fn check_url(&self, raw: &str) -> Result<Url, ValidationError> {
        let bad = |m: String| ValidationError::new("url", m);
        if raw.len() > 2048 {
            return Err(bad("url must be at most 2048 bytes".into()));
        }
        let url = Url::parse(raw).map_err(|e| bad(format!("url is not a valid URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(bad(
                    "url must be https:// (this server does not allow http:// webhooks)".into(),
                ));
            }
            other => return Err(bad(format!("url must be https://, not {other}://"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("url must not carry credentials".into()));
        }
        let ip = match url.host() {
            None => return Err(bad("url must name a host".into())),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = ip
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(bad(format!(
                "url points to {ip}, which is not a public address; this server refuses webhooks into private networks"
            )));
        }
        Ok(url)
    }

    /// Checks the address of an IP-literal URL at delivery time (the resolver never sees it).
    ///
    /// # Errors
    /// [`RefusedDestination`] when the URL's IP is not allowed.
    pub fn check_literal(&self, url: &Url) -> Result<(), RefusedDestination> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err(RefusedDestination(ip.to_string()))
        }
    }
}

/// The HTTP client's resolver: the system's answer, without the addresses the policy refuses;
/// an error when none is left.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    /// The policy.
    pub policy: DestinationPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.policy.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let shown = found
                    .first()
                    .map_or_else(|| host.clone(), |a| format!("{host} ({})", a.ip()));
                return Err(Box::new(RefusedDestination(shown)) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The resolver, shared.
pub fn resolver(policy: DestinationPolicy) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { policy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_are_checked() {
        let strict = DestinationPolicy::default();
        assert!(strict.check_url("https://example.com/hook").is_ok());
        assert!(strict.check_url("http://example.com/hook").is_err());
        assert!(strict.check_url("https://127.0.0.1:8443/").is_err());
        assert!(strict.check_url("https://[::1]/").is_err());
        assert!(strict.check_url("https://u:p@example.com/").is_err());
        assert!(strict.check_url("ftp://example.com/").is_err());
        let open = DestinationPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(open.check_url("http://127.0.0.1:9/").is_ok());
    }
}
