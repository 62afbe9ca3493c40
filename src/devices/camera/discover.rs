//! Finding the camera and microphone when the config says `auto`: GStreamer's device monitor lists the V4L2 cameras and the PulseAudio (or PipeWire's Pulse) and ALSA sources, and [`choose`] picks one of each.
//!
//! Auto never picks a test source: what it does not find is absent (typed or voice-only
//! appeals), and a found device that later fails is reported faulty like a configured one.
//! The kiosk image's udev rule names the appeal camera `/dev/senim-camera`; when several
//! cameras are attached, that one wins.

use std::path::{Path, PathBuf};

use gstreamer as gst;
use gstreamer::prelude::*;

use super::{AudioSource, CameraConfig, VideoFormat, VideoSource};

/// The stable name the kiosk image's udev rule gives the appeal camera.
pub const STABLE_CAMERA: &str = "/dev/senim-camera";

/// A device the monitor listed, as far as choosing needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The element that reads it: `v4l2src`, `pulsesrc`, `alsasrc`, …
    pub factory: String,
    /// Its `device` property: `/dev/video0`, a Pulse source name, `hw:1,0`.
    pub device: String,
    /// What the device calls itself ("HD Webcam C270").
    pub name: String,
    /// The caps it offers, as text.
    pub caps: String,
}

/// What `auto` became, and what to tell a technician about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub config: CameraConfig,
    /// One line per device that was `auto`: what was found, or that nothing was.
    pub notes: Vec<String>,
}

/// Replaces `auto` sources with what is attached now (a configured source stays as it is).
/// Lists devices only when something is `auto`; takes a few milliseconds to a second.
pub fn resolve(cfg: &CameraConfig) -> Resolved {
    let mut config = cfg.clone();
    let mut notes = Vec::new();
    if cfg.video != VideoSource::Auto && cfg.audio != AudioSource::Auto {
        return Resolved { config, notes };
    }
    let stable = std::fs::canonicalize(STABLE_CAMERA).ok();
    let (videos, audios) = match list() {
        Ok(found) => found,
        Err(e) => {
            notes.push(format!("cannot list devices: {e}"));
            (Vec::new(), Vec::new())
        }
    };
    let chosen = choose(&videos, &audios, stable.as_deref(), cfg);
    if cfg.video == VideoSource::Auto {
        match chosen.video {
            Some((c, format)) => {
                config.video = VideoSource::V4l2;
                config.video_device = PathBuf::from(&c.device);
                config.video_format = format;
                notes.push(format!(
                    "camera found: {} at {} ({})",
                    c.name,
                    c.device,
                    match format {
                        VideoFormat::Raw => "raw",
                        VideoFormat::Mjpeg => "mjpeg",
                    }
                ));
            }
            None => {
                config.video = VideoSource::None;
                notes.push("no camera found (video = \"auto\")".into());
            }
        }
    }
    if cfg.audio == AudioSource::Auto {
        match chosen.audio {
            Some((c, source)) => {
                config.audio = source;
                config.audio_device = c.device.clone();
                notes.push(format!("microphone found: {} ({})", c.name, c.factory));
            }
            None => {
                config.audio = AudioSource::None;
                notes.push("no microphone found (audio = \"auto\")".into());
            }
        }
    }
    Resolved { config, notes }
}

/// What [`choose`] picked.
#[derive(Debug, Default, PartialEq)]
pub struct Choice<'a> {
    pub video: Option<(&'a Candidate, VideoFormat)>,
    pub audio: Option<(&'a Candidate, AudioSource)>,
}

/// Picks the camera and the microphone. Camera: the one `/dev/senim-camera` leads to, else
/// the first V4L2 camera that can give the configured size; raw when it offers that size at
/// the frame rate uncompressed, else MJPEG when it offers that. Microphone: the first
/// PulseAudio source that is not a monitor of an output, else the first ALSA capture device.
pub fn choose<'a>(
    videos: &'a [Candidate],
    audios: &'a [Candidate],
    stable: Option<&Path>,
    cfg: &CameraConfig,
) -> Choice<'a> {
    let cameras: Vec<&Candidate> = videos.iter().filter(|c| c.factory == "v4l2src").collect();
    let preferred = stable.and_then(|s| {
        cameras.iter().copied().find(|c| {
            std::fs::canonicalize(&c.device).ok().as_deref() == Some(s) || Path::new(&c.device) == s
        })
    });
    let video = preferred
        .into_iter()
        .chain(cameras.iter().copied())
        .find_map(|c| format_for(&c.caps, cfg).map(|f| (c, f)));
    let pulse = audios
        .iter()
        .find(|c| c.factory == "pulsesrc" && !c.device.ends_with(".monitor"))
        .map(|c| (c, AudioSource::Pulse));
    let alsa = audios
        .iter()
        .find(|c| c.factory == "alsasrc")
        .map(|c| (c, AudioSource::Alsa));
    Choice {
        video,
        audio: pulse.or(alsa),
    }
}

/// The format to ask of a camera offering `caps` (GStreamer caps as text), or `None` when it
/// offers neither raw video nor JPEG.
fn format_for(caps: &str, cfg: &CameraConfig) -> Option<VideoFormat> {
    let Ok(caps) = caps.parse::<gst::Caps>() else {
        return None;
    };
    let wanted = |media: &str| {
        gst::Caps::builder(media)
            .field("width", cfg.width as i32)
            .field("height", cfg.height as i32)
            .field("framerate", gst::Fraction::new(cfg.fps as i32, 1))
            .build()
    };
    if caps.can_intersect(&wanted("video/x-raw")) {
        Some(VideoFormat::Raw)
    } else if caps.can_intersect(&wanted("image/jpeg")) {
        Some(VideoFormat::Mjpeg)
    } else if caps.iter().any(|s| s.name() == "video/x-raw") {
        // Not at that size or rate: raw anyway, and the camera's own check will say so.
        Some(VideoFormat::Raw)
    } else if caps.iter().any(|s| s.name() == "image/jpeg") {
        Some(VideoFormat::Mjpeg)
    } else {
        None
    }
}

/// The video and audio sources the device monitor lists now.
fn list() -> Result<(Vec<Candidate>, Vec<Candidate>), String> {
    super::init().map_err(|e| e.to_string())?;
    let monitor = gst::DeviceMonitor::new();
    monitor.add_filter(Some("Video/Source"), None);
    monitor.add_filter(Some("Audio/Source"), None);
    monitor
        .start()
        .map_err(|e| format!("the GStreamer device monitor does not start: {e}"))?;
    let mut videos = Vec::new();
    let mut audios = Vec::new();
    for device in monitor.devices() {
        let Ok(element) = device.create_element(None) else {
            continue;
        };
        let Some(factory) = element.factory().map(|f| f.name().to_string()) else {
            continue;
        };
        let device_prop = if element.has_property("device") {
            element
                .property::<Option<String>>("device")
                .unwrap_or_default()
        } else {
            String::new()
        };
        let candidate = Candidate {
            factory,
            device: device_prop,
            name: device.display_name().to_string(),
            caps: device.caps().map(|c| c.to_string()).unwrap_or_default(),
        };
        if device.has_classes("Video/Source") {
            videos.push(candidate);
        } else if device.has_classes("Audio/Source") {
            audios.push(candidate);
        }
    }
    monitor.stop();
    Ok((videos, audios))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cam(device: &str, caps: &str) -> Candidate {
        Candidate {
            factory: "v4l2src".into(),
            device: device.into(),
            name: format!("camera at {device}"),
            caps: caps.into(),
        }
    }

    fn mic(factory: &str, device: &str) -> Candidate {
        Candidate {
            factory: factory.into(),
            device: device.into(),
            name: device.into(),
            caps: "audio/x-raw".into(),
        }
    }

    const RAW_VGA: &str = "video/x-raw, format=(string)YUY2, width=(int)640, height=(int)480, framerate=(fraction)30/1";
    const MJPEG_720: &str = "image/jpeg, width=(int)1280, height=(int)720, framerate=(fraction)30/1; video/x-raw, format=(string)YUY2, width=(int)1280, height=(int)720, framerate=(fraction)10/1";
    const METADATA: &str = "video/x-raw, format=(string)GREY, width=(int)8, height=(int)8";

    #[test]
    fn the_camera_that_gives_the_size_is_chosen_raw_or_mjpeg() {
        gst::init().unwrap();
        let cfg = CameraConfig::default();
        let videos = [cam("/dev/video0", RAW_VGA)];
        let c = choose(&videos, &[], None, &cfg);
        assert_eq!(c.video, Some((&videos[0], VideoFormat::Raw)));
        // 720p at 30 fps only as JPEG (as many USB cameras): MJPEG.
        let hd = CameraConfig {
            width: 1280,
            height: 720,
            ..CameraConfig::default()
        };
        let videos = [cam("/dev/video2", MJPEG_720)];
        assert_eq!(
            choose(&videos, &[], None, &hd).video,
            Some((&videos[0], VideoFormat::Mjpeg))
        );
        // Something that is neither raw video nor JPEG is skipped; nothing found is nothing.
        let videos = [cam("/dev/video1", "video/x-h264")];
        assert_eq!(choose(&videos, &[], None, &cfg).video, None);
        assert_eq!(choose(&[], &[], None, &cfg), Choice::default());
        let _ = METADATA;
    }

    #[test]
    fn the_udev_named_camera_wins_over_the_first_one() {
        gst::init().unwrap();
        let cfg = CameraConfig::default();
        let videos = [cam("/dev/video0", RAW_VGA), cam("/dev/video2", RAW_VGA)];
        let c = choose(&videos, &[], Some(Path::new("/dev/video2")), &cfg);
        assert_eq!(c.video.map(|(c, _)| c.device.as_str()), Some("/dev/video2"));
        let c = choose(&videos, &[], None, &cfg);
        assert_eq!(c.video.map(|(c, _)| c.device.as_str()), Some("/dev/video0"));
    }

    #[test]
    fn a_pulse_source_beats_alsa_and_monitors_are_no_microphones() {
        let cfg = CameraConfig::default();
        let audios = [
            mic("alsasrc", "hw:1,0"),
            mic(
                "pulsesrc",
                "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
            ),
            mic("pulsesrc", "alsa_input.usb-Webcam-02.mono-fallback"),
        ];
        let c = choose(&[], &audios, None, &cfg);
        assert_eq!(c.audio, Some((&audios[2], AudioSource::Pulse)));
        let c = choose(&[], &audios[..2], None, &cfg);
        assert_eq!(c.audio, Some((&audios[0], AudioSource::Alsa)));
    }

    #[test]
    fn auto_on_a_machine_without_devices_is_no_camera_and_no_microphone_never_a_test_source() {
        // This machine (and CI) has no camera; whatever the monitor finds, auto never becomes
        // a test source, and a configured source is left alone.
        let auto = CameraConfig {
            video: VideoSource::Auto,
            audio: AudioSource::Auto,
            ..CameraConfig::default()
        };
        let r = resolve(&auto);
        assert!(matches!(
            r.config.video,
            VideoSource::V4l2 | VideoSource::None
        ));
        assert!(matches!(
            r.config.audio,
            AudioSource::Pulse | AudioSource::Alsa | AudioSource::None
        ));
        assert_eq!(r.notes.len(), 2, "{:?}", r.notes);
        let configured = CameraConfig::test_sources(true, true);
        let r = resolve(&configured);
        assert_eq!(r.config, configured);
        assert!(r.notes.is_empty());
    }
}
