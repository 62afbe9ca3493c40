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

/// Borrows the camera's capture and builds the call's branch for it (not yet added: the
/// caller hooks webrtcbin's signals first, then [`plug`]s it in).
pub(crate) fn prepare(
    lender: &CaptureLender,
    devices: &CameraConfig,
    counters: &Arc<Counters>,
) -> Result<(Media, gst::Element), CallError> {
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
    let media = Media::Shared {
        capture,
        bin,
        links: Vec::new(),
    };
    Ok((media, webrtc))
}

/// Adds the branch to the camera's running pipeline, starts it, and only then links it to the
/// camera's tees: a tee pushing into a branch that is not running yet gets FLUSHING back and
/// passes it upstream, which stops the camera's sources (the preview and the take with them).
/// On failure, what was added stays in `media` for [`detach`].
pub(crate) fn plug(media: &mut Media) -> Result<(), CallError> {
    let Media::Shared {
        capture,
        bin,
        links,
    } = media
    else {
        return Ok(());
    };
    capture
        .pipeline
        .add(&*bin)
        .map_err(|e| CallError::Init(format!("cannot add the call branch: {e}")))?;
    bin.sync_state_with_parent()
        .map_err(|e| CallError::Init(format!("cannot start the call branch: {e}")))?;
    for (tee, ghost) in [
        (capture.video_tee.clone(), "video"),
        (capture.audio_tee.clone(), "audio"),
    ] {
        let (Some(tee), Some(sink)) = (tee, bin.static_pad(ghost)) else {
            continue;
        };
        let pad = tee
            .request_pad_simple("src_%u")
            .ok_or_else(|| CallError::Init(format!("the camera's {ghost} tee gives no output")))?;
        let linked = pad.link(&sink).is_ok();
        links.push((tee, pad));
        if !linked {
            return Err(CallError::Init(format!(
                "cannot link the camera's {ghost} to the call"
            )));
        }
    }
    Ok(())
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
    if bin.parent().is_some() {
        let _ = capture.pipeline.remove(&bin);
    }
}
