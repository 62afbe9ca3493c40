//! The console's sign-in throttle, in memory and bounded: every attempt counts against its user
//! name and its client address (an IPv4 address, an IPv6 /64) as a failure until it succeeds.
//! After `free` failures the next attempt must wait 1 s, then 2 s, 4 s…; at `lock_after` the
//! key is locked for `lock` (and again after every further failure). An attempt too early is
//! refused without checking the password ([`Refused::retry_after`] is the `Retry-After`).
//! A success resets the name's count and takes the attempt back from the address's, so a
//! valid account cannot be used to clear an address's record of other failures.
//!
//! Attempts are counted before the password is checked, so parallel guesses cannot all pass
//! between a check and its failure. A name is kept by its first 64 characters. Keys are forgotten [`FORGET`] after their last attempt;
//! at most [`MAX_KEYS`] per table, the oldest dropped beyond.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ConsoleSection;

/// Keys kept per table (names, addresses).
pub const MAX_KEYS: usize = 10_000;

/// A key with no attempt for this long starts afresh.
pub const FORGET: Duration = Duration::from_secs(24 * 3600);

/// The longest delay before the lock.
const MAX_DELAY: Duration = Duration::from_secs(5 * 60);

/// When a key may try again and how it got there.
#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

/// The schedule of one table.
#[derive(Debug, Clone, Copy)]
struct Rule {
    free: u32,
    lock_after: u32,
    lock: Duration,
}

impl Rule {
    /// How long after its last attempt a key with `failures` must wait.
    fn wait(&self, failures: u32) -> Duration {
        if failures >= self.lock_after {
            self.lock
        } else if failures < self.free {
            Duration::ZERO
        } else {
            let step = (failures - self.free).min(20);
            Duration::from_secs(1u64 << step).min(MAX_DELAY)
        }
    }
}

#[derive(Debug)]
struct Table<K> {
    rule: Rule,
    entries: HashMap<K, Entry>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn new(rule: Rule) -> Self {
        Table {
            rule,
            entries: HashMap::new(),
        }
    }

    /// How long `key` must still wait at `now` (zero: it may try).
    fn remaining(&self, key: &K, now: Instant) -> Duration {
        match self.entries.get(key) {
            Some(e) if now.saturating_duration_since(e.last) < FORGET => {
                (e.last + self.rule.wait(e.failures)).saturating_duration_since(now)
            }
            _ => Duration::ZERO,
        }
    }

    /// Counts an attempt; returns whether, if it fails, the key is locked.
    fn count(&mut self, key: &K, now: Instant) -> bool {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_KEYS {
            self.entries
                .retain(|_, e| now.saturating_duration_since(e.last) < FORGET);
            if self.entries.len() >= MAX_KEYS {
                if let Some(oldest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(k, _)| k.clone())
                {
                    self.entries.remove(&oldest);
                }
            }
        }
        let entry = self.entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) >= FORGET {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
        entry.failures >= self.rule.lock_after
    }

    fn reset(&mut self, key: &K) {
        self.entries.remove(key);
    }

    fn take_back(&mut self, key: &K) {
        if let Some(e) = self.entries.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
        }
    }
}

/// A client address as the throttle counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(u128);

impl AddressKey {
    /// IPv4 addresses as themselves, IPv6 by their /64 (an IPv4-mapped one as IPv4).
    pub fn of(addr: IpAddr) -> AddressKey {
        match addr {
            IpAddr::V4(v4) => AddressKey(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(u128::from(u32::from(v4))),
                None => AddressKey((u128::from(v6) >> 64 << 64) | 1),
            },
        }
    }
}

/// An attempt refused before its password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Whole seconds to wait (at least 1).
    pub retry_after: u64,
}

/// An attempt let through: what to report when it is known to have failed or succeeded.
#[derive(Debug, Clone)]
pub struct Attempt {
    name: String,
    address: Option<AddressKey>,
    /// The name is locked if this attempt fails.
    pub locks_name: bool,
    /// The address is locked if this attempt fails.
    pub locks_address: bool,
}

/// The throttle of the sign-in form.
#[derive(Debug)]
pub struct Throttle {
    tables: Mutex<(Table<String>, Table<AddressKey>)>,
}

impl Throttle {
    pub fn new(config: &ConsoleSection) -> Throttle {
        let lock = Duration::from_secs(u64::from(config.signin_lock_minutes) * 60);
        let name = Rule {
            free: config.signin_free_attempts,
            lock_after: config.signin_lock_after.max(1),
            lock,
        };
        // An address's delays start as many failures before its lock as a name's do.
        let address_lock = config.signin_address_lock_after.max(1);
        let steps = name.lock_after.saturating_sub(name.free);
        let address = Rule {
            free: address_lock.saturating_sub(steps),
            lock_after: address_lock,
            lock,
        };
        Throttle {
            tables: Mutex::new((Table::new(name), Table::new(address))),
        }
    }

    /// Counts an attempt of `name` (case-insensitive) from `address`, or refuses it.
    pub fn attempt(
        &self,
        name: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Refused> {
        // Bounded keys: a name longer than any operator's is refused anyway.
        let name: String = name.chars().take(64).collect::<String>().to_lowercase();
        let address = address.map(AddressKey::of);
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let (names, addresses) = &mut *tables;
        let wait = names
            .remaining(&name, now)
            .max(address.map_or(Duration::ZERO, |a| addresses.remaining(&a, now)));
        if !wait.is_zero() {
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(Refused {
                retry_after: secs.max(1),
            });
        }
        let locks_name = names.count(&name, now);
        let locks_address = address.is_some_and(|a| addresses.count(&a, now));
        Ok(Attempt {
            name,
            address,
            locks_name,
            locks_address,
        })
    }

    /// The attempt succeeded: the name starts afresh, the address's count drops by one.
    pub fn succeeded(&self, attempt: &Attempt) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let (names, addresses) = &mut *tables;
        names.reset(&attempt.name);
        if let Some(a) = &attempt.address {
            addresses.take_back(a);
        }
    }

    /// Names and addresses tracked now.
    pub fn tracked(&self) -> (usize, usize) {
        let tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        (tables.0.entries.len(), tables.1.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(&ConsoleSection {
            signin_free_attempts: 3,
            signin_lock_after: 6,
            signin_address_lock_after: 10,
            signin_lock_minutes: 15,
            ..ConsoleSection::default()
        })
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));

    #[test]
    fn delays_grow_then_the_name_locks() {
        let t = throttle();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.attempt("Aigerim", HOME, t0).is_ok());
        }
        // Three free failures; the fourth waits 1 s, then 2 s, then 4 s.
        assert_eq!(t.attempt("aigerim", None, t0).unwrap_err().retry_after, 1);
        let t1 = t0 + Duration::from_secs(1);
        assert!(t.attempt("aigerim", None, t1).is_ok());
        assert_eq!(t.attempt("aigerim", None, t1).unwrap_err().retry_after, 2);
        let t2 = t1 + Duration::from_secs(2);
        assert!(!t.attempt("aigerim", None, t2).unwrap().locks_name);
        let t3 = t2 + Duration::from_secs(4);
        assert!(t.attempt("aigerim", None, t3).unwrap().locks_name);
        assert_eq!(
            t.attempt("aigerim", None, t3).unwrap_err().retry_after,
            15 * 60
        );
        // Another name from elsewhere is not touched.
        assert!(t.attempt("dana", None, t3).is_ok());
    }

    #[test]
    fn a_success_resets_the_name_not_the_address() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            t.attempt("aigerim", HOME, now).unwrap();
        }
        let a = t.attempt("dana", HOME, now).unwrap();
        t.succeeded(&a);
        let a = t
            .attempt("aigerim", None, now + Duration::from_secs(1))
            .unwrap();
        t.succeeded(&a);
        assert!(t
            .attempt("aigerim", None, now + Duration::from_secs(1))
            .is_ok());
    }

    #[test]
    fn many_names_from_one_address_lock_the_address() {
        let t = throttle();
        let mut now = Instant::now();
        let mut locked = false;
        for i in 0..40 {
            match t.attempt(&format!("user{i}"), HOME, now) {
                Ok(a) => locked = a.locks_address,
                Err(r) => {
                    assert!(!locked, "locked, yet tried again");
                    now += Duration::from_secs(r.retry_after);
                }
            }
            if locked {
                break;
            }
        }
        assert!(locked);
        let refused = t.attempt("fresh", HOME, now).unwrap_err();
        assert_eq!(refused.retry_after, 15 * 60);
        assert!(t.attempt("fresh", None, now).is_ok());
    }

    #[test]
    fn the_tables_stay_bounded() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..(MAX_KEYS + 50) {
            let _ = t.attempt(&format!("user{i}"), None, now);
        }
        assert_eq!(t.tracked().0, MAX_KEYS);
    }

    #[test]
    fn a_long_name_is_kept_by_its_first_64_characters() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..3 {
            t.attempt(&"x".repeat(100_000), None, now).unwrap();
        }
        assert!(t.attempt(&"X".repeat(64), None, now).is_err());
        let tables = t.tables.lock().unwrap();
        assert!(tables.0.entries.keys().all(|k| k.len() == 64));
    }
}
