//! The app's side of the camera and microphone: which screens keep the camera on, the take
//! being recorded (noted in the store before the camera writes a byte), review playback,
//! camera QR reads handed to the classifier like serial scans, and the recovery of takes a
//! crash or power cut cut short, committed as "interrupted" appeals at the next start.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::{dispatch, post, App};
use crate::devices::camera::{self, AvDevice, Camera, CameraEvent, DeviceState, Take};
use crate::flow::{AppealDraft, Device, Event, Health, Screen, TechTest};
use crate::identity;
use crate::store::{NewAppeal, NewRecording, NewVideo, Store};
use crate::ui;

/// The take of the appeal in progress.
#[derive(Default)]
pub(super) struct Recording {
    /// `<data>/videos/incoming/<random>/`, where the camera writes.
    pub dir: PathBuf,
    /// The store's note of it (`None` until the store thread has written it).
    pub id: Option<i64>,
    /// The finished take, once the camera has sealed it.
    pub take: Option<Take>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The folder holds a person's recording: not for logs.
        f.debug_struct("Recording")
            .field("id", &self.id)
            .field("finished", &self.take.is_some())
            .finish()
    }
}

/// Screens on which the live camera runs: the countdown and the recording, the technician's
/// camera test, and identification (a QR code from the eGov app, or an enrolment code).
fn wants_live(screen: &Screen) -> bool {
    matches!(
        screen,
        Screen::AppealCountdown { .. }
            | Screen::AppealRecording { .. }
            | Screen::CallRinging { .. }
            | Screen::InCall { .. }
            | Screen::TechnicianTest(TechTest::Camera)
    ) || wants_qr(screen)
}

fn wants_qr(screen: &Screen) -> bool {
    matches!(screen, Screen::Identify { .. } | Screen::Enrol { .. })
}

/// The camera and microphone as the app drives them.
pub(super) struct CameraSide {
    /// The camera and microphone, when fitted.
    device: Option<Camera>,
    /// The live pipeline is on / decoding QR codes / playing a take back.
    live: Cell<bool>,
    qr: Cell<bool>,
    playing: Cell<bool>,
    /// The take of the appeal in progress.
    recording: RefCell<Option<Recording>>,
    /// An appeal sent before its take was sealed, saved as soon as it is.
    pending_save: RefCell<Option<AppealDraft>>,
}

impl CameraSide {
    /// Starts the camera's controller when a camera or microphone is configured.
    pub fn start(config: &crate::config::Config) -> CameraSide {
        let cfg = config.camera.clone();
        let device = if !cfg.has_video() && !cfg.has_audio() {
            None
        } else {
            let sink = |event: CameraEvent| post(move |app| app.camera_event(event));
            match Camera::open(cfg, sink) {
                Ok(camera) => Some(camera),
                Err(e) => {
                    tracing::error!(error = %e, "camera and microphone unavailable; appeals are typed");
                    None
                }
            }
        };
        CameraSide {
            device,
            live: Cell::new(false),
            qr: Cell::new(false),
            playing: Cell::new(false),
            recording: RefCell::new(None),
            pending_save: RefCell::new(None),
        }
    }
}

impl App {
    /// Keeps the camera on exactly where a screen needs it (called after every event).
    pub(super) fn camera_policy(&self) {
        let Some(camera) = &self.camera.device else {
            return;
        };
        let flow = self.flow.borrow();
        let screen = flow.screen();
        let live = wants_live(screen) && self.config.camera.has_video()
            || matches!(
                screen,
                Screen::AppealCountdown { .. } | Screen::AppealRecording { .. }
            );
        if live != self.camera.live.get() {
            self.camera.live.set(live);
            if live {
                camera.start_preview();
            } else {
                camera.stop_preview();
                ui::show_frame(&self.window, None);
                ui::show_level(&self.window, 0.0);
            }
        }
        let qr = wants_qr(screen) && self.config.camera.has_video();
        if qr != self.camera.qr.get() {
            self.camera.qr.set(qr);
            camera.set_qr_scanning(qr);
        }
        if !matches!(screen, Screen::AppealReview) && self.camera.playing.replace(false) {
            camera.stop_playback();
        }
    }

    pub(super) fn camera_event(&self, event: CameraEvent) {
        match event {
            CameraEvent::Frame(frame) => {
                ui::show_frame(&self.window, Some(frame.pixels));
            }
            CameraEvent::Level { db } => {
                // −60 dBFS (silence in a ward) … 0 dBFS (shouting into it).
                let level = ((db + 60.0) / 60.0).clamp(0.0, 1.0);
                ui::show_level(&self.window, level);
            }
            CameraEvent::Qr(text) => {
                if self.camera.qr.get() {
                    // Personal data: classified, never logged.
                    dispatch(Event::Scan(identity::classify(&text)));
                }
            }
            CameraEvent::Recording { secured } => {
                tracing::debug!(
                    secured_ms = secured.as_millis(),
                    "recording secured on disk"
                );
            }
            CameraEvent::TakeFinished(Ok(take)) => {
                tracing::info!(
                    seconds = take.duration.as_secs(),
                    bytes = take.bytes,
                    interrupted = take.interrupted,
                    "take finished"
                );
                let review = matches!(self.flow.borrow().screen(), Screen::AppealReview);
                if review {
                    if let Some(camera) = &self.camera.device {
                        camera.play(&take.path);
                        self.camera.playing.set(true);
                    }
                }
                if let Some(recording) = self.camera.recording.borrow_mut().as_mut() {
                    recording.take = Some(take);
                }
                let waiting = self.camera.pending_save.borrow_mut().take();
                if let Some(draft) = waiting {
                    self.save_appeal(draft);
                }
            }
            CameraEvent::TakeFinished(Err(e)) => {
                tracing::warn!(error = %e, "the recording failed; the citizen may try again");
                let waiting = self.camera.pending_save.borrow_mut().take();
                if waiting.is_some() {
                    dispatch(Event::AppealSaveFailed);
                } else {
                    dispatch(Event::RecordingFailed);
                }
            }
            CameraEvent::PlaybackEnded { completed } => {
                self.camera.playing.set(false);
                tracing::debug!(completed, "review playback ended");
            }
            CameraEvent::Health { device, state } => {
                let health = match state {
                    DeviceState::Ok => Health::Ok,
                    DeviceState::Faulty(reason) => {
                        tracing::warn!(device = device.as_str(), %reason, "device faulty");
                        Health::Faulty
                    }
                    DeviceState::Absent => Health::Absent,
                };
                let device = match device {
                    AvDevice::Camera => Device::Camera,
                    AvDevice::Microphone => {
                        self.info.borrow_mut().tech.microphone = health;
                        Device::Microphone
                    }
                };
                self.dispatch(Event::DeviceHealth(device, health));
            }
        }
    }

    /// The countdown is over: note the recording in the store, then start the camera.
    pub(super) fn start_recording(&self) {
        self.start_recording_for(None);
    }

    /// A recording; `call_id`: a live call's (the note keeps it, so a crash mid-call leaves the
    /// call's appeal under its number).
    pub(super) fn start_recording_for(&self, call_id: Option<String>) {
        let Some(camera) = &self.camera.device else {
            dispatch(Event::RecordingFailed);
            return;
        };
        let dir = self
            .config
            .store
            .data_dir
            .join(crate::store::INCOMING_DIR)
            .join(crate::store::new_session_id());
        let note = {
            let flow = self.flow.borrow();
            let session = flow.session();
            NewRecording {
                take_dir: dir.clone(),
                topic: session
                    .and_then(|s| s.topic)
                    .unwrap_or(senim_protocol::Topic::Other),
                language: flow.lang().code().to_string(),
                iin: session
                    .and_then(|s| s.identity.as_ref())
                    .map(|i| i.as_str().to_string()),
                test: false,
                started_at: Utc::now(),
                call_id,
            }
        };
        *self.camera.recording.borrow_mut() = Some(Recording {
            dir: dir.clone(),
            ..Recording::default()
        });
        self.store.exec(move |store| {
            let id = store
                .map_err(|e| e.to_string())
                .and_then(|s| s.begin_recording(&note).map_err(|e| e.to_string()));
            match id {
                Ok(id) => post(move |app| {
                    if let Some(r) = app.camera.recording.borrow_mut().as_mut() {
                        r.id = Some(id);
                    }
                }),
                // The recording still runs; only its crash recovery is lost.
                Err(e) => tracing::error!(error = %e, "cannot note the recording in the store"),
            }
        });
        camera.start_recording(&dir);
    }

    /// A handle for a live call to share the camera's capture (`None`: no camera fitted).
    pub(super) fn lender(&self) -> Option<crate::devices::camera::CaptureLender> {
        self.camera.device.as_ref().map(Camera::lender)
    }

    /// Whether a take is noted (running, or finished and not yet committed).
    pub(super) fn has_recording(&self) -> bool {
        self.camera.recording.borrow().is_some()
    }

    /// "Send" came before the camera sealed the take: the appeal is saved when it is.
    pub(super) fn wait_for_take(&self, draft: AppealDraft) {
        *self.camera.pending_save.borrow_mut() = Some(draft);
    }

    /// The appeal is committed: its take is the store's now.
    pub(super) fn take_committed(&self) {
        self.camera.recording.borrow_mut().take();
    }

    pub(super) fn stop_recording(&self) {
        if let Some(camera) = &self.camera.device {
            camera.stop_recording();
        }
    }

    /// Re-record or the citizen left: the take and its note go.
    pub(super) fn discard_recording(&self) {
        if let Some(camera) = &self.camera.device {
            camera.stop_playback();
            camera.discard();
        }
        self.camera.playing.set(false);
        if let Some(recording) = self.camera.recording.borrow_mut().take() {
            let dir = recording.dir;
            self.store.exec(move |store| {
                let Ok(s) = store else { return };
                let result = match recording.id {
                    Some(id) => s.discard_recording(id).map_err(|e| e.to_string()),
                    None => camera::remove_take_dir(&dir).map_err(|e| e.to_string()),
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "a discarded take was not removed");
                }
            });
        }
    }

    pub(super) fn play_take(&self) {
        let path = self
            .camera
            .recording
            .borrow()
            .as_ref()
            .and_then(|r| r.take.as_ref().map(|t| t.path.clone()));
        if let (Some(camera), Some(path)) = (&self.camera.device, path) {
            camera.play(&path);
            self.camera.playing.set(true);
        }
    }

    /// The take and its store note for the appeal being sent (`None`: a typed appeal, or the
    /// take is not finished yet).
    pub(super) fn take_for_commit(&self) -> Option<(NewVideo, Option<i64>, bool, PathBuf)> {
        let recording = self.camera.recording.borrow();
        let r = recording.as_ref()?;
        let take = r.take.as_ref()?;
        Some((
            NewVideo {
                path: take.path.clone(),
                seconds: u32::try_from(take.duration.as_secs()).unwrap_or(u32::MAX),
            },
            r.id,
            take.interrupted,
            r.dir.clone(),
        ))
    }
}

/// At start-up, on the store thread: recordings a crash or power cut left unfinished become
/// appeals marked "interrupted" (what was recorded up to the cut), and take folders nobody
/// noted are removed. Returns how many appeals were recovered.
pub fn recover_interrupted(store: &mut Store) -> usize {
    let unfinished = match store.unfinished_recordings() {
        Ok(u) => u,
        Err(e) => {
            tracing::error!(error = %e, "cannot read unfinished recordings");
            return 0;
        }
    };
    let mut recovered = 0;
    let mut kept: Vec<PathBuf> = Vec::new();
    for u in unfinished {
        let r = &u.recording;
        match camera::recover_take(&r.take_dir) {
            Ok(Some(take)) => {
                let appeal = NewAppeal {
                    topic: r.topic,
                    language: r.language.clone(),
                    iin: r.iin.clone(),
                    callback_phone: None,
                    text: None,
                    video: Some(NewVideo {
                        path: take.path.clone(),
                        seconds: u32::try_from(take.duration.as_secs()).unwrap_or(u32::MAX),
                    }),
                    interrupted: true,
                    test: r.test,
                    created_at: r.started_at,
                    recording: Some(u.id),
                    // A call cut short keeps its number, so the call-centre joins the two.
                    appeal_id: r.call_id.clone(),
                    call_secs: r
                        .call_id
                        .as_ref()
                        .map(|_| u32::try_from(take.duration.as_secs()).unwrap_or(u32::MAX)),
                };
                match store.commit_appeal(&appeal) {
                    Ok(number) => {
                        recovered += 1;
                        tracing::info!(appeal = %number, "an interrupted recording was kept");
                        let _ = camera::remove_take_dir(&r.take_dir);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "an interrupted recording could not be kept");
                        kept.push(r.take_dir.clone());
                    }
                }
            }
            Ok(None) => {
                if let Err(e) = store.discard_recording(u.id) {
                    tracing::warn!(error = %e, "an empty recording was not cleared");
                }
            }
            Err(e) => {
                // Kept for the next start (GStreamer missing, say), not thrown away.
                tracing::error!(error = %e, "an interrupted recording could not be read");
                kept.push(r.take_dir.clone());
            }
        }
    }
    sweep_incoming(&store.incoming_dir(), &kept);
    recovered
}

/// Removes what no recording note names from `incoming/` (a crash before the note was
/// written, or a take whose appeal was committed but whose folder stayed).
fn sweep_incoming(incoming: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(incoming) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if keep.contains(&path) {
            continue;
        }
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed {
            tracing::warn!(error = %e, "a stray take was not removed");
        }
    }
}
