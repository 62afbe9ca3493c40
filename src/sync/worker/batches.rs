//! The worker's record batches: one batch of outbox records with their idempotency keys, a
//! refused batch split so one bad record cannot hold up the rest, and the answer checked
//! against what was sent before the rows leave the outbox.

use chrono::Utc;
use senim_protocol::RecordOutcome;

use super::super::client::Api;
use super::super::SyncError;
use super::Worker;
use crate::store::Outgoing;

impl Worker {
    /// Sends one batch; a batch the server refuses as a whole is split so one bad record
    /// cannot hold up the rest, and that record alone is set aside as refused.
    pub(super) async fn deliver(
        &mut self,
        api: &Api,
        batch: Vec<Outgoing>,
    ) -> Result<(), SyncError> {
        let records = batch.iter().map(|o| o.record.clone()).collect();
        match api.records(records).await {
            Ok(answer) => self.delivered(&batch, &answer.results),
            Err(SyncError::Refused {
                status,
                code,
                message,
            }) => {
                if batch.len() == 1 {
                    let reason = format!("{status} {code}: {message}");
                    tracing::error!(seq = batch[0].seq, %reason, "sync: record refused for good");
                    self.store
                        .mark_rejected(batch[0].seq, &reason, Utc::now())?;
                    return Ok(());
                }
                for one in batch {
                    let records = vec![one.record.clone()];
                    match api.records(records).await {
                        Ok(answer) => {
                            self.delivered(std::slice::from_ref(&one), &answer.results)?
                        }
                        Err(SyncError::Refused {
                            status,
                            code,
                            message,
                        }) => {
                            let reason = format!("{status} {code}: {message}");
                            tracing::error!(seq = one.seq, %reason, "sync: record refused for good");
                            self.store.mark_rejected(one.seq, &reason, Utc::now())?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn delivered(
        &mut self,
        batch: &[Outgoing],
        results: &[senim_protocol::RecordResult],
    ) -> Result<(), SyncError> {
        let answered_all = batch.len() == results.len()
            && batch
                .iter()
                .zip(results)
                .all(|(o, r)| o.record.key == r.key);
        if !answered_all {
            return Err(SyncError::Protocol(
                "the records answer does not list the records sent".into(),
            ));
        }
        let seqs: Vec<i64> = batch.iter().map(|o| o.seq).collect();
        self.store.mark_delivered(&seqs, Utc::now())?;
        self.store.note_success(Utc::now())?;
        self.online = true;
        let replayed = results
            .iter()
            .filter(|r| r.outcome == RecordOutcome::Duplicate)
            .count();
        tracing::debug!(delivered = seqs.len(), replayed, "sync: records delivered");
        Ok(())
    }
}
