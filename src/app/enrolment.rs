//! Who this kiosk is to the call-centre: enrolment from the screen, the sync worker's reports
//! (online, queue, enrolment changes, installed catalogues), and the call-centre's hours by
//! the server's clock.

use std::cell::{Cell, RefCell};

use chrono::Utc;

use super::{dispatch, dispatch_from_thread, post, App};
use crate::config::Config;
use crate::flow::{CallCentreStatus, Event};
use crate::sync::{self, SyncHandle};

pub(super) struct Link {
    /// The sync settings, for enrolment from the screen; set once a blank kiosk learns its
    /// call-centre from the enrolment code.
    config: RefCell<Result<Option<sync::SyncConfig>, String>>,
    /// The sync worker's last report (technician screen, enrolment changes).
    pub state: RefCell<sync::Status>,
    /// Server clock − kiosk clock (ms), learnt by the sync worker.
    clock_skew_ms: Cell<i64>,
}

impl Link {
    /// The sync settings (`None`: no call-centre configured, or they are unusable).
    pub fn sync_config(&self) -> Option<sync::SyncConfig> {
        self.config.borrow().as_ref().ok().cloned().flatten()
    }

    pub fn new(config: &Config) -> Link {
        Link {
            config: RefCell::new(config.sync_config().map_err(|e| e.to_string())),
            state: RefCell::new(sync::Status::default()),
            clock_skew_ms: Cell::new(0),
        }
    }
}

impl App {
    /// Who this kiosk is (or that it is not enrolled): the title, the technician screen, the
    /// mode, and whether the kiosk rests on the enrolment screen.
    pub(super) fn enrolment_known(&self, enrolled: Option<sync::EnrolledAs>) {
        {
            let mut info = self.info.borrow_mut();
            match &enrolled {
                Some(e) => {
                    info.kiosk_id = e.kiosk_id.clone();
                    if !e.site.is_empty() {
                        info.site_name = e.site.clone();
                    }
                }
                None => info.kiosk_id = "not enrolled".into(),
            }
        }
        if self.sync.get().is_some() || self.config.awaits_enrolment() {
            self.dispatch(Event::Enrolled(enrolled.map(|e| e.mode)));
        } else {
            self.refresh(self.now());
        }
    }

    /// Exchanges a scanned enrolment code on a thread of its own (it waits on the network).
    /// The call-centre is the configured one, or else (a blank kiosk) the one the code's text
    /// names; the kiosk then starts talking to it.
    pub(super) fn enrol(&self, code: String) {
        let configured = self.link.config.borrow().clone();
        let (sync_config, learnt) = match configured {
            Ok(Some(c)) => (c, false),
            Ok(None) if !self.config.sync.standalone => {
                let from_code = senim_protocol::enrol::EnrolCode::parse_payload(code.trim())
                    .ok()
                    .and_then(|c| c.url)
                    .and_then(|url| self.config.with_backend(&url))
                    .and_then(|c| c.sync_config().ok().flatten());
                match from_code {
                    Some(c) => (c, true),
                    None => {
                        dispatch(Event::EnrolResult(Err("no_backend")));
                        return;
                    }
                }
            }
            _ => {
                dispatch(Event::EnrolResult(Err("no_backend")));
                return;
            }
        };
        let waker = self.sync.get().map(SyncHandle::waker);
        let started_config = sync_config.clone();
        let spawned = std::thread::Builder::new()
            .name("senim-enrol".into())
            .spawn(move || {
                let result = sync::enrol(
                    &sync_config.data_dir,
                    &sync_config.backend_url,
                    sync_config.ca_pem.as_deref(),
                    &code,
                );
                match result {
                    Ok(e) => {
                        tracing::info!(kiosk = %e.kiosk_id, "enrolled");
                        waker.iter().for_each(sync::Waker::wake);
                        let enrolled = sync::EnrolledAs {
                            kiosk_id: e.kiosk_id,
                            site: e.site,
                            mode: e.mode,
                        };
                        post(move |app| {
                            let mode = enrolled.mode;
                            if learnt {
                                app.start_learnt_sync(started_config);
                            }
                            app.enrolment_known(Some(enrolled));
                            app.dispatch(Event::EnrolResult(Ok(mode)));
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "enrolment refused");
                        dispatch_from_thread(Event::EnrolResult(Err(enrol_error_code(&e))));
                    }
                }
            });
        if spawned.is_err() {
            dispatch(Event::EnrolResult(Err("enrol_failed")));
        }
    }

    /// A blank kiosk enrolled with the call-centre its code named: from now on it talks to
    /// it (the store keeps the URL, so the next start does too).
    fn start_learnt_sync(&self, sync_config: sync::SyncConfig) {
        if self.sync.get().is_some() {
            return;
        }
        let sync_config = sync::SyncConfig {
            serving: self.serving.clone(),
            ..sync_config
        };
        let url = sync_config.backend_url.clone();
        *self.link.config.borrow_mut() = Ok(Some(sync_config.clone()));
        if let Some(with) = self.config.with_backend(&url) {
            self.info.borrow_mut().status_url = with.status_url_template();
        }
        if let Some(handle) = super::spawn_sync(sync_config) {
            let _ = self.sync.set(handle);
        }
    }

    /// The call-centre's hours: its own word from the last heartbeat while online (the one
    /// truth), the kiosk's copy of the calendar (by the server's clock where the skew is
    /// known) only while offline.
    pub(super) fn update_hours(&self) {
        let now = Utc::now() + chrono::Duration::milliseconds(self.link.clock_skew_ms.get());
        let operators = self.link.state.borrow().operators;
        self.dispatch(Event::CallCentre(hours_now(&self.schedule, now, operators)));
    }

    /// The sync worker's report: the technician's queue figures, enrolment changes, a newly
    /// installed catalogue, online/offline and the queue for the attract screen, clock skew.
    pub(super) fn sync_status(&self, status: sync::Status) {
        {
            let mut info = self.info.borrow_mut();
            info.tech.sync_bytes = status.pending_bytes;
            info.tech.sync_last_success = status.last_success_at;
            info.tech.sync_last_error = status.last_error.clone();
            info.tech.sync_parked = status.parked;
        }
        let skew = &self.link.clock_skew_ms;
        let skew_changed = skew.replace(status.clock_skew_ms) != status.clock_skew_ms;
        let enrolment_changed = self.link.state.borrow().enrolled_as != status.enrolled_as;
        let operators_changed = self.link.state.borrow().operators != status.operators;
        *self.link.state.borrow_mut() = status.clone();
        if enrolment_changed {
            self.enrolment_known(status.enrolled_as.clone());
        }
        if let Some(version) = &status.catalog_version {
            self.catalog_installed(version);
        }
        self.dispatch(Event::Sync {
            online: status.online,
            pending: u32::try_from(status.pending).unwrap_or(u32::MAX),
        });
        if self.flow.borrow().update_due() != status.update_due {
            self.dispatch(Event::UpdateDue(status.update_due));
        }
        let available = status.operators.is_some_and(|o| o.available && o.open);
        if self.flow.borrow().operators_available() != available {
            tracing::info!(available, "call-centre operators for a live call");
            self.dispatch(Event::OperatorsAvailable(available));
        }
        if skew_changed || operators_changed {
            self.update_hours();
        }
    }
}

/// Whether operators are at work at `now`: the call-centre's word when there is one, else the
/// kiosk's copy of its calendar. When the call-centre says closed on what the copy calls a
/// working day (a holiday only it knows), appeals are seen from the copy's next working day.
fn hours_now(
    schedule: &crate::flow::hours::Schedule,
    now: chrono::DateTime<Utc>,
    operators: Option<sync::Operators>,
) -> CallCentreStatus {
    use chrono::TimeZone;
    match (operators, schedule.status(now)) {
        (None, local) => local,
        (Some(o), _) if o.open => CallCentreStatus::Open,
        (Some(_), closed @ CallCentreStatus::Closed { .. }) => closed,
        (Some(_), CallCentreStatus::Open) => {
            // From the start of tomorrow (local), the copy's next opening.
            let tomorrow = schedule
                .local(now)
                .date()
                .succ_opt()
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
                .and_then(|t| schedule.tz().from_local_datetime(&t).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now + chrono::Duration::days(1));
            match schedule.status(tomorrow) {
                closed @ CallCentreStatus::Closed { .. } => closed,
                CallCentreStatus::Open => CallCentreStatus::Closed {
                    next_open: schedule.local(tomorrow),
                },
            }
        }
    }
}

/// A stable code the enrolment screen translates.
fn enrol_error_code(e: &sync::SyncError) -> &'static str {
    match e {
        sync::SyncError::Refused { code, .. } => match code.as_str() {
            "code_used" => "code_used",
            "code_expired" => "code_expired",
            "code_unknown" => "code_unknown",
            _ => "enrol_failed",
        },
        // Another server than the QR code's pin names answered: not a network problem.
        sync::SyncError::Offline { reason, .. } if reason.contains(sync::tls::PIN_MISMATCH) => {
            "wrong_server"
        }
        sync::SyncError::Offline { .. } | sync::SyncError::Server { .. } => "offline",
        _ => "enrol_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::hours::HoursConfig;

    #[test]
    fn another_server_than_the_codes_pin_is_told_apart_from_being_offline() {
        let offline = |reason: String| sync::SyncError::Offline {
            url: "https://cc.example.kz/".into(),
            reason,
        };
        let pinned = offline(format!(
            "connection failed: invalid peer certificate: {}",
            sync::tls::PIN_MISMATCH
        ));
        assert_eq!(enrol_error_code(&pinned), "wrong_server");
        assert_eq!(
            enrol_error_code(&offline("cannot connect: Connection refused".into())),
            "offline"
        );
    }

    fn schedule() -> crate::flow::hours::Schedule {
        HoursConfig::default().schedule().unwrap()
    }

    fn at(text: &str) -> chrono::DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_call_centres_word_wins_and_the_calendar_copy_is_for_offline() {
        let s = schedule();
        // Friday 2026-12-04 10:00 in Astana (UTC+5): open by the calendar.
        let friday = at("2026-12-04T05:00:00Z");
        let open = sync::Operators {
            open: true,
            available: true,
        };
        let closed = sync::Operators {
            open: false,
            available: false,
        };
        assert_eq!(hours_now(&s, friday, None), CallCentreStatus::Open);
        assert_eq!(hours_now(&s, friday, Some(open)), CallCentreStatus::Open);
        // Closed by the call-centre (a holiday the copy lacks): seen on the next working day.
        let CallCentreStatus::Closed { next_open } = hours_now(&s, friday, Some(closed)) else {
            panic!("the call-centre said closed");
        };
        assert_eq!(next_open.to_string(), "2026-12-07 09:00:00");
        // Saturday: the copy says closed; an open word from the call-centre (a working
        // Saturday) wins.
        let saturday = at("2026-12-05T05:00:00Z");
        assert!(matches!(
            hours_now(&s, saturday, None),
            CallCentreStatus::Closed { .. }
        ));
        assert_eq!(hours_now(&s, saturday, Some(open)), CallCentreStatus::Open);
    }
}
