//! The live picture one server keeps in memory — who is at which kiosk, the consultant calls,
//! the calls staff took, when each kiosk was last heard — and the rules by which a fact from
//! the bus changes it. Every server applies the same facts by the same rules, so every
//! server's picture is the same. A removal is dated, and an older fact arriving late (from
//! another server) does not bring back what it removed.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use senim_protocol::Journey;

use super::Fact;

/// Someone at a kiosk now.
#[derive(Debug, Clone, PartialEq)]
pub struct Present {
    pub kiosk_id: String,
    pub site: String,
    pub journey: Option<Journey>,
    /// When a server learnt of it (the console's timer counts from here).
    pub since: DateTime<Utc>,
}

/// A citizen in a service guide waiting for a consultant (centre staff on the floor).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsultantNeeded {
    pub kiosk_id: String,
    pub site: String,
    pub service_id: String,
    /// 1-based step; 0 on the service's overview page.
    pub step: u32,
    /// The press of the button, by the kiosk's clock (identifies the call in resends).
    pub called_at: DateTime<Utc>,
    /// When a server learnt of it (the console's timer counts from here).
    pub since: DateTime<Utc>,
}

/// What a fact changed, for the console's live feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub presence: bool,
    pub consultant: bool,
}

#[derive(Debug, Default)]
struct Inner {
    presence: HashMap<String, Present>,
    consultants: HashMap<String, ConsultantNeeded>,
    /// Per kiosk, the `called_at` of the last call staff took: a resend of it is ignored.
    taken: HashMap<String, DateTime<Utc>>,
    /// Per kiosk, its last heartbeat's arrival at any server.
    seen: HashMap<String, DateTime<Utc>>,
    /// Per kiosk, when its citizen last left and when its consultant call last ended.
    left: HashMap<String, DateTime<Utc>>,
    ended: HashMap<String, DateTime<Utc>>,
}

/// One server's live picture.
#[derive(Debug, Default)]
pub struct Picture {
    inner: Mutex<Inner>,
}

fn later(map: &mut HashMap<String, DateTime<Utc>>, kiosk_id: &str, at: DateTime<Utc>) {
    let t = map.entry(kiosk_id.to_string()).or_insert(at);
    *t = (*t).max(at);
}

impl Inner {
    fn depart(&mut self, kiosk_id: &str, at: DateTime<Utc>) -> Changes {
        later(&mut self.left, kiosk_id, at);
        let presence = self.presence.get(kiosk_id).is_some_and(|p| p.since <= at)
            && self.presence.remove(kiosk_id).is_some();
        Changes {
            presence,
            // The person left: nobody is waiting for a consultant there any more.
            consultant: self.end_consultant(kiosk_id, at),
        }
    }

    fn end_consultant(&mut self, kiosk_id: &str, at: DateTime<Utc>) -> bool {
        later(&mut self.ended, kiosk_id, at);
        self.consultants
            .get(kiosk_id)
            .is_some_and(|c| c.since <= at)
            && self.consultants.remove(kiosk_id).is_some()
    }
}

impl Picture {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a fact about kiosks (the others change nothing here).
    pub fn apply(&self, fact: &Fact) -> Changes {
        let mut inner = self.lock();
        let mut changes = Changes::default();
        match fact {
            Fact::Presence {
                kiosk_id,
                site,
                present: true,
                journey,
                at,
            } => {
                if inner.left.get(kiosk_id).is_some_and(|left| *left >= *at) {
                    return changes;
                }
                changes.presence = match inner.presence.get_mut(kiosk_id) {
                    Some(p) if p.journey == *journey => false,
                    Some(p) => {
                        p.journey = *journey;
                        true
                    }
                    None => {
                        inner.presence.insert(
                            kiosk_id.clone(),
                            Present {
                                kiosk_id: kiosk_id.clone(),
                                site: site.clone(),
                                journey: *journey,
                                since: *at,
                            },
                        );
                        true
                    }
                };
            }
            Fact::Presence {
                kiosk_id,
                present: false,
                at,
                ..
            } => changes = inner.depart(kiosk_id, *at),
            Fact::Beat {
                kiosk_id,
                in_use,
                at,
            } => {
                later(&mut inner.seen, kiosk_id, *at);
                if !in_use {
                    // A kiosk back on its attract screen has nobody at it.
                    changes = inner.depart(kiosk_id, *at);
                }
            }
            Fact::ConsultantRaised {
                kiosk_id,
                site,
                service_id,
                step,
                called_at,
                since,
            } => {
                if inner.taken.get(kiosk_id) == Some(called_at)
                    || inner.ended.get(kiosk_id).is_some_and(|end| *end >= *since)
                {
                    return changes;
                }
                changes.consultant = match inner.consultants.get_mut(kiosk_id) {
                    Some(c)
                        if c.service_id == *service_id
                            && c.step == *step
                            && c.called_at == *called_at =>
                    {
                        false
                    }
                    Some(c) => {
                        c.service_id.clone_from(service_id);
                        c.step = *step;
                        c.called_at = *called_at;
                        true
                    }
                    None => {
                        inner.consultants.insert(
                            kiosk_id.clone(),
                            ConsultantNeeded {
                                kiosk_id: kiosk_id.clone(),
                                site: site.clone(),
                                service_id: service_id.clone(),
                                step: *step,
                                called_at: *called_at,
                                since: *since,
                            },
                        );
                        true
                    }
                };
            }
            Fact::ConsultantTaken {
                kiosk_id,
                called_at,
            } => {
                inner.taken.insert(kiosk_id.clone(), *called_at);
                changes.consultant = inner
                    .consultants
                    .get(kiosk_id)
                    .is_some_and(|c| c.called_at == *called_at)
                    && inner.consultants.remove(kiosk_id).is_some();
            }
            Fact::ConsultantEnded { kiosk_id, at } => {
                changes.consultant = inner.end_consultant(kiosk_id, *at);
            }
            Fact::Operators { .. }
            | Fact::Appeals { .. }
            | Fact::Sync
            | Fact::Picture { .. }
            | Fact::CallToConsole { .. }
            | Fact::CallToConsoles { .. }
            | Fact::CallFromConsole { .. }
            | Fact::CallConsoleGone { .. }
            | Fact::CallerIin { .. } => {}
        }
        changes
    }

    /// Whether someone at `kiosk_id` with `journey` (or nobody, `present: false`) changes the
    /// picture as it is now.
    pub fn presence_changes(
        &self,
        kiosk_id: &str,
        present: bool,
        journey: Option<Journey>,
    ) -> bool {
        match self.lock().presence.get(kiosk_id) {
            Some(p) => !present || p.journey != journey,
            None => present,
        }
    }

    /// The kiosk's open consultant call.
    pub fn consultant_call(&self, kiosk_id: &str) -> Option<ConsultantNeeded> {
        self.lock().consultants.get(kiosk_id).cloned()
    }

    /// Whether staff took the call of `kiosk_id` pressed at `called_at`.
    pub fn taken(&self, kiosk_id: &str, called_at: DateTime<Utc>) -> bool {
        self.lock().taken.get(kiosk_id) == Some(&called_at)
    }

    /// Everyone at a kiosk now, longest waiting first.
    pub fn present(&self) -> Vec<Present> {
        let mut list: Vec<Present> = self.lock().presence.values().cloned().collect();
        list.sort_by(|a, b| a.since.cmp(&b.since).then(a.kiosk_id.cmp(&b.kiosk_id)));
        list
    }

    /// Open consultant calls, longest waiting first.
    pub fn consultant_calls(&self) -> Vec<ConsultantNeeded> {
        let mut list: Vec<ConsultantNeeded> = self.lock().consultants.values().cloned().collect();
        list.sort_by(|a, b| a.since.cmp(&b.since).then(a.kiosk_id.cmp(&b.kiosk_id)));
        list
    }

    /// The removals of presence and consultant calls at kiosks silent for more than `limit`
    /// at `now`, each dated at the kiosk's last sign of life (so anything newer stays).
    pub fn silent(&self, now: DateTime<Utc>, limit: chrono::Duration) -> Vec<Fact> {
        let inner = self.lock();
        let last = |kiosk_id: &str, since: DateTime<Utc>| {
            let last = inner
                .seen
                .get(kiosk_id)
                .copied()
                .unwrap_or(since)
                .max(since);
            (now - last > limit).then_some(last)
        };
        let mut facts = Vec::new();
        for p in inner.presence.values() {
            if let Some(at) = last(&p.kiosk_id, p.since) {
                facts.push(Fact::Presence {
                    kiosk_id: p.kiosk_id.clone(),
                    site: String::new(),
                    present: false,
                    journey: None,
                    at,
                });
            }
        }
        for c in inner.consultants.values() {
            if let Some(at) = last(&c.kiosk_id, c.since) {
                facts.push(Fact::ConsultantEnded {
                    kiosk_id: c.kiosk_id.clone(),
                    at,
                });
            }
        }
        facts
    }

    /// The picture as the facts that make it (the answer to `Fact::Sync`), departures and
    /// ended calls first (so a server that missed one while away learns it too).
    pub fn facts(&self) -> Vec<Fact> {
        let inner = self.lock();
        let mut facts = Vec::new();
        for (kiosk_id, at) in &inner.left {
            facts.push(Fact::Presence {
                kiosk_id: kiosk_id.clone(),
                site: String::new(),
                present: false,
                journey: None,
                at: *at,
            });
        }
        for (kiosk_id, at) in &inner.ended {
            facts.push(Fact::ConsultantEnded {
                kiosk_id: kiosk_id.clone(),
                at: *at,
            });
        }
        let beat = |kiosk_id: &str| {
            inner.seen.get(kiosk_id).map(|at| Fact::Beat {
                kiosk_id: kiosk_id.to_string(),
                in_use: true,
                at: *at,
            })
        };
        for p in inner.presence.values() {
            facts.extend(beat(&p.kiosk_id));
            facts.push(Fact::Presence {
                kiosk_id: p.kiosk_id.clone(),
                site: p.site.clone(),
                present: true,
                journey: p.journey,
                at: p.since,
            });
        }
        for (kiosk_id, called_at) in &inner.taken {
            facts.push(Fact::ConsultantTaken {
                kiosk_id: kiosk_id.clone(),
                called_at: *called_at,
            });
        }
        for c in inner.consultants.values() {
            facts.extend(beat(&c.kiosk_id));
            facts.push(Fact::ConsultantRaised {
                kiosk_id: c.kiosk_id.clone(),
                site: c.site.clone(),
                service_id: c.service_id.clone(),
                step: c.step,
                called_at: c.called_at,
                since: c.since,
            });
        }
        facts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_222_000 + secs, 0).unwrap()
    }

    fn presence(present: bool, at: DateTime<Utc>) -> Fact {
        Fact::Presence {
            kiosk_id: "K-1".into(),
            site: "Site".into(),
            present,
            journey: Some(Journey::Appeal),
            at,
        }
    }

    #[test]
    fn a_late_older_fact_does_not_undo_a_newer_one() {
        let p = Picture::default();
        assert!(p.apply(&presence(true, t(10))).presence);
        // An idle heartbeat that reached another server before the person arrived.
        let beat = Fact::Beat {
            kiosk_id: "K-1".into(),
            in_use: false,
            at: t(5),
        };
        assert_eq!(p.apply(&beat), Changes::default());
        assert_eq!(p.present().len(), 1);
        assert!(p.apply(&presence(false, t(20))).presence);
        // The arrival re-announced by a server that had not heard of the departure yet.
        assert!(!p.apply(&presence(true, t(10))).presence);
        assert!(p.present().is_empty());
        assert!(p.apply(&presence(true, t(30))).presence, "someone new");
    }

    #[test]
    fn a_picture_rebuilds_the_same_picture_elsewhere() {
        let p = Picture::default();
        p.apply(&presence(true, t(10)));
        p.apply(&Fact::Beat {
            kiosk_id: "K-1".into(),
            in_use: true,
            at: t(12),
        });
        p.apply(&Fact::ConsultantRaised {
            kiosk_id: "K-2".into(),
            site: "Site".into(),
            service_id: "passport-id".into(),
            step: 2,
            called_at: t(1),
            since: t(11),
        });
        // Another server, away meanwhile, still has K-3 present and K-2's older call.
        let other = Picture::default();
        other.apply(&Fact::Presence {
            kiosk_id: "K-3".into(),
            site: "Site".into(),
            present: true,
            journey: None,
            at: t(2),
        });
        p.apply(&Fact::Presence {
            kiosk_id: "K-3".into(),
            site: "Site".into(),
            present: false,
            journey: None,
            at: t(3),
        });
        for fact in p.facts() {
            other.apply(&fact);
        }
        assert_eq!(other.present(), p.present());
        assert_eq!(other.consultant_calls(), p.consultant_calls());
        let limit = chrono::Duration::seconds(90);
        assert!(other.silent(t(100), limit).is_empty(), "heard at 12");
        assert_eq!(other.silent(t(103), limit).len(), 2);
    }
}
