//! Where a request comes from, for the limits that hold across accounts.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The longest host-chosen source kept, in bytes.
const LONGEST: usize = 128;

/// Where a request comes from: the client's IP address, or a key the host
/// chooses (an API client, a tenant). Failed attempts and codes sent are
/// limited per source across every account (see
/// [`LimitPolicy`](crate::LimitPolicy)), so that one client guessing one code
/// on each of many accounts, or sending codes for many accounts, is held
/// back. Give it with [`TwoFactor::with_source`](crate::TwoFactor::with_source).
///
/// An IPv6 address counts by its /64 network, which one subscriber usually
/// holds whole; an IPv4-mapped IPv6 address counts as its IPv4 address.
/// Behind a reverse proxy, take the client address from the header your
/// proxy sets, never from one the client may set itself.
///
/// Only a keyed hash of a source is stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Source(String);

impl Source {
    /// The client at `addr`.
    ///
    /// ```
    /// use twofactor::Source;
    /// let a = Source::ip("2001:db8:1:2:aaaa::1".parse().unwrap());
    /// let b = Source::ip("2001:db8:1:2:bbbb::9".parse().unwrap());
    /// assert_eq!(a, b); // one /64
    /// assert_ne!(a, Source::ip("2001:db8:1:3::1".parse().unwrap()));
    /// ```
    pub fn ip(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Self::v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::v4(v4),
                None => {
                    let s = v6.segments();
                    let net = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    Self(format!("ip6:{net}/64"))
                }
            },
        }
    }

    fn v4(addr: Ipv4Addr) -> Self {
        Self(format!("ip4:{addr}"))
    }

    /// A source the host names itself. Control characters become spaces;
    /// more than 128 bytes are cut.
    pub fn named(name: &str) -> Self {
        let mut kept = String::from("key:");
        for c in name.chars() {
            if kept.len() + c.len_utf8() > LONGEST + 4 {
                break;
            }
            kept.push(if c.is_control() { ' ' } else { c });
        }
        Self(kept)
    }

    /// The normalised form the limits count by.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<IpAddr> for Source {
    fn from(addr: IpAddr) -> Self {
        Self::ip(addr)
    }
}

impl From<Ipv4Addr> for Source {
    fn from(addr: Ipv4Addr) -> Self {
        Self::ip(IpAddr::V4(addr))
    }
}

impl From<Ipv6Addr> for Source {
    fn from(addr: Ipv6Addr) -> Self {
        Self::ip(IpAddr::V6(addr))
    }
}

impl From<SocketAddr> for Source {
    fn from(addr: SocketAddr) -> Self {
        Self::ip(addr.ip())
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Source({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Source {
        Source::ip(s.parse().unwrap())
    }

    #[test]
    fn addresses_normalise() {
        assert_eq!(ip("192.0.2.7").as_str(), "ip4:192.0.2.7");
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
        assert_eq!(ip("2001:db8::1").as_str(), "ip6:2001:db8::/64");
        assert_eq!(ip("2001:db8:0:0:ffff::1"), ip("2001:db8::2"));
        assert_ne!(ip("2001:db8:0:1::1"), ip("2001:db8::1"));
        let sock: SocketAddr = "192.0.2.7:443".parse().unwrap();
        assert_eq!(Source::from(sock), ip("192.0.2.7"));
    }

    #[test]
    fn named_sources_are_bounded_and_apart_from_addresses() {
        assert_ne!(Source::named("192.0.2.7"), ip("192.0.2.7"));
        assert_eq!(Source::named("a\nb").as_str(), "key:a b");
        let long = Source::named(&"é".repeat(500));
        assert!(long.as_str().len() <= LONGEST + 4);
    }
}
