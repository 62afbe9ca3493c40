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

mod controller;
mod pipeline;
pub mod qrscan;
mod take;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde::Deserialize;

pub use pipeline::launch_line;
pub use take::{inspect, recover_take, remove_take_dir, MediaInfo, RECORDING_FILE, TAKE_FILE};

/// How often a recording's bytes are forced to disk; a power cut loses at most about this much.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(2);

/// Where the camera's pictures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoSource {
    /// A V4L2 camera (`video_device`).
    V4l2,
    /// GStreamer's test pattern: a fake for tests and the demo.
    Test,
    /// No camera fitted: audio-only or typed appeals.
    #[default]
    None,
}

/// The picture format asked of a V4L2 camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoFormat {
    /// Uncompressed (usually YUY2): least CPU, but many USB cameras give 720p only as MJPEG.
    #[default]
    Raw,
    /// Motion JPEG, decoded with `jpegdec`.
    Mjpeg,
}

/// Where the microphone's sound comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioSource {
    /// A PulseAudio (or PipeWire-pulse) source.
    Pulse,
    /// An ALSA capture device.
    Alsa,
    /// GStreamer's test tone: a fake for tests and the demo.
    Test,
    /// No microphone fitted.
    #[default]
    None,
}

/// Where review playback's sound goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioOutput {
    /// GStreamer picks (PulseAudio, then ALSA); with no sound card it plays silently.
    #[default]
    Auto,
    Pulse,
    Alsa,
    /// No loudspeaker: review shows the picture only.
    None,
}

/// The `[camera]` section: devices, picture and bit rates (`config/kiosk.example.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    pub video: VideoSource,
    /// The camera's device node; prefer a stable `/dev/v4l/by-id/...-video-index0` link.
    pub video_device: PathBuf,
    pub video_format: VideoFormat,
    pub audio: AudioSource,
    /// PulseAudio source name or ALSA device (e.g. `plughw:CARD=Device`); empty: the default.
    pub audio_device: String,
    pub audio_output: AudioOutput,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    pub audio_kbps: u32,
    /// Fault injection for tests, not configurable: the test video source stops after this many
    /// frames without an error, like a stalled USB camera.
    #[serde(skip)]
    pub test_stall_after: Option<u32>,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            video: VideoSource::None,
            video_device: PathBuf::from("/dev/video0"),
            video_format: VideoFormat::Raw,
            audio: AudioSource::None,
            audio_device: String::new(),
            audio_output: AudioOutput::Auto,
            width: 640,
            height: 480,
            fps: 30,
            video_kbps: 800,
            audio_kbps: 48,
            test_stall_after: None,
        }
    }
}

/// A `[camera]` value that cannot work: the key (inside the section) and what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSetting {
    pub key: &'static str,
    pub expected: String,
    pub found: String,
}

impl CameraConfig {
    /// The test sources with the given devices: what tests, the demo and the bench use.
    pub fn test_sources(video: bool, audio: bool) -> CameraConfig {
        CameraConfig {
            video: if video {
                VideoSource::Test
            } else {
                VideoSource::None
            },
            audio: if audio {
                AudioSource::Test
            } else {
                AudioSource::None
            },
            audio_output: AudioOutput::None,
            ..CameraConfig::default()
        }
    }

    /// Whether a camera is configured.
    pub fn has_video(&self) -> bool {
        self.video != VideoSource::None
    }

    /// Whether a microphone is configured.
    pub fn has_audio(&self) -> bool {
        self.audio != AudioSource::None
    }

    /// Refuses values that can never work.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let bad = |key, expected: &str, found: String| {
            Err(InvalidSetting {
                key,
                expected: expected.to_string(),
                found,
            })
        };
        if self.video == VideoSource::V4l2 {
            let dev = &self.video_device;
            if dev.as_os_str().is_empty() || !dev.is_absolute() {
                return bad(
                    "video_device",
                    "the camera's absolute device path, e.g. /dev/v4l/by-id/usb-…-video-index0",
                    format!("{:?}", dev.display().to_string()),
                );
            }
        }
        if self.audio_device.chars().any(char::is_control) {
            return bad(
                "audio_device",
                "a PulseAudio source name or an ALSA device such as plughw:CARD=Device",
                "control characters".into(),
            );
        }
        if !(160..=1920).contains(&self.width) || !self.width.is_multiple_of(2) {
            return bad(
                "width",
                "an even number of pixels between 160 and 1920",
                self.width.to_string(),
            );
        }
        if !(120..=1080).contains(&self.height) || !self.height.is_multiple_of(2) {
            return bad(
                "height",
                "an even number of pixels between 120 and 1080",
                self.height.to_string(),
            );
        }
        if !(5..=60).contains(&self.fps) {
            return bad(
                "fps",
                "between 5 and 60 frames per second",
                self.fps.to_string(),
            );
        }
        if !(100..=8000).contains(&self.video_kbps) {
            return bad(
                "video_kbps",
                "between 100 and 8000 kbit/s",
                self.video_kbps.to_string(),
            );
        }
        if !(16..=256).contains(&self.audio_kbps) {
            return bad(
                "audio_kbps",
                "between 16 and 256 kbit/s",
                self.audio_kbps.to_string(),
            );
        }
        Ok(())
    }
}

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

/// One picture for the UI: RGB, at most [`pipeline::PREVIEW_MAX_WIDTH`] pixels wide, at most
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
    pipeline::init()?;
    pipeline::check_elements(cfg)?;
    Ok([AvDevice::Camera, AvDevice::Microphone]
        .into_iter()
        .map(|d| (d, controller::probe(cfg, d)))
        .collect())
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
        })
    }
}

/// The event sink shared by the controller, streaming threads and the QR thread.
pub(crate) type Sink = std::sync::Arc<dyn Fn(CameraEvent) + Send + Sync>;

/// The camera and microphone. Owned by the UI thread; every method returns at once and the
/// answers come as events. Dropping it stops every pipeline (an unfinished recording stays on
/// disk for [`recover_take`]).
pub struct Camera {
    tx: mpsc::Sender<controller::Msg>,
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
        if self.tx.send(controller::Msg::Command(command)).is_err() {
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
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.tx.send(controller::Msg::Shutdown);
        if let Some(t) = self.thread.take() {
            if t.thread().id() != thread::current().id() && t.join().is_err() {
                tracing::error!("camera thread ended with a panic");
            }
        }
    }
}

#[cfg(test)]
mod tests;
