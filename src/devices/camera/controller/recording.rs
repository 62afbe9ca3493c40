//! A take's life on the controller thread: starting the recording branch in a fresh take
//! folder, finishing it cleanly (EOS, fsync, rename) or salvaging what a failure left on disk,
//! and discarding a take with its folder.

use std::fs::File;
use std::path::PathBuf;
use std::time::Instant;

use super::super::branch::RecBranch;
use super::super::take::{self, RECORDING_FILE};
use super::super::{CameraError, CameraEvent, Msg, SYNC_INTERVAL};
use super::{Controller, Recording};

impl Controller {
    pub(super) fn start_recording(&mut self, dir: PathBuf) {
        if self.rec.is_some() {
            tracing::error!("start_recording while a take is running; ignored");
            return;
        }
        let dir = match std::path::absolute(&dir) {
            Ok(d) => d,
            Err(e) => {
                let e = CameraError::io("cannot resolve the take folder")(e);
                self.emit(CameraEvent::TakeFinished(Err(e)));
                return;
            }
        };
        if let Err(e) = take::prepare_take_dir(&dir) {
            self.emit(CameraEvent::TakeFinished(Err(e)));
            return;
        }
        if !self.ensure_live(true) {
            self.emit(CameraEvent::TakeFinished(Err(CameraError::NoWorkingDevice)));
            if !self.preview_wanted {
                self.stop_live();
            }
            return;
        }
        let id = self.next_id();
        let tx = self.tx.clone();
        let file = dir.join(RECORDING_FILE);
        let Some(live) = &self.live else { return };
        let branch = match RecBranch::attach(&self.cfg, live, &file, move || {
            let _ = tx.send(Msg::RecEos { rec: id });
        }) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the recording branch");
                let _ = take::remove_take_dir(&dir);
                self.emit(CameraEvent::TakeFinished(Err(e)));
                if !self.preview_wanted {
                    self.stop_live();
                }
                return;
            }
        };
        // The file sink created the file while starting; make its name durable now.
        let handle = File::open(&file).ok();
        if let Err(e) = take::fsync_dir(&dir) {
            tracing::warn!(error = %e, "cannot fsync a new take folder");
        }
        tracing::info!(
            video = live.devices.video,
            audio = live.devices.audio,
            "recording started"
        );
        self.rec = Some(Recording {
            id,
            dir: dir.clone(),
            branch,
            file: handle,
            next_sync: Instant::now() + SYNC_INTERVAL,
            stopping: None,
        });
        self.last_take = Some(dir);
        self.apply_qr();
    }

    /// Ends the running take: `clean` when its EOS reached the file, otherwise what is on disk
    /// is recovered like after a crash.
    pub(super) fn finish_recording(&mut self, clean: bool) {
        let Some(rec) = self.rec.take() else { return };
        if let Some(live) = &self.live {
            rec.branch.abort(live);
        }
        drop(rec.file);
        let result = if clean {
            take::seal(&rec.dir)
        } else {
            tracing::warn!("the recording did not finish in time; recovering what is on disk");
            take::salvage(&rec.dir)
        };
        match &result {
            Ok(t) => tracing::info!(
                seconds = t.duration.as_secs_f32(),
                bytes = t.bytes,
                interrupted = t.interrupted,
                "take finished"
            ),
            Err(e) => tracing::error!(error = %e, "take failed"),
        }
        self.emit(CameraEvent::TakeFinished(result));
        if self.preview_wanted {
            self.apply_qr();
        } else {
            self.stop_live();
        }
    }

    pub(super) fn discard(&mut self) {
        let dir = if let Some(rec) = self.rec.take() {
            if let Some(live) = &self.live {
                rec.branch.abort(live);
            }
            drop(rec.file);
            if !self.preview_wanted {
                self.stop_live();
            } else {
                self.apply_qr();
            }
            Some(rec.dir)
        } else {
            self.last_take.take()
        };
        if let Some(dir) = dir {
            match take::remove_take_dir(&dir) {
                Ok(()) => tracing::info!("take discarded"),
                Err(e) => tracing::error!(error = %e, "cannot discard the take"),
            }
        }
        self.last_take = None;
    }

    /// The recording branch broke (e.g. a full disk): keep what is on disk, keep the preview.
    pub(super) fn recording_failed(&mut self) {
        let Some(rec) = self.rec.take() else { return };
        if let Some(live) = &self.live {
            rec.branch.abort(live);
        }
        drop(rec.file);
        self.emit(CameraEvent::TakeFinished(take::salvage(&rec.dir)));
        if self.preview_wanted {
            self.apply_qr();
        } else {
            self.stop_live();
        }
    }
}
