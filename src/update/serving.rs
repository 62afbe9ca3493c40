//! The serving mark: once the UI is up, the systemd watchdog has been fed and the call-centre
//! has answered a heartbeat, the kiosk writes `<run>/serving` (once per start). On a trial boot
//! the root side then marks the new slot good; without it the old slot comes back.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

const UI_UP: u8 = 1;
const WATCHDOG_FED: u8 = 2;
const HEARD: u8 = 4;
const ALL: u8 = UI_UP | WATCHDOG_FED | HEARD;

/// The three conditions of serving, set from the threads that see them; cheap to clone.
#[derive(Debug, Clone)]
pub struct Serving {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mark: PathBuf,
    seen: AtomicU8,
    written: AtomicBool,
}

impl Serving {
    /// The mark at `<run_dir>/serving`.
    pub fn new(run_dir: PathBuf) -> Serving {
        Serving {
            inner: Arc::new(Inner {
                mark: run_dir.join("serving"),
                seen: AtomicU8::new(0),
                written: AtomicBool::new(false),
            }),
        }
    }

    /// The window is shown and drawn (the event loop's first turn).
    pub fn ui_up(&self) {
        self.set(UI_UP);
    }

    /// systemd's watchdog was fed (or the kiosk runs without one, where there is none to feed).
    pub fn watchdog_fed(&self) {
        self.set(WATCHDOG_FED);
    }

    /// The call-centre answered a heartbeat.
    pub fn heard(&self) {
        self.set(HEARD);
    }

    /// Whether the mark was written by this process.
    pub fn written(&self) -> bool {
        self.inner.written.load(Ordering::SeqCst)
    }

    fn set(&self, bit: u8) {
        let seen = self.inner.seen.fetch_or(bit, Ordering::SeqCst) | bit;
        if seen == ALL && !self.inner.written.swap(true, Ordering::SeqCst) {
            match super::write_atomic(&self.inner.mark, b"serving\n") {
                Ok(()) => tracing::info!(mark = %self.inner.mark.display(), "serving"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write the serving mark; a trial boot will roll back");
                    self.inner.written.store(false, Ordering::SeqCst);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_waits_for_all_three_and_is_written_once() {
        let run = tempfile::tempdir().unwrap();
        let serving = Serving::new(run.path().to_path_buf());
        let mark = run.path().join("serving");
        serving.ui_up();
        serving.heard();
        serving.heard();
        assert!(!mark.exists(), "no watchdog yet");
        serving.clone().watchdog_fed();
        assert!(mark.exists() && serving.written());
        std::fs::remove_file(&mark).unwrap();
        serving.heard();
        assert!(!mark.exists(), "written once per start");
    }
}
