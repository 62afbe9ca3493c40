//! Service-guide usage: each event committed with its session and its outbox row, and read
//! back as its wire record.

use rusqlite::{params, TransactionBehavior};
use senim_protocol::{GuideEventKind, GuideEventRecord};

use super::{insert_outbox, new_key, parse_enum, parse_ts, ts, Store, StoreError};

/// A new random id grouping one citizen's service-guide events (64 random bits).
pub fn new_session_id() -> String {
    new_key("s")
}

impl Store {
    /// Records one service-guide event (and its session on `started`).
    pub fn record_guide_event(&mut self, event: &GuideEventRecord) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO guide_sessions (id, service_id, started_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO NOTHING",
            params![event.session_id, event.service_id, ts(event.at)],
        )?;
        tx.execute(
            "INSERT INTO guide_events (session_id, event, step, rating, at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                event.session_id,
                guide_kind_str(event.event),
                event.step,
                event.rating,
                ts(event.at)
            ],
        )?;
        let id = tx.last_insert_rowid().to_string();
        insert_outbox(&tx, "guide_event", &id, &new_key("guide"), event.at)?;
        tx.commit()?;
        Ok(())
    }

    /// A guide event behind an outbox row, as the call-centre receives it.
    pub(super) fn guide_record(&self, id: &str) -> Result<GuideEventRecord, StoreError> {
        let (session_id, service_id, event, step, rating, at) = self.conn.query_row(
            "SELECT e.session_id, s.service_id, e.event, e.step, e.rating, e.at \
             FROM guide_events e JOIN guide_sessions s ON s.id = e.session_id WHERE e.id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<u32>>(3)?,
                    r.get::<_, Option<u8>>(4)?,
                    r.get::<_, String>(5)?,
                ))
            },
        )?;
        Ok(GuideEventRecord {
            session_id,
            service_id,
            event: parse_guide_kind(&event)?,
            step,
            rating,
            at: parse_ts(&at)?,
        })
    }
}

fn guide_kind_str(k: GuideEventKind) -> &'static str {
    match k {
        GuideEventKind::Started => "started",
        GuideEventKind::StepReached => "step_reached",
        GuideEventKind::Completed => "completed",
        GuideEventKind::Abandoned => "abandoned",
        GuideEventKind::ConsultantCalled => "consultant_called",
        GuideEventKind::Rated => "rated",
    }
}

fn parse_guide_kind(s: &str) -> Result<GuideEventKind, StoreError> {
    parse_enum(s, "guide event")
}
