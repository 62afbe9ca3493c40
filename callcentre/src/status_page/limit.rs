//! A per-client request limit for the status page, in memory and bounded: a fixed one-minute
//! window per client (an IPv4 address, or an IPv6 /64 — one household or phone's range),
//! at most [`MAX_CLIENTS`] windows at a time.
//!
//! Not `governor`: its keyed limiter keeps a state per key with no upper bound (pruning only
//! drops keys that look fresh) and brings its own map and clock crates; what the page needs is
//! this table and its cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients tracked at once; beyond, new clients are refused until windows expire (someone is
/// sweeping the page from thousands of addresses within a minute).
pub const MAX_CLIENTS: usize = 10_000;

/// A client as the limit counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

impl ClientKey {
    /// IPv4 addresses as themselves, IPv6 by their /64 (an IPv4-mapped one as IPv4).
    pub fn of(addr: IpAddr) -> ClientKey {
        match addr {
            IpAddr::V4(v4) => ClientKey(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(u128::from(u32::from(v4))),
                None => ClientKey((u128::from(v6) >> 64 << 64) | 1),
            },
        }
    }
}

/// Requests allowed per client per window.
#[derive(Debug)]
pub struct Limiter {
    per_window: u32,
    window: Duration,
    clients: Mutex<HashMap<ClientKey, (Instant, u32)>>,
}

impl Limiter {
    pub fn new(per_window: u32, window: Duration) -> Limiter {
        Limiter {
            per_window,
            window,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `client` at `now`; `false` when it is over the limit.
    pub fn allow(&self, client: ClientKey, now: Instant) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if !clients.contains_key(&client) && clients.len() >= MAX_CLIENTS {
            let window = self.window;
            clients.retain(|_, (start, _)| now.saturating_duration_since(*start) < window);
            if clients.len() >= MAX_CLIENTS {
                return false;
            }
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.per_window {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// How many clients are tracked now.
    pub fn tracked(&self) -> usize {
        self.clients.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    #[test]
    fn a_client_gets_its_quota_per_window_and_others_are_not_affected() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(v4(1), t0)));
        assert!(!limiter.allow(v4(1), t0));
        assert!(
            limiter.allow(v4(2), t0),
            "another address has its own quota"
        );
        assert!(!limiter.allow(v4(1), t0 + Duration::from_secs(59)));
        assert!(
            limiter.allow(v4(1), t0 + Duration::from_secs(60)),
            "a new window"
        );
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let a: Ipv6Addr = "2a02:1:2:3::1".parse().unwrap();
        let b: Ipv6Addr = "2a02:1:2:3:ffff::9".parse().unwrap();
        let c: Ipv6Addr = "2a02:1:2:4::1".parse().unwrap();
        assert_eq!(ClientKey::of(a.into()), ClientKey::of(b.into()));
        assert_ne!(ClientKey::of(a.into()), ClientKey::of(c.into()));
        let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ClientKey::of(mapped.into()), v4(1));
    }

    #[test]
    fn memory_stays_bounded_and_expired_windows_make_room() {
        let limiter = Limiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..MAX_CLIENTS as u32 {
            assert!(limiter.allow(ClientKey::of(IpAddr::V4(Ipv4Addr::from(i))), t0));
        }
        let newcomer = ClientKey::of(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1)));
        assert!(
            !limiter.allow(newcomer, t0),
            "full: refused, not remembered"
        );
        assert_eq!(limiter.tracked(), MAX_CLIENTS);
        assert!(limiter.allow(newcomer, t0 + Duration::from_secs(61)));
        assert_eq!(limiter.tracked(), 1, "the expired windows were dropped");
    }
}
