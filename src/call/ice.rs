//! The call-centre's STUN and TURN servers: mapped to what the media (webrtcbin) takes, and
//! checked for `doctor` (a STUN binding request over UDP to each `stun:` and UDP `turn:` URL, a
//! TCP connection to each `turn:` URL with `?transport=tcp` and each `turns:` URL).

use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use senim_protocol::call::IceServer;

use crate::devices::call as media;

/// Maps the call-centre's ICE servers to the media's: the first STUN URL (webrtcbin takes
/// one), every TURN URL with its credentials; `stun:h:p` becomes `stun://h:p`, a missing port
/// the default, a `?transport=` suffix dropped. URLs the media cannot use are left out.
pub fn media_ice_servers(servers: &[IceServer]) -> Vec<media::IceServer> {
    let mut out = Vec::new();
    let mut stun = false;
    for server in servers {
        for url in &server.urls {
            let Some((scheme, rest)) = url.split_once(':') else {
                continue;
            };
            let rest = rest.trim_start_matches("//");
            let rest = rest.split('?').next().unwrap_or_default();
            if rest.is_empty() || rest.contains(['@', '/', ' ']) {
                continue;
            }
            let default_port = if scheme == "turns" { 5349 } else { 3478 };
            let host_port = match rest.rsplit_once(':') {
                Some((_, port)) if port.parse::<u16>().is_ok() && !rest.ends_with(']') => {
                    rest.to_string()
                }
                _ => format!("{rest}:{default_port}"),
            };
            match (scheme, &server.username, &server.credential) {
                ("stun", _, _) if !stun => {
                    stun = true;
                    out.push(media::IceServer::Stun {
                        url: format!("stun://{host_port}"),
                    });
                }
                ("turn" | "turns", Some(username), Some(credential)) => {
                    out.push(media::IceServer::Turn {
                        url: format!("{scheme}://{host_port}"),
                        username: username.clone(),
                        credential: credential.clone(),
                    });
                }
                _ => {}
            }
        }
    }
    out
}

/// STUN's magic cookie (RFC 5389).
const MAGIC_COOKIE: u32 = 0x2112_A442;

/// How an ICE server URL is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceTarget {
    /// `host:port`.
    pub host_port: String,
    pub tcp: bool,
}

/// Reads `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or `turns:host[:port]`.
pub fn target(url: &str) -> Result<IceTarget, String> {
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| format!("{url:?} has no scheme"))?;
    let rest = rest.trim_start_matches("//");
    let (host_port, query) = rest.split_once('?').unwrap_or((rest, ""));
    let default_port = match scheme {
        "stun" | "turn" => 3478,
        "turns" => 5349,
        _ => return Err(format!("{url:?} is not a stun:, turn: or turns: URL")),
    };
    if host_port.is_empty() || host_port.contains(['@', '/', ' ']) {
        return Err(format!("{url:?} has no usable host"));
    }
    let host_port = match host_port.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() && !host_port.ends_with(']') => {
            host_port.to_string()
        }
        _ => format!("{host_port}:{default_port}"),
    };
    let tcp = scheme == "turns" || (scheme == "turn" && query.contains("transport=tcp"));
    Ok(IceTarget { host_port, tcp })
}

/// Checks one ICE server URL within `limit`; answers the round trip.
pub fn probe(url: &str, limit: Duration) -> Result<Duration, String> {
    let target = target(url)?;
    let addr: SocketAddr = target
        .host_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", target.host_port))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", target.host_port))?;
    let started = Instant::now();
    if target.tcp {
        TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("TCP to {addr}: {e}"))?;
        return Ok(started.elapsed());
    }
    binding_request(addr, limit)?;
    Ok(started.elapsed())
}

/// Sends a STUN binding request and waits for the matching success response.
fn binding_request(addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .map_err(|e| format!("{e}"))?;
    let socket = UdpSocket::bind(bind).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    let transaction: [u8; 12] = rand::random();
    let mut request = Vec::with_capacity(20);
    request.extend_from_slice(&0x0001u16.to_be_bytes());
    request.extend_from_slice(&0u16.to_be_bytes());
    request.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    request.extend_from_slice(&transaction);
    let deadline = Instant::now() + limit;
    // UDP may lose a datagram: ask again every 500 ms until the deadline.
    loop {
        socket
            .send_to(&request, addr)
            .map_err(|e| format!("UDP to {addr}: {e}"))?;
        let round_end = (Instant::now() + Duration::from_millis(500)).min(deadline);
        loop {
            let left = round_end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            socket
                .set_read_timeout(Some(left))
                .map_err(|e| format!("{e}"))?;
            let mut buf = [0u8; 1500];
            match socket.recv_from(&mut buf) {
                Ok((n, from)) if from == addr && n >= 20 => {
                    let kind = u16::from_be_bytes([buf[0], buf[1]]);
                    if buf[8..20] == transaction && kind == 0x0101 {
                        return Ok(());
                    }
                    if buf[8..20] == transaction && kind == 0x0111 {
                        return Err(format!("{addr} refused the STUN binding request"));
                    }
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(format!("UDP from {addr}: {e}")),
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no STUN answer from {addr} within {} ms (UDP blocked, or nothing listens)",
                limit.as_millis()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str], creds: bool) -> IceServer {
        IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            username: creds.then(|| "1767225600:K-1".into()),
            credential: creds.then(|| "c2VjcmV0".into()),
        }
    }

    #[test]
    fn ice_servers_are_mapped_to_what_webrtcbin_takes() {
        let mapped = media_ice_servers(&[
            server(
                &["stun:stun.example.kz:3478", "stun:second.example.kz"],
                false,
            ),
            server(
                &[
                    "turn:turn.example.kz?transport=udp",
                    "turns:turn.example.kz:443",
                ],
                true,
            ),
            server(&["turn:no-credentials.example.kz:3478"], false),
            server(&["nonsense", "stun:"], false),
        ]);
        assert_eq!(
            mapped,
            vec![
                media::IceServer::Stun {
                    url: "stun://stun.example.kz:3478".into()
                },
                media::IceServer::Turn {
                    url: "turn://turn.example.kz:3478".into(),
                    username: "1767225600:K-1".into(),
                    credential: "c2VjcmV0".into(),
                },
                media::IceServer::Turn {
                    url: "turns://turn.example.kz:443".into(),
                    username: "1767225600:K-1".into(),
                    credential: "c2VjcmV0".into(),
                },
            ]
        );
        let config = media::CallConfig {
            ice_servers: mapped,
            ..media::CallConfig::default()
        };
        config.validate().unwrap();
    }

    #[test]
    fn urls_become_targets() {
        assert_eq!(
            target("stun:stun.example.kz").unwrap(),
            IceTarget {
                host_port: "stun.example.kz:3478".into(),
                tcp: false
            }
        );
        assert_eq!(
            target("turn:turn.example.kz:3479?transport=tcp").unwrap(),
            IceTarget {
                host_port: "turn.example.kz:3479".into(),
                tcp: true
            }
        );
        assert!(target("turns:t.example.kz").unwrap().tcp);
        assert!(target("http://x").is_err());
        assert!(target("stun:").is_err());
    }

    /// A STUN server on loopback that answers one binding request.
    fn one_shot_stun_server() -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            assert_eq!(n, 20);
            assert_eq!(&buf[0..2], &[0, 1]);
            let mut answer = buf[..20].to_vec();
            answer[0..2].copy_from_slice(&0x0101u16.to_be_bytes());
            socket.send_to(&answer, from).unwrap();
        });
        addr
    }

    #[test]
    fn a_stun_server_that_answers_is_reachable_and_silence_is_not() {
        let addr = one_shot_stun_server();
        probe(&format!("stun:{addr}"), Duration::from_secs(2)).unwrap();
        // Nobody listens on this port: no answer within the limit.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let e = probe(&format!("stun:{addr}"), Duration::from_millis(600)).unwrap_err();
        assert!(e.contains("no STUN answer"), "{e}");
    }

    #[test]
    fn a_tcp_turn_server_is_reachable_when_it_accepts() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        probe(
            &format!("turn:{addr}?transport=tcp"),
            Duration::from_secs(2),
        )
        .unwrap();
        drop(listener);
        assert!(probe(&format!("turns:{addr}"), Duration::from_secs(2)).is_err());
    }
}
