//! The camera's controller thread: owns the pipelines, turns commands and bus messages into
//! state changes and events, runs the periodic fsync, the stop deadline and the device watch.
//!
//! Health rules: a device is reported `Ok` after a successful probe while nothing runs, or on
//! proof of life (a first frame, a first level report) of a running pipeline; `Faulty` on a
//! failed probe or a pipeline error. A faulty device is left out of automatic rebuilds and tried
//! again on the next explicit start, so a broken camera cannot make the kiosk loop.

mod recording;

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::branch::RecBranch;
use super::graph::Devices;
use super::pipeline::{self, Live, Part};
use super::playback::Playback;
use super::probe::probe;
use super::qrscan::QrDecoder;
use super::take::{self, RECORDING_FILE};
use super::{
    AvDevice, CameraConfig, CameraError, CameraEvent, Command, DeviceState, Msg, SharedCapture,
    Sink, VideoSource, SYNC_INTERVAL,
};

/// Longest wait for a stopped recording's EOS to reach the file before giving up on a clean
/// finish (what is on disk is then recovered like after a crash).
const STOP_DEADLINE: Duration = Duration::from_secs(5);
/// How often a V4L2 camera's device node is looked at while no pipeline runs (a stat, no I/O).
const WATCH_INTERVAL: Duration = Duration::from_secs(3);
/// A running source that delivers nothing for this long is faulty (a stalled USB camera posts
/// no error; it just stops).
const STALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a running pipeline is checked for a stall.
const STALL_CHECK: Duration = Duration::from_secs(1);

/// The take being recorded.
struct Recording {
    id: u64,
    dir: PathBuf,
    branch: RecBranch,
    file: Option<File>,
    next_sync: Instant,
    stopping: Option<Instant>,
}

struct Controller {
    cfg: CameraConfig,
    sink: Sink,
    tx: Sender<Msg>,
    qr: Option<Arc<QrDecoder>>,
    next_id: u64,
    camera: DeviceState,
    camera_missing: bool,
    microphone: DeviceState,
    live: Option<Live>,
    preview_wanted: bool,
    qr_wanted: bool,
    rec: Option<Recording>,
    last_take: Option<PathBuf>,
    playback: Option<Playback>,
    next_watch: Instant,
    next_stall_check: Instant,
    /// When the running live pipeline last reported a microphone level (or started).
    last_level: Instant,
}

/// The controller thread's body: runs until `Shutdown`.
pub(crate) fn run(cfg: CameraConfig, sink: Sink, tx: Sender<Msg>, rx: Receiver<Msg>) {
    if let Err(e) = super::init().and_then(|()| pipeline::check_elements(&cfg)) {
        return unusable(&cfg, &sink, &rx, &e.to_string());
    }
    let qr = if cfg.has_video() {
        match QrDecoder::spawn(Arc::clone(&sink)) {
            Ok(q) => Some(q),
            Err(e) => {
                tracing::error!(error = %e, "camera QR reading unavailable");
                None
            }
        }
    } else {
        None
    };
    let mut c = Controller {
        cfg,
        sink,
        tx,
        qr,
        next_id: 0,
        camera: DeviceState::Absent,
        camera_missing: false,
        microphone: DeviceState::Absent,
        live: None,
        preview_wanted: false,
        qr_wanted: false,
        rec: None,
        last_take: None,
        playback: None,
        next_watch: Instant::now() + WATCH_INTERVAL,
        next_stall_check: Instant::now() + STALL_CHECK,
        last_level: Instant::now(),
    };
    c.initial_health();
    loop {
        let wait = c.next_deadline().saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Ok(msg) => c.handle(msg),
            Err(RecvTimeoutError::Timeout) => {}
        }
        c.on_timers();
    }
    c.shutdown();
}

/// Without GStreamer or a needed plugin: every configured device is faulty with the reason, and
/// every request is answered with it, until shutdown.
fn unusable(cfg: &CameraConfig, sink: &Sink, rx: &Receiver<Msg>, reason: &str) {
    tracing::error!(%reason, "camera and microphone unusable");
    for (device, fitted) in [
        (AvDevice::Camera, cfg.has_video()),
        (AvDevice::Microphone, cfg.has_audio()),
    ] {
        let state = if fitted {
            DeviceState::Faulty(reason.to_string())
        } else {
            DeviceState::Absent
        };
        sink(CameraEvent::Health { device, state });
    }
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Shutdown => break,
            Msg::Command(Command::StartRecording(_)) => sink(CameraEvent::TakeFinished(Err(
                CameraError::Init(reason.to_string()),
            ))),
            Msg::Command(Command::Play(_)) => sink(CameraEvent::PlaybackEnded { completed: false }),
            _ => {}
        }
    }
}

impl Controller {
    fn emit(&self, event: CameraEvent) {
        (self.sink)(event);
    }

    fn state(&self, device: AvDevice) -> &DeviceState {
        match device {
            AvDevice::Camera => &self.camera,
            AvDevice::Microphone => &self.microphone,
        }
    }

    fn set_health(&mut self, device: AvDevice, state: DeviceState) {
        if *self.state(device) == state {
            return;
        }
        match &state {
            DeviceState::Faulty(reason) => {
                tracing::warn!(device = device.as_str(), %reason, "device faulty")
            }
            DeviceState::Ok => tracing::info!(device = device.as_str(), "device ok"),
            DeviceState::Absent => {}
        }
        match device {
            AvDevice::Camera => self.camera = state.clone(),
            AvDevice::Microphone => self.microphone = state.clone(),
        }
        self.emit(CameraEvent::Health { device, state });
    }

    fn initial_health(&mut self) {
        for device in [AvDevice::Camera, AvDevice::Microphone] {
            let state = probe(&self.cfg, device);
            if device == AvDevice::Camera {
                self.camera_missing =
                    self.cfg.video == VideoSource::V4l2 && !self.cfg.video_device.exists();
            }
            // Always report, so the caller learns the start state (incl. Absent).
            match device {
                AvDevice::Camera => self.camera = state.clone(),
                AvDevice::Microphone => self.microphone = state.clone(),
            }
            if let DeviceState::Faulty(reason) = &state {
                tracing::warn!(device = device.as_str(), %reason, "device faulty at start");
            }
            self.emit(CameraEvent::Health { device, state });
        }
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn next_deadline(&self) -> Instant {
        let mut t = Instant::now() + Duration::from_secs(3600);
        if let Some(rec) = &self.rec {
            t = t.min(rec.stopping.unwrap_or(rec.next_sync));
        }
        if self.watching() {
            t = t.min(self.next_watch);
        }
        if self.live.is_some() {
            t = t.min(self.next_stall_check);
        }
        t
    }

    fn watching(&self) -> bool {
        self.cfg.video == VideoSource::V4l2 && self.live.is_none()
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Command(cmd) => self.command(cmd),
            Msg::Bus { pipeline, msg } => self.bus(pipeline, &msg),
            Msg::RecEos { rec } => {
                if self
                    .rec
                    .as_ref()
                    .is_some_and(|r| r.id == rec && r.stopping.is_some())
                {
                    self.finish_recording(true);
                }
            }
            Msg::Alive { pipeline, device } => {
                if self.live.as_ref().is_some_and(|l| l.id == pipeline) {
                    self.set_health(device, DeviceState::Ok);
                }
            }
            Msg::Shutdown => {}
        }
    }

    fn command(&mut self, cmd: Command) {
        tracing::debug!(?cmd, "camera command");
        match cmd {
            Command::StartPreview => {
                self.preview_wanted = true;
                self.ensure_live(true);
            }
            Command::LendCapture(reply) => {
                self.preview_wanted = true;
                let capture = if self.ensure_live(true) {
                    self.live.as_ref().map(|live| SharedCapture {
                        pipeline: live.pipeline.clone(),
                        video_tee: live.pipeline.by_name("video-tee"),
                        audio_tee: live.pipeline.by_name("audio-tee"),
                    })
                } else {
                    None
                };
                let _ = reply.send(capture);
            }
            Command::StopPreview => {
                self.preview_wanted = false;
                if self.rec.is_none() {
                    self.stop_live();
                }
            }
            Command::StartRecording(dir) => self.start_recording(dir),
            Command::StopRecording => match &mut self.rec {
                Some(rec) if rec.stopping.is_none() => {
                    rec.branch.finish();
                    rec.stopping = Some(Instant::now() + STOP_DEADLINE);
                }
                _ => tracing::debug!("stop_recording without a running take; ignored"),
            },
            Command::Discard => self.discard(),
            Command::Play(path) => {
                self.stop_playback();
                let id = self.next_id();
                match Playback::start(&self.cfg, &path, id, &self.sink, self.tx.clone()) {
                    Ok(p) => self.playback = Some(p),
                    Err(e) => {
                        tracing::warn!(error = %e, "review playback failed to start");
                        self.emit(CameraEvent::PlaybackEnded { completed: false });
                    }
                }
            }
            Command::StopPlayback => self.stop_playback(),
            Command::SetQrScanning(on) => {
                self.qr_wanted = on;
                if on {
                    if let Some(qr) = &self.qr {
                        qr.forget_last();
                    }
                }
                self.apply_qr();
            }
        }
    }

    /// QR decoding runs only when asked for and never during a recording (CPU goes to the take).
    fn apply_qr(&self) {
        if let Some(live) = &self.live {
            live.set_qr(self.qr_wanted && self.rec.is_none() && self.qr.is_some());
        }
    }

    /// Makes sure a live pipeline runs with every working device. `reprobe`: try faulty
    /// devices again (explicit starts only). Returns whether one runs.
    fn ensure_live(&mut self, reprobe: bool) -> bool {
        if self.live.is_some() {
            return true;
        }
        let mut devices = Devices {
            video: self.usable(AvDevice::Camera, reprobe),
            audio: self.usable(AvDevice::Microphone, reprobe),
        };
        while devices.video || devices.audio {
            let id = self.next_id();
            let live = match Live::build(
                &self.cfg,
                devices,
                id,
                &self.sink,
                self.qr.as_ref(),
                self.tx.clone(),
            ) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "cannot build the live pipeline");
                    return false;
                }
            };
            if live.pipeline.set_state(gst::State::Playing).is_ok() {
                self.last_level = Instant::now();
                self.next_stall_check = Instant::now() + STALL_CHECK;
                self.live = Some(live);
                self.apply_qr();
                return true;
            }
            let first = live
                .first_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            live.stop();
            let (part, reason) = match &first {
                Some(m) => (pipeline::part_of(m.src()), pipeline::error_reason(m)),
                None => (Part::Other, "the pipeline does not start".to_string()),
            };
            let device = match part {
                Part::Audio => AvDevice::Microphone,
                Part::Video => AvDevice::Camera,
                _ if devices.video => AvDevice::Camera,
                _ => AvDevice::Microphone,
            };
            self.set_health(device, DeviceState::Faulty(reason));
            match device {
                AvDevice::Camera => devices.video = false,
                AvDevice::Microphone => devices.audio = false,
            }
        }
        false
    }

    /// Whether a device should be part of the next live pipeline.
    fn usable(&mut self, device: AvDevice, reprobe: bool) -> bool {
        match self.state(device) {
            DeviceState::Absent => false,
            DeviceState::Ok => true,
            DeviceState::Faulty(_) if !reprobe => false,
            DeviceState::Faulty(_) => match probe(&self.cfg, device) {
                // Included, but reported Ok only on proof of life.
                DeviceState::Ok => true,
                state => {
                    self.set_health(device, state);
                    false
                }
            },
        }
    }

    fn stop_live(&mut self) {
        if let Some(live) = self.live.take() {
            live.stop();
        }
        self.next_watch = Instant::now() + WATCH_INTERVAL;
    }

    fn stop_playback(&mut self) {
        if let Some(p) = self.playback.take() {
            p.stop();
        }
    }

    fn bus(&mut self, id: u64, msg: &gst::Message) {
        if self.playback.as_ref().is_some_and(|p| p.id == id) {
            match msg.view() {
                gst::MessageView::Eos(_) => {
                    self.stop_playback();
                    self.emit(CameraEvent::PlaybackEnded { completed: true });
                }
                gst::MessageView::Error(_) => {
                    let reason = pipeline::error_reason(msg);
                    let reason = self
                        .playback
                        .as_ref()
                        .map_or(reason.clone(), |p| take::scrub(&reason, &p.file));
                    tracing::warn!(%reason, "review playback failed");
                    self.stop_playback();
                    self.emit(CameraEvent::PlaybackEnded { completed: false });
                }
                _ => {}
            }
            return;
        }
        if self.live.as_ref().is_none_or(|l| l.id != id) {
            return; // a pipeline already torn down
        }
        match msg.view() {
            // A lent call's branch adds jitter buffers: the sinks must learn the new latency.
            gst::MessageView::Latency(_) => {
                if let Some(live) = &self.live {
                    let _ = live.pipeline.recalculate_latency();
                }
            }
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure().filter(|s| s.name() == "level") {
                    if let Some(db) = pipeline::peak_db(s) {
                        self.last_level = Instant::now();
                        self.set_health(AvDevice::Microphone, DeviceState::Ok);
                        self.emit(CameraEvent::Level { db });
                    }
                }
            }
            gst::MessageView::Warning(w) => {
                tracing::warn!(
                    source = msg.src().map(|s| s.name().to_string()).unwrap_or_default(),
                    warning = %w.error(),
                    "camera pipeline warning"
                );
            }
            gst::MessageView::Error(_) => {
                let mut reason = pipeline::error_reason(msg);
                if let Some(rec) = &self.rec {
                    reason = take::scrub(&reason, &rec.dir.join(RECORDING_FILE));
                }
                match pipeline::part_of(msg.src()) {
                    // A lent call's branch: the call notices its own trouble (nothing received,
                    // no connection); the camera and microphone carry on.
                    Part::Call => {
                        tracing::warn!(%reason, "the live call's branch reported an error")
                    }
                    Part::Recording => {
                        tracing::error!(%reason, "the recording failed; keeping what is on disk");
                        self.recording_failed();
                    }
                    Part::Audio => self.device_failed(AvDevice::Microphone, reason),
                    Part::Video => self.device_failed(AvDevice::Camera, reason),
                    Part::Other => {
                        let device = match &self.live {
                            Some(l) if l.devices.video => AvDevice::Camera,
                            _ => AvDevice::Microphone,
                        };
                        self.device_failed(device, reason);
                    }
                }
            }
            gst::MessageView::Eos(_) => {
                let device = match &self.live {
                    Some(l) if l.devices.video => AvDevice::Camera,
                    _ => AvDevice::Microphone,
                };
                self.device_failed(
                    device,
                    "the source stopped delivering (end of stream)".into(),
                );
            }
            _ => {}
        }
    }

    /// A device failed while the live pipeline ran: report it, save the take so far, and carry
    /// on with what still works.
    fn device_failed(&mut self, device: AvDevice, reason: String) {
        self.set_health(device, DeviceState::Faulty(reason));
        let rec = self.rec.take();
        self.stop_live();
        if let Some(rec) = rec {
            drop(rec.file);
            self.emit(CameraEvent::TakeFinished(take::salvage(&rec.dir)));
        }
        if self.preview_wanted {
            self.ensure_live(false);
        }
    }

    fn on_timers(&mut self) {
        let now = Instant::now();
        if let Some(rec) = &mut self.rec {
            if rec.stopping.is_some_and(|d| now >= d) {
                self.finish_recording(false);
            } else if rec.stopping.is_none() && now >= rec.next_sync {
                let secured = rec.branch.span.covered();
                let synced = rec.file.as_ref().map(|f| f.sync_data());
                rec.next_sync = now + SYNC_INTERVAL;
                match synced {
                    Some(Ok(())) => self.emit(CameraEvent::Recording { secured }),
                    Some(Err(e)) => tracing::error!(error = %e, "cannot fsync the recording"),
                    None => {}
                }
            }
        }
        if self.watching() && now >= self.next_watch {
            self.next_watch = now + WATCH_INTERVAL;
            self.watch_camera();
        }
        if self.live.is_some() && now >= self.next_stall_check {
            self.next_stall_check = now + STALL_CHECK;
            self.check_stall(now);
        }
    }

    /// A source that silently stopped delivering is as faulty as one that failed.
    fn check_stall(&mut self, now: Instant) {
        let Some(live) = &self.live else { return };
        let secs = STALL_TIMEOUT.as_secs();
        let picture = *live.last_frame.lock().unwrap_or_else(|e| e.into_inner());
        if live.devices.video && now.duration_since(picture) > STALL_TIMEOUT {
            let reason = format!("no picture from the camera for {secs} s (stalled or unplugged)");
            self.device_failed(AvDevice::Camera, reason);
        } else if live.devices.audio && now.duration_since(self.last_level) > STALL_TIMEOUT {
            let reason =
                format!("no sound from the microphone for {secs} s (stalled or unplugged)");
            self.device_failed(AvDevice::Microphone, reason);
        }
    }

    /// While nothing runs: notice a V4L2 camera unplugged or plugged back in.
    fn watch_camera(&mut self) {
        let present = self.cfg.video_device.exists();
        if !present && !self.camera_missing {
            self.camera_missing = true;
            let reason = CameraError::VideoDeviceMissing {
                path: self.cfg.video_device.clone(),
            }
            .to_string();
            self.set_health(AvDevice::Camera, DeviceState::Faulty(reason));
        } else if present && self.camera_missing {
            self.camera_missing = false;
            let state = probe(&self.cfg, AvDevice::Camera);
            self.set_health(AvDevice::Camera, state);
        }
    }

    fn shutdown(&mut self) {
        self.stop_playback();
        if let Some(rec) = self.rec.take() {
            // Left on disk as it is: recover_take turns it into a take at the next start.
            tracing::warn!("shutting down during a recording; it stays on disk for recovery");
            if let Some(live) = &self.live {
                rec.branch.abort(live);
            }
        }
        self.stop_live();
        if let Some(qr) = self.qr.take() {
            qr.shutdown();
        }
    }
}
