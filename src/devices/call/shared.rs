//! The call on the camera's one capture: its branch (a bin of `call-…` elements) added to the
//! camera's running live pipeline and linked to its tees, and taken off again at the end while
//! the camera's preview and take carry on.

use std::sync::Arc;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::{pipeline, CallError, Counters};
use crate::devices::camera::{CameraConfig, CaptureLender, SharedCapture, CALL_MIX_TEE};

/// Where the call's media runs.
pub(crate) enum Media {
    /// A pipeline of its own, with its own devices.
    Own(gst::Pipeline),
    /// A branch on the camera's live pipeline: the bin and its links to the camera's tees.
    Shared {
        capture: SharedCapture,
        bin: gst::Bin,
        links: Vec<(gst::Element, gst::Pad)>,
    },
}

impl Media {
    /// The bin the receiving branches go into.
    pub(crate) fn container(&self) -> gst::Bin {
        match self {
            Media::Own(pipe) => pipe.clone().upcast(),
            Media::Shared { bin, .. } => bin.clone(),
        }
    }
}

/// Borrows the camera's capture and adds the call's branch to it, linked to its tees (not yet
/// started). The media is returned even when a link failed (with `None` for webrtcbin), so
/// that the caller tears down what was added.
pub(crate) fn attach(
    lender: &CaptureLender,
    devices: &CameraConfig,
    counters: &Arc<Counters>,
) -> Result<(Media, Option<gst::Element>), CallError> {
    let capture = lender.borrow().map_err(|e| CallError::Device {
        device: "camera",
        reason: e.to_string(),
    })?;
    let video = capture.video_tee.is_some() && devices.has_video();
    let audio = capture.audio_tee.is_some() && devices.has_audio();
    if !video && !audio {
        return Err(CallError::NothingFitted);
    }
    let (bin, webrtc) = pipeline::build_shared(devices, video, audio, counters)?;
    capture
        .pipeline
        .add(&bin)
        .map_err(|e| CallError::Init(format!("cannot add the call branch: {e}")))?;
    let mut links = Vec::new();
    let mut linked = true;
    for (tee, ghost) in [
        (capture.video_tee.clone().filter(|_| video), "video"),
        (capture.audio_tee.clone().filter(|_| audio), "audio"),
    ] {
        let Some(tee) = tee else { continue };
        let (Some(sink), Some(pad)) = (bin.static_pad(ghost), tee.request_pad_simple("src_%u"))
        else {
            linked = false;
            break;
        };
        let ok = pad.link(&sink).is_ok();
        links.push((tee, pad));
        if !ok {
            tracing::warn!(input = ghost, "cannot link the camera's tee to the call");
            linked = false;
            break;
        }
    }
    let media = Media::Shared {
        capture,
        bin,
        links,
    };
    Ok((media, linked.then_some(webrtc)))
}

/// Takes the call's branch off the camera's capture. A take of the call goes on with the
/// picture alone and ends cleanly: its voices end here.
pub(crate) fn detach(media: Media) {
    let Media::Shared {
        capture,
        bin,
        links,
    } = media
    else {
        return;
    };
    if let Some(pad) = bin.by_name(CALL_MIX_TEE).and_then(|t| t.static_pad("sink")) {
        pad.send_event(gst::event::Eos::new());
    }
    for (tee, pad) in links {
        if let Some(peer) = pad.peer() {
            let _ = pad.unlink(&peer);
        }
        tee.release_request_pad(&pad);
    }
    let _ = bin.set_state(gst::State::Null);
    let _ = capture.pipeline.remove(&bin);
}
