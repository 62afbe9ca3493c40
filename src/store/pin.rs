//! The technician PIN's lock-out (`technician_pin`, one row): failures and lock-until, kept so
//! that a restart or a power cut does not give an attacker fresh attempts. The flow counts in
//! durations on its own clock; here the lock ends at a UTC instant, read back as what is left.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, OptionalExtension};

use super::{parse_ts, ts, Store, StoreError};
use crate::flow::{PinLock, PIN_LOCK_MAX_MS};

/// The PIN lock-out as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredPinLock {
    pub failures: u32,
    /// When new attempts are allowed again; `None` when not locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl StoredPinLock {
    /// The flow's lock-out (a duration from `now`) as an instant.
    pub fn from_flow(lock: PinLock, now: DateTime<Utc>) -> StoredPinLock {
        let ms = i64::try_from(lock.locked_for_ms.min(PIN_LOCK_MAX_MS)).unwrap_or(0);
        StoredPinLock {
            failures: lock.failures,
            locked_until: (ms > 0).then(|| now + Duration::milliseconds(ms)),
        }
    }

    /// What is left of the lock at `now`, for the flow; never longer than the longest lock
    /// (a clock set back cannot lock the kiosk for days).
    pub fn to_flow(self, now: DateTime<Utc>) -> PinLock {
        let left = self
            .locked_until
            .map(|until| (until - now).num_milliseconds().max(0))
            .unwrap_or(0);
        PinLock {
            failures: self.failures,
            locked_for_ms: u64::try_from(left).unwrap_or(0).min(PIN_LOCK_MAX_MS),
        }
    }
}

impl Store {
    /// The PIN lock-out kept so far (none: no failures).
    pub fn pin_lock(&self) -> Result<StoredPinLock, StoreError> {
        let row: Option<(i64, Option<String>)> = self
            .conn
            .query_row(
                "SELECT failures, locked_until FROM technician_pin WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((failures, until)) = row else {
            return Ok(StoredPinLock::default());
        };
        Ok(StoredPinLock {
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            locked_until: until.as_deref().map(parse_ts).transpose()?,
        })
    }

    /// Keeps the PIN lock-out (committed before this returns).
    pub fn set_pin_lock(&self, lock: &StoredPinLock) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO technician_pin (id, failures, locked_until) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, \
             locked_until = excluded.locked_until",
            params![i64::from(lock.failures), lock.locked_until.map(ts)],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pin_lock_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        // Whole milliseconds, as the store keeps times.
        let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.pin_lock().unwrap(), StoredPinLock::default());
            let lock = StoredPinLock::from_flow(
                PinLock {
                    failures: 4,
                    locked_for_ms: 60_000,
                },
                now,
            );
            store.set_pin_lock(&lock).unwrap();
        }
        // A restart: a new connection on the same folder.
        let store = Store::open(dir.path()).unwrap();
        let kept = store.pin_lock().unwrap();
        assert_eq!(kept.failures, 4);
        let left = kept.to_flow(now + Duration::seconds(15));
        assert_eq!(
            left,
            PinLock {
                failures: 4,
                locked_for_ms: 45_000
            }
        );
        // The right PIN clears it.
        store.set_pin_lock(&StoredPinLock::default()).unwrap();
        assert_eq!(store.pin_lock().unwrap(), StoredPinLock::default());
    }

    #[test]
    fn a_lock_far_in_the_future_is_cut_and_a_past_one_is_over() {
        let now = Utc::now();
        let far = StoredPinLock {
            failures: 9,
            locked_until: Some(now + Duration::days(30)),
        };
        assert_eq!(far.to_flow(now).locked_for_ms, PIN_LOCK_MAX_MS);
        let past = StoredPinLock {
            failures: 3,
            locked_until: Some(now - Duration::seconds(1)),
        };
        assert_eq!(
            past.to_flow(now),
            PinLock {
                failures: 3,
                locked_for_ms: 0
            }
        );
    }
}
