//! The worker's messages about the kiosk itself: presence and consultant calls (always sent
//! first), the heartbeat (state, queue depth, devices, versions, clock skew) and the catalogue
//! version a heartbeat's answer names, installed or refused.

use chrono::Utc;
use senim_protocol::{CatalogProblem, Heartbeat, Versions};
use tokio::time::Instant;

use super::super::catalog;
use super::super::client::Api;
use super::super::SyncError;
use super::Worker;
use crate::store::StoreError;

impl Worker {
    pub(super) async fn send_presence(&mut self, api: &Api) -> Result<(), SyncError> {
        self.drain_commands();
        if let Some(p) = self.presence.clone() {
            let sent = self.dropped_if_refused(api.presence(&p).await, "presence")?;
            self.online = true;
            // A newer message may have come while this one was on its way.
            if self.presence.as_ref() == Some(&p) {
                self.presence = None;
            }
            if sent {
                tracing::debug!(present = p.present, "sync: presence sent");
            }
        }
        if let Some(c) = self.consultant.clone() {
            let sent = self.dropped_if_refused(api.consultant(&c).await, "consultant call")?;
            self.online = true;
            if self.consultant.as_ref() == Some(&c) {
                self.consultant = None;
            }
            if sent {
                tracing::debug!(active = c.active, "sync: consultant call sent");
            }
        }
        Ok(())
    }

    pub(super) async fn heartbeat(&mut self, api: &Api) -> Result<(), SyncError> {
        let queue = self.store.queue()?;
        let (image, update) = self.update_report();
        let sent_at = Utc::now();
        let started = Instant::now();
        let answer = api
            .heartbeat(&Heartbeat {
                state: self.kiosk_state(),
                queue_depth: u32::try_from(queue.pending()).unwrap_or(u32::MAX),
                devices: self.devices.clone(),
                versions: Versions {
                    app: self.cfg.app_version.clone(),
                    catalog: self.store.catalog_version()?,
                    image,
                },
                sent_at,
                catalog_problem: self.store.catalog_problem()?,
                parked: u32::try_from(queue.parked_count()).unwrap_or(u32::MAX),
                update: update.clone(),
            })
            .await?;
        if let Some(serving) = &self.cfg.serving {
            serving.heard();
        }
        self.update_answered(api, update.as_ref(), answer.update.as_ref());
        let half_rtt = chrono::Duration::from_std(started.elapsed() / 2).unwrap_or_default();
        let skew = (answer.server_time - (sent_at + half_rtt)).num_milliseconds();
        self.store.set_clock_skew_ms(skew)?;
        self.store.note_success(Utc::now())?;
        self.online = true;
        self.operators = Some(super::super::Operators {
            open: answer.operators_open,
            available: answer.operators_available,
        });
        self.next_heartbeat = Instant::now() + self.cfg.heartbeat;
        if let Some(key) = answer.signing_key.as_deref() {
            self.learn_signing_key(key)?;
        }
        if let Some(recipient) = answer.seal_recipient.as_deref() {
            self.learn_seal_recipient(recipient)?;
        }
        if let Some(version) = answer.catalog_version {
            self.update_catalog(api, &version).await?;
        }
        Ok(())
    }

    /// The running image and the update report for a heartbeat (the installer's result read
    /// first).
    fn update_report(&self) -> (Option<String>, Option<senim_protocol::UpdateReport>) {
        let Some(updates) = &self.updates else {
            return (None, None);
        };
        let mut u = super::lock(updates);
        if let Err(e) = u.poll_installer() {
            tracing::error!(error = %e, "update: cannot note the installer's result");
        }
        (u.running().map(str::to_string), u.report())
    }

    /// After a heartbeat answer: a result said once is said; an offer starts (or resumes) the
    /// background download unless one runs.
    fn update_answered(
        &mut self,
        api: &Api,
        sent: Option<&senim_protocol::UpdateReport>,
        offer: Option<&senim_protocol::UpdateOffer>,
    ) {
        let Some(updates) = &self.updates else {
            return;
        };
        let next = {
            let mut u = super::lock(updates);
            if let Err(e) = u.answered(sent) {
                tracing::error!(error = %e, "update: cannot note the report as sent");
            }
            u.offered(offer)
        };
        match next {
            Ok(crate::update::Next::Download(offer)) => {
                if self.download.as_ref().is_some_and(|d| !d.is_finished()) {
                    return;
                }
                tracing::info!(version = %offer.version, size = offer.size, "update: fetching the offered bundle");
                self.download = Some(tokio::spawn(super::super::update::fetch(
                    api.clone(),
                    std::sync::Arc::clone(updates),
                    offer,
                    std::sync::Arc::clone(&self.update_fetched),
                )));
            }
            Ok(crate::update::Next::Nothing) => {}
            Err(e) => tracing::error!(error = %e, "update: cannot note the offer"),
        }
    }

    /// A catalogue version the kiosk does not have: download, validate, install (or refuse
    /// and remember why, for the next heartbeats). The UI switches between citizens.
    pub(super) async fn update_catalog(
        &mut self,
        api: &Api,
        version: &str,
    ) -> Result<(), SyncError> {
        let current = self.store.catalog_version()?;
        let refused = self.store.catalog_problem()?.map(|p| p.version);
        if current.as_deref() == Some(version) || refused.as_deref() == Some(version) {
            return Ok(());
        }
        let doc = match api.catalog().await {
            Err(e @ SyncError::TooLarge { .. }) => {
                // Refused like an invalid catalogue: reported, not fetched again and again.
                self.store.set_catalog_problem(Some(&CatalogProblem {
                    version: version.to_string(),
                    message: e.to_string(),
                }))?;
                self.next_heartbeat = Instant::now();
                return Ok(());
            }
            other => other?,
        };
        let data_dir = self.cfg.data_dir.clone();
        let key = self.store.signing_key()?;
        let result = tokio::task::spawn_blocking({
            let doc = doc.clone();
            move || catalog::install(&data_dir, &doc, key.as_ref())
        })
        .await
        .map_err(|e| SyncError::Protocol(format!("catalogue install task: {e}")))?;
        match result {
            Ok(installed) => {
                tracing::info!(
                    version = %doc.version,
                    services = installed.services.len(),
                    "sync: catalogue installed"
                );
                self.store.set_catalog_version(&doc.version)?;
                let keep: Vec<&str> = [Some(doc.version.as_str()), current.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect();
                catalog::prune(&self.cfg.data_dir, &keep);
            }
            Err(catalog::InstallError::Io { path, source }) => {
                // The disk, not the catalogue: try again at the next heartbeat.
                return Err(SyncError::Store(StoreError::Io {
                    what: "cannot install the new catalogue",
                    source: std::io::Error::new(
                        source.kind(),
                        format!("{}: {source}", path.display()),
                    ),
                }));
            }
            Err(refusal) => {
                let message: String = refusal
                    .to_string()
                    .chars()
                    .take(senim_protocol::MAX_CATALOG_PROBLEM_CHARS)
                    .collect();
                tracing::warn!(version = %doc.version, problem = %message, "sync: catalogue refused; the last good one stays");
                self.store.set_catalog_problem(Some(&CatalogProblem {
                    version: doc.version.clone(),
                    message,
                }))?;
                // Told at once, not at the next heartbeat.
                self.next_heartbeat = Instant::now();
            }
        }
        Ok(())
    }

    /// A heartbeat answer's signing key: kept only by a kiosk that has none (enrolled before
    /// catalogues were signed); a kiosk never swaps the key it holds for another.
    fn learn_signing_key(&mut self, key: &str) -> Result<(), SyncError> {
        let Ok(key) = key.parse::<senim_common::signing::PublicKey>() else {
            tracing::warn!("sync: the heartbeat answer's signing key is malformed; ignored");
            return Ok(());
        };
        match self.store.signing_key()? {
            None => {
                self.store.set_signing_key(&key)?;
                // A catalogue refused for want of the key is worth another look.
                self.store.set_catalog_problem(None)?;
                tracing::info!(%key, "sync: learnt the call-centre's signing key");
            }
            Some(held) if held != key => {
                tracing::warn!(%key, %held, "sync: the call-centre names another signing key than the one from enrolment; kept the enrolment's");
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// A heartbeat answer's seal recipient (over the pinned channel): the newest one is kept,
    /// so a rotated call-centre key reaches the kiosk; appeals committed before the kiosk knew
    /// any recipient are sealed the moment it learns one.
    fn learn_seal_recipient(&mut self, recipient: &str) -> Result<(), SyncError> {
        let Ok(recipient) = recipient.parse::<senim_common::seal::Recipient>() else {
            tracing::warn!("sync: the heartbeat answer's seal recipient is malformed; ignored");
            return Ok(());
        };
        if self.store.set_seal_recipient(&recipient)? {
            tracing::info!(%recipient, "sync: sealing appeals to the call-centre's recipient");
            self.store.seal_pending()?;
        }
        Ok(())
    }

    /// Presence and consultant calls matter only at the moment they are sent: one the
    /// call-centre refuses for good is dropped (logged and noted as the last error), not
    /// retried ahead of everything else. `Ok(false)` when dropped; any other failure is
    /// retried as usual.
    fn dropped_if_refused(
        &mut self,
        sent: Result<(), SyncError>,
        what: &'static str,
    ) -> Result<bool, SyncError> {
        match sent {
            Ok(()) => Ok(true),
            Err(e @ SyncError::Refused { .. }) => {
                tracing::warn!(error = %e, "sync: {what} refused for good; dropped");
                self.store.note_error(&e.to_string(), Utc::now())?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }
}
