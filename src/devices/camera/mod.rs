//! The kiosk's camera and microphone on GStreamer: live preview frames, microphone level,
//! crash-safe VP8 + Opus WebM takes, review playback, camera QR reads and device health.
//!
//! A [`Camera`] handle belongs to the UI thread; every call returns at once. A controller thread
//! owns the GStreamer pipelines and reports [`CameraEvent`]s to the sink given to
//! [`Camera::open`] (from the controller, the preview's streaming thread and the QR thread).
//!
//! Pipeline shape (see `ARCHITECTURE.md`):
//!
//! ```text
//! v4l2src|videotestsrc ─ caps ─ tee ┬─ queue(leaky) ─ videorate ≤15 fps ─ scale ─ RGB ─ appsink → Frame
//!                                   ├─ queue(leaky) ─ valve ─ videorate ≤4 fps ─ GRAY8 ─ appsink → QR thread
//!                                   └─ (recording) queue ─ vp8enc ─┐
//! pulsesrc|alsasrc|audiotestsrc ─ 48 kHz mono ─ level ─ tee ┬─ fakesink   webmmux ─ filesink
//!                                   (recording) queue ─ opusenc ─┘
//! ```
//!
//! The recording branch is added to the running pipeline when a take starts and taken off with
//! an EOS when it stops, so the camera is opened once per preview, not once per take.
//!
//! A take lives in its own folder (given by the caller, e.g. `<data>/videos/incoming/<id>/`):
//! the recorder writes `recording.webm` (unbuffered, fsynced every [`SYNC_INTERVAL`]); a clean
//! stop finalises it and renames it `take.webm`. After a crash, [`recover_take`] remuxes what
//! `recording.webm` holds into `take.webm`. Either way the result is one playable WebM file.
//!
//! The test sources (`video = "test"`, `audio = "test"`) are fakes for tests and the demo; a
//! failing real device is reported as faulty, never replaced by them.

mod branch;
mod config;
mod controller;
pub mod discover;
mod graph;
mod pipeline;
mod playback;
mod probe;
pub mod qrscan;
mod take;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use gstreamer as gst;

pub use config::{
    AudioOutput, AudioSource, CameraConfig, InvalidSetting, VideoFormat, VideoSource,
};
pub use graph::launch_line;
pub(crate) use pipeline::rgb_pixels;
pub use take::{inspect, recover_take, remove_take_dir, MediaInfo, RECORDING_FILE, TAKE_FILE};

/// How often a recording's bytes are forced to disk; a power cut loses at most about this much.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// The two devices this module drives (names as in heartbeats: `camera`, `microphone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvDevice {
    Camera,
    Microphone,
}

impl AvDevice {
    pub fn as_str(self) -> &'static str {
        match self {
            AvDevice::Camera => "camera",
            AvDevice::Microphone => "microphone",
        }
    }
}

/// A device's health. The reason is short and technical, never personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    Ok,
    Faulty(String),
    /// Not fitted (the configuration says `none`).
    Absent,
}

/// Which pipeline a frame comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSource {
    /// The live camera (preview, countdown, recording).
    Live,
    /// Review playback of a take.
    Playback,
}

/// One picture for the UI: RGB, at most [`graph::PREVIEW_MAX_WIDTH`] pixels wide, at most
/// 15 per second. Make it an image with `slint::Image::from_rgb8(frame.pixels)`.
#[derive(Clone)]
pub struct Frame {
    pub source: FrameSource,
    pub pixels: slint::SharedPixelBuffer<slint::Rgb8Pixel>,
}

impl Frame {
    pub fn width(&self) -> u32 {
        self.pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.pixels.height()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Frame {{ {:?}, {}×{} }}",
            self.source,
            self.width(),
            self.height()
        )
    }
}

/// A finished take: one WebM file in the take folder. `Debug` leaves out the path.
#[derive(Clone, PartialEq, Eq)]
pub struct Take {
    /// `<take folder>/take.webm`.
    pub path: PathBuf,
    pub duration: Duration,
    pub bytes: u64,
    /// The recording did not end by a stop request (crash, device failure): what was saved up
    /// to the cut is kept.
    pub interrupted: bool,
    pub has_video: bool,
    pub has_audio: bool,
}

impl std::fmt::Debug for Take {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Take")
            .field("path", &"<take>")
            .field("duration", &self.duration)
            .field("bytes", &self.bytes)
            .field("interrupted", &self.interrupted)
            .field("has_video", &self.has_video)
            .field("has_audio", &self.has_audio)
            .finish()
    }
}

/// What the camera reports. `Debug` never shows a QR code's text or a take's path.
pub enum CameraEvent {
    /// A picture (live preview or review playback).
    Frame(Frame),
    /// Microphone peak level in dBFS (−100 … 0), ten times a second while the live pipeline runs.
    Level { db: f32 },
    /// Text decoded from a QR code held to the camera (only while QR scanning is on). Personal
    /// data: hand it to `identity::classify`, never log it.
    Qr(String),
    /// The recording has this much media safely on disk (after each periodic fsync).
    Recording { secured: Duration },
    /// The answer to [`Camera::stop_recording`], or to a recording cut by a device failure.
    TakeFinished(Result<Take, CameraError>),
    /// Review playback reached the end (`completed`) or failed (`false`, reason logged).
    PlaybackEnded { completed: bool },
    /// A device changed state.
    Health {
        device: AvDevice,
        state: DeviceState,
    },
}

impl std::fmt::Debug for CameraEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CameraEvent::Frame(frame) => write!(f, "Frame({frame:?})"),
            CameraEvent::Level { db } => write!(f, "Level {{ db: {db:.1} }}"),
            CameraEvent::Qr(text) => write!(f, "Qr(<{} bytes>)", text.len()),
            CameraEvent::Recording { secured } => write!(f, "Recording {{ secured: {secured:?} }}"),
            CameraEvent::TakeFinished(r) => write!(f, "TakeFinished({r:?})"),
            CameraEvent::PlaybackEnded { completed } => {
                write!(f, "PlaybackEnded {{ completed: {completed} }}")
            }
            CameraEvent::Health { device, state } => {
                write!(f, "Health {{ {}: {state:?} }}", device.as_str())
            }
        }
    }
}

/// What can go wrong with the camera and microphone. Messages say how to fix it; none names a
/// take's folder (a take is a citizen's appeal).
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("camera.video and camera.audio are both \"none\": there is nothing to record")]
    NothingFitted,
    #[error("cannot start GStreamer: {0} — reinstall the gstreamer1.0 packages (make setup)")]
    Init(String),
    #[error("the GStreamer element `{element}` is missing — install {package} (scripts/setup.sh)")]
    MissingElement {
        element: &'static str,
        package: &'static str,
    },
    #[error(
        "camera device {path} does not exist — check that the camera is plugged in and that \
         camera.video_device is right (prefer a /dev/v4l/by-id/ link)"
    )]
    VideoDeviceMissing { path: PathBuf },
    #[error("{device} failed: {reason}")]
    Device {
        device: &'static str,
        reason: String,
    },
    #[error("a recording is already running; stop it first")]
    Busy,
    #[error("cannot record: no camera or microphone is working")]
    NoWorkingDevice,
    #[error("{what}: {source} — check that the data folder is writable and its disk not full")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the take folder already holds a recording; give each take a new folder")]
    TakeExists,
    #[error("the recording holds no pictures or sound (it was stopped or cut at once)")]
    NoMedia,
    #[error("cannot read the recording: {0}")]
    Media(String),
    #[error("the recorder did not finish within {0:?}; what was saved up to then is kept")]
    Timeout(Duration),
    #[error("the camera controller has stopped (a bug: see the log)")]
    Stopped,
}

impl CameraError {
    pub(crate) fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> CameraError {
        move |source| CameraError::Io { what, source }
    }
}

/// Opens each configured device briefly (a V4L2 camera, a PulseAudio or ALSA source) and says
/// how it is: for `doctor` and the technician screen. Blocks for the time the devices take to
/// open (milliseconds); not for the UI thread.
pub fn probe_devices(cfg: &CameraConfig) -> Result<Vec<(AvDevice, DeviceState)>, CameraError> {
    init()?;
    pipeline::check_elements(cfg)?;
    Ok([AvDevice::Camera, AvDevice::Microphone]
        .into_iter()
        .map(|d| (d, probe::probe(cfg, d)))
        .collect())
}

/// Initialises GStreamer once (cheap after the first call).
pub(crate) fn init() -> Result<(), CameraError> {
    gst::init().map_err(|e| CameraError::Init(e.to_string()))
}

/// A command from the UI thread to the controller. `Debug` leaves out take paths.
enum Command {
    StartPreview,
    StopPreview,
    StartRecording(PathBuf),
    StopRecording,
    Discard,
    Play(PathBuf),
    StopPlayback,
    SetQrScanning(bool),
    /// Start the live pipeline (as `StartPreview`) and hand it to a live call.
    LendCapture(mpsc::Sender<Option<SharedCapture>>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::StartPreview => "StartPreview",
            Command::StopPreview => "StopPreview",
            Command::StartRecording(_) => "StartRecording(<take>)",
            Command::StopRecording => "StopRecording",
            Command::Discard => "Discard",
            Command::Play(_) => "Play(<take>)",
            Command::StopPlayback => "StopPlayback",
            Command::SetQrScanning(true) => "SetQrScanning(on)",
            Command::SetQrScanning(false) => "SetQrScanning(off)",
            Command::LendCapture(_) => "LendCapture",
        })
    }
}

/// What the controller thread receives.
enum Msg {
    Command(Command),
    /// A message from a pipeline's bus, tagged with the pipeline's id.
    Bus {
        pipeline: u64,
        msg: gst::Message,
    },
    /// The recording branch's EOS reached its file sink.
    RecEos {
        rec: u64,
    },
    /// A live pipeline delivered its first frame (camera) — proof the device works.
    Alive {
        pipeline: u64,
        device: AvDevice,
    },
    Shutdown,
}

/// The event sink shared by the controller, streaming threads and the QR thread.
pub(crate) type Sink = std::sync::Arc<dyn Fn(CameraEvent) + Send + Sync>;

/// The camera and microphone. Owned by the UI thread; every method returns at once and the
/// answers come as events. Dropping it stops every pipeline (an unfinished recording stays on
/// disk for [`recover_take`]).
pub struct Camera {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Camera")
    }
}

impl Camera {
    /// Starts the controller thread and returns at once (GStreamer's start-up, which can take a
    /// while on a cold plugin cache, happens on that thread). The thread reports each device's
    /// health first: a missing camera, or GStreamer or one of its plugins not installed, is a
    /// `Health` event with the reason, not an error here. Devices are opened only between
    /// `start_preview`/`start_recording` and their stops.
    pub fn open(
        cfg: CameraConfig,
        sink: impl Fn(CameraEvent) + Send + Sync + 'static,
    ) -> Result<Camera, CameraError> {
        if !cfg.has_video() && !cfg.has_audio() {
            return Err(CameraError::NothingFitted);
        }
        if cfg.video == VideoSource::Test {
            tracing::warn!("camera: using the TEST video source (a fake for tests and the demo)");
        }
        if cfg.audio == AudioSource::Test {
            tracing::warn!(
                "microphone: using the TEST audio source (a fake for tests and the demo)"
            );
        }
        let (tx, rx) = mpsc::channel();
        let sink: Sink = std::sync::Arc::new(sink);
        let ctl_tx = tx.clone();
        let thread = thread::Builder::new()
            .name("senim-camera".into())
            .spawn(move || controller::run(cfg, sink, ctl_tx, rx))
            .map_err(CameraError::io("cannot start the camera thread"))?;
        Ok(Camera {
            tx,
            thread: Some(thread),
        })
    }

    fn send(&self, command: Command) {
        if self.tx.send(Msg::Command(command)).is_err() {
            tracing::error!("camera controller is gone; command dropped");
        }
    }

    /// Starts the live pipeline (frames and level events). Off at the attract screen.
    pub fn start_preview(&self) {
        self.send(Command::StartPreview);
    }

    /// Stops the live pipeline, unless a recording is running (it stops after the take).
    pub fn stop_preview(&self) {
        self.send(Command::StopPreview);
    }

    /// Starts a take in `take_dir` (created if missing; must not hold a take already). Starts
    /// the live pipeline if it is off. `Recording` events follow every [`SYNC_INTERVAL`].
    pub fn start_recording(&self, take_dir: &Path) {
        self.send(Command::StartRecording(take_dir.to_path_buf()));
    }

    /// Ends the take: EOS, wait for the file to be finalised (bounded), fsync, then
    /// `TakeFinished`. The maximum length is the caller's to enforce.
    pub fn stop_recording(&self) {
        self.send(Command::StopRecording);
    }

    /// Throws away the running take, or else the last finished one, with its folder. No
    /// `TakeFinished` follows for a discarded running take. Also the way to remove a take's
    /// (then empty) folder after the store committed its file.
    pub fn discard(&self) {
        self.send(Command::Discard);
    }

    /// Plays a take for review: frames as `Frame` events with [`FrameSource::Playback`], sound
    /// to `audio_output`, then `PlaybackEnded`.
    pub fn play(&self, take: &Path) {
        self.send(Command::Play(take.to_path_buf()));
    }

    /// Stops review playback (no `PlaybackEnded` follows).
    pub fn stop_playback(&self) {
        self.send(Command::StopPlayback);
    }

    /// Turns decoding of QR codes in the live picture on or off (on at identification only).
    pub fn set_qr_scanning(&self, on: bool) {
        self.send(Command::SetQrScanning(on));
    }

    /// A handle with which a live call borrows this camera's capture (see [`CaptureLender`]).
    pub fn lender(&self) -> CaptureLender {
        CaptureLender {
            tx: self.tx.clone(),
        }
    }
}

/// How long [`CaptureLender::borrow`] waits for the live pipeline to start.
const LEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Lets a live call share the camera's one capture: the call adds its branch (encoders,
/// `webrtcbin`, the mix of both voices) to the running live pipeline, beside the preview and the
/// take, instead of opening the devices a second time. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct CaptureLender {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for CaptureLender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaptureLender")
    }
}

impl CaptureLender {
    /// Starts the live pipeline if it is off (as `start_preview`) and returns it. Blocks until
    /// the controller answers: call it from a call's own thread, never the UI thread.
    pub fn borrow(&self) -> Result<SharedCapture, CameraError> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Msg::Command(Command::LendCapture(tx)))
            .map_err(|_| CameraError::Init("the camera controller is gone".into()))?;
        match rx.recv_timeout(LEND_TIMEOUT) {
            Ok(Some(capture)) => Ok(capture),
            Ok(None) => Err(CameraError::Init(
                "neither the camera nor the microphone works; see the technician screen".into(),
            )),
            Err(_) => Err(CameraError::Init(
                "the camera did not start in time for the call".into(),
            )),
        }
    }
}

/// The camera's running live pipeline as lent to a call: the pipeline and the tees of the
/// picture and of the microphone (each `None` when that device is not in it). Elements a call
/// adds must be named `call…`, so their messages are told apart from the devices'. A take
/// started while a call's branch holds an element named [`CALL_MIX_TEE`] records the voices
/// from it (both sides of the call) instead of the microphone alone, and one named
/// [`CALL_VIDEO_TEE`] the call's encoded picture.
#[derive(Clone)]
pub struct SharedCapture {
    pub pipeline: gst::Pipeline,
    pub video_tee: Option<gst::Element>,
    pub audio_tee: Option<gst::Element>,
}

impl std::fmt::Debug for SharedCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCapture")
            .field("video", &self.video_tee.is_some())
            .field("audio", &self.audio_tee.is_some())
            .finish()
    }
}

/// Name of the tee carrying a call's mixed voices (patient and operator), for the take.
pub const CALL_MIX_TEE: &str = "call-mix-tee";
/// Name of the tee carrying a call's encoded (VP8) picture: a take during the call records it
/// as it is instead of encoding the camera a second time.
pub const CALL_VIDEO_TEE: &str = "call-video-tee";

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Shutdown);
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                tracing::error!("camera thread ended with a panic");
            }
        }
    }
}

#[cfg(test)]
mod tests;
