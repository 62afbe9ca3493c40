//! What the kiosk commits through the store thread: the citizen's appeal (the screen says
//! "sent" only once it is durable), service-guide usage figures, and device faults for the
//! fleet view; and the consultant call of the current session.

use std::cell::RefCell;

use chrono::Utc;
use senim_protocol::{DeviceFaultRecord, GuideEventKind, GuideEventRecord};

use super::{dispatch_from_thread, post, App};
use crate::flow::{AppealDraft, AppealKind, CheckCode, Device, Event, GuideUsage, Health, Rating};
use crate::store::NewAppeal;
use crate::sync::{self, SyncHandle};

/// What the kiosk keeps of the current citizen beyond the flow (nothing personal), wiped with
/// the session.
#[derive(Default)]
pub(super) struct CitizenTraces {
    /// Random id grouping one citizen's service-guide events.
    guide_session: RefCell<Option<String>>,
    /// The consultant call of this session (service, step), to withdraw when the citizen leaves.
    consultant_called: RefCell<Option<(String, u32)>>,
}

impl App {
    /// Free space a recording needs (bytes).
    pub(super) fn min_free_bytes(&self) -> u64 {
        self.config.store.min_free_mib << 20
    }

    /// Commits the appeal on the store thread; the citizen sees "sent" only once it is durable.
    pub(super) fn save_appeal(&self, draft: AppealDraft) {
        let mut appeal = new_appeal(&draft, self.flow.borrow().lang().code());
        let mut take_dir = None;
        // A call that was never recorded (it ended before connecting, or there is no camera)
        // is saved without a take.
        let unrecorded_call = draft.call.is_some() && !self.has_recording();
        if draft.kind != AppealKind::Typed && !unrecorded_call {
            let Some((video, recording, interrupted, dir)) = self.take_for_commit() else {
                // The camera is still sealing the take (a second at most): save when it is.
                tracing::debug!("appeal waits for its take to be sealed");
                self.wait_for_take(draft);
                return;
            };
            appeal.video = Some(video);
            appeal.recording = recording;
            appeal.interrupted = interrupted;
            take_dir = Some(dir);
        }
        let min_free = self.min_free_bytes();
        let waker = self.sync.get().map(SyncHandle::waker);
        self.store.exec(move |store| {
            let result = store.map_err(|e| e.to_string()).and_then(|s| {
                let committed = s
                    .commit_appeal_with_code(&appeal)
                    .map_err(|e| e.to_string())?;
                // Tell the flow whether the next recording still fits.
                let room = s.check_space(min_free).is_ok();
                Ok((committed, room))
            });
            match result {
                Ok((committed, room)) => {
                    let number = committed.number;
                    let check_code = CheckCode(committed.check_code);
                    tracing::info!(appeal = %number, "appeal committed");
                    if let Some(dir) = &take_dir {
                        if let Err(e) = crate::devices::camera::remove_take_dir(dir) {
                            tracing::warn!(error = %e, "an empty take folder stayed");
                        }
                    }
                    waker.iter().for_each(sync::Waker::wake);
                    post(move |app| {
                        app.take_committed();
                        app.dispatch(Event::AppealSaved { number, check_code });
                        if !room {
                            app.dispatch(Event::DeviceHealth(Device::Storage, Health::Faulty));
                        }
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "appeal NOT committed; the citizen is told");
                    dispatch_from_thread(Event::AppealSaveFailed);
                }
            }
        });
    }

    /// Records one service-guide usage event (synced as a record; nothing personal).
    pub(super) fn record_usage(&self, usage: GuideUsage) {
        let Some(record) = self.usage_record(usage) else {
            return;
        };
        tracing::info!(event = ?record.event, service = %record.service_id, "service-guide usage");
        let waker = self.sync.get().map(SyncHandle::waker);
        self.store.exec(move |store| {
            let result = store
                .map_err(|e| e.to_string())
                .and_then(|s| s.record_guide_event(&record).map_err(|e| e.to_string()));
            match result {
                Err(e) => {
                    tracing::warn!(error = %e, "a service-guide usage event was not recorded")
                }
                Ok(()) => waker.iter().for_each(sync::Waker::wake),
            }
        });
    }

    fn usage_record(&self, usage: GuideUsage) -> Option<GuideEventRecord> {
        let (service, event, step, rating) = match usage {
            GuideUsage::Started { service } => (service, GuideEventKind::Started, None, None),
            GuideUsage::StepReached { service, step } => {
                (service, GuideEventKind::StepReached, Some(step), None)
            }
            GuideUsage::Completed { service } => (service, GuideEventKind::Completed, None, None),
            GuideUsage::Abandoned { service, step } => {
                (service, GuideEventKind::Abandoned, Some(step), None)
            }
            GuideUsage::ConsultantCalled { service, step } => {
                (service, GuideEventKind::ConsultantCalled, Some(step), None)
            }
            GuideUsage::Rated { service, rating } => {
                let score = match rating {
                    Rating::Bad => 1,
                    Rating::Neutral => 2,
                    Rating::Good => 3,
                };
                (service, GuideEventKind::Rated, None, Some(score))
            }
        };
        let service_id = self
            .catalogs
            .view
            .borrow()
            .catalog()
            .services
            .get(service)?
            .id
            .clone();
        let mut guide_session = self.traces.guide_session.borrow_mut();
        if event == GuideEventKind::Started {
            // Each run of a guide is one "citizen guided" in the figures.
            guide_session.take();
        }
        let session_id = guide_session
            .get_or_insert_with(crate::store::new_session_id)
            .clone();
        Some(GuideEventRecord {
            session_id,
            service_id,
            event,
            // 1-based on the wire, as people count steps.
            step: step.and_then(|s| u32::try_from(s + 1).ok()),
            rating,
            at: Utc::now(),
        })
    }

    /// The citizen asked for a consultant on a service guide's step.
    pub(super) fn call_consultant(&self, service_id: String, step: usize) {
        tracing::info!(service = %service_id, step, "consultant called");
        if let Some(sync) = self.sync.get() {
            let step = u32::try_from(step).unwrap_or(0);
            sync.consultant(&service_id, step, true);
            *self.traces.consultant_called.borrow_mut() = Some((service_id, step));
        }
    }

    /// The citizen left: a new guide run starts a new figure, and the staff on the floor need
    /// not come any more.
    pub(super) fn forget_citizen(&self) {
        self.traces.guide_session.borrow_mut().take();
        let called = self.traces.consultant_called.borrow_mut().take();
        if let (Some(sync), Some((service, step))) = (self.sync.get(), called) {
            sync.consultant(&service, step, false);
        }
    }

    /// A device changed health: record the fault (or its end) for the fleet view and tell the
    /// heartbeat.
    pub(super) fn device_changed(&self, device: Device, health: Health) {
        let before = self.flow.borrow().health(device);
        if before == health {
            return;
        }
        // A device found working at start is not news; anything else is.
        if !(before == Health::Absent && health == Health::Ok) {
            let detail = match health {
                Health::Ok => "working again",
                Health::Faulty => device_fault_text(device),
                Health::Absent => "not fitted",
            };
            let fault = DeviceFaultRecord {
                device: sync::device_name(device).into(),
                status: sync::device_status(health),
                detail: detail.into(),
                at: Utc::now(),
            };
            let waker = self.sync.get().map(SyncHandle::waker);
            self.store.exec(move |store| {
                match store
                    .map_err(|e| e.to_string())
                    .and_then(|s| s.record_device_fault(&fault).map_err(|e| e.to_string()))
                {
                    Err(e) => tracing::warn!(error = %e, "a device fault was not recorded"),
                    Ok(()) => waker.iter().for_each(sync::Waker::wake),
                }
            });
        }
        if let Some(sync) = self.sync.get() {
            let flow = self.flow.borrow();
            let devices = Device::ALL
                .into_iter()
                .map(|d| sync::device_health(d, if d == device { health } else { flow.health(d) }))
                .collect();
            sync.devices(devices);
        }
    }
}

fn device_fault_text(device: Device) -> &'static str {
    match device {
        Device::Scanner => "card scanner not answering (unplugged?)",
        Device::Camera => "camera not answering",
        Device::Microphone => "microphone not answering",
        Device::Printer => "receipt printer not answering",
        Device::Storage => "not enough free space for a recording",
    }
}

/// The store's view of a citizen's appeal.
pub(super) fn new_appeal(draft: &AppealDraft, language: &str) -> NewAppeal {
    NewAppeal {
        topic: draft.topic,
        language: language.to_string(),
        iin: draft.iin.as_ref().map(|i| i.as_str().to_string()),
        callback_phone: draft.phone.clone(),
        text: draft.text.clone(),
        video: None,
        interrupted: false,
        test: false,
        created_at: Utc::now(),
        recording: None,
        appeal_id: draft.call.as_ref().map(|c| c.call_id.clone()),
        call_secs: draft
            .call
            .as_ref()
            .map(|c| u32::try_from(c.duration_ms / 1000).unwrap_or(u32::MAX)),
    }
}
