//! Address forms users write: `ip`, `ip:port`, `[v6]:port` and bare `v6`
//! for servers (port 53 when omitted); CIDR or a bare address for `allow`.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// Parses a DNS server or listen address; the port defaults to 53.
pub fn parse_server_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err("expected \"ip\", \"ip:port\", \"[v6]:port\" or \"v6\"".into())
}

/// Parses an `allow` entry: a network in CIDR form, or one address.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        if net.addr() != net.network() {
            return Err(format!("host bits set; did you mean {}?", net.trunc()));
        }
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| "expected a network such as 10.0.0.0/8 or an address".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_forms() {
        let ok = [
            ("192.0.2.53", "192.0.2.53:53"),
            ("192.0.2.54:5300", "192.0.2.54:5300"),
            ("[2001:db8::1]:5300", "[2001:db8::1]:5300"),
            ("2001:db8::1", "[2001:db8::1]:53"),
            ("[2001:db8::1]", "[2001:db8::1]:53"),
        ];
        for (input, want) in ok {
            assert_eq!(
                parse_server_addr(input).unwrap().to_string(),
                want,
                "{input}"
            );
        }
        for bad in ["", "dns.example", "192.0.2.1:99999", "1.2.3"] {
            assert!(parse_server_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn net_forms() {
        assert_eq!(parse_net("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_net("127.0.0.1").unwrap().to_string(), "127.0.0.1/32");
        assert_eq!(parse_net("::1").unwrap().to_string(), "::1/128");
        assert!(parse_net("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(parse_net("ten").is_err());
    }
}
