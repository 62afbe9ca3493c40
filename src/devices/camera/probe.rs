//! Opening each configured device briefly to say how it is: at the controller's start, when a
//! faulty device is tried again, and for `doctor` and the technician screen.

use std::os::unix::fs::FileTypeExt;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::pipeline;
use super::{AudioSource, AvDevice, CameraConfig, CameraError, DeviceState, VideoSource};

/// Opens each configured device briefly and reports its state (for start-up and `doctor`).
pub(crate) fn probe(cfg: &CameraConfig, device: AvDevice) -> DeviceState {
    match device {
        AvDevice::Camera => match cfg.video {
            VideoSource::None | VideoSource::Auto => DeviceState::Absent,
            VideoSource::Test => DeviceState::Ok,
            VideoSource::V4l2 => {
                let path = &cfg.video_device;
                match std::fs::metadata(path) {
                    Err(_) => DeviceState::Faulty(
                        CameraError::VideoDeviceMissing { path: path.clone() }.to_string(),
                    ),
                    Ok(m) if !m.file_type().is_char_device() => DeviceState::Faulty(format!(
                        "{} is not a device node — set camera.video_device to the camera \
                         (e.g. /dev/v4l/by-id/…-video-index0)",
                        path.display()
                    )),
                    Ok(_) => open_briefly("v4l2src", Some(&path.to_string_lossy())),
                }
            }
        },
        AvDevice::Microphone => {
            let device = (!cfg.audio_device.is_empty()).then_some(cfg.audio_device.as_str());
            match cfg.audio {
                AudioSource::None | AudioSource::Auto => DeviceState::Absent,
                AudioSource::Test => DeviceState::Ok,
                AudioSource::Pulse => open_briefly("pulsesrc", device),
                AudioSource::Alsa => open_briefly("alsasrc", device),
            }
        }
    }
}

/// Takes a source element to READY (which opens the device) and back.
fn open_briefly(factory: &str, device: Option<&str>) -> DeviceState {
    let Ok(src) = gst::ElementFactory::make(factory).build() else {
        return DeviceState::Faulty(format!("GStreamer element {factory} is missing"));
    };
    if let Some(d) = device {
        src.set_property("device", d);
    }
    let pipeline = gst::Pipeline::new();
    if pipeline.add(&src).is_err() {
        return DeviceState::Faulty(format!("cannot set up {factory}"));
    }
    let state = match pipeline.set_state(gst::State::Ready) {
        Ok(_) => DeviceState::Ok,
        Err(_) => {
            let reason = pipeline
                .bus()
                .and_then(|b| b.pop_filtered(&[gst::MessageType::Error]))
                .map(|m| pipeline::error_reason(&m))
                .unwrap_or_else(|| format!("{factory} cannot open the device"));
            DeviceState::Faulty(reason)
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    state
}
