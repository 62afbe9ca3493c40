//! The store's own thread: the UI thread hands it jobs (commit an appeal, record a usage
//! event or a device fault, measure free space) and gets answers back as events, so an fsync
//! of a large video never freezes the screen.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(Result<&mut Store, &StoreError>) + Send>;

/// A handle to the store thread; dropping it lets the thread finish its queued jobs and end.
pub struct StoreThread {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl StoreThread {
    /// Starts the thread, which opens the store in `data_dir` first. A store that cannot be
    /// opened is reported to every job (so each can answer "not saved") rather than lost.
    pub fn spawn(data_dir: PathBuf) -> std::io::Result<StoreThread> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("senim-store".into())
            .spawn(move || {
                let mut store = Store::open(&data_dir);
                if let Err(e) = &store {
                    tracing::error!(error = %e, "the kiosk store cannot be opened");
                }
                for job in rx {
                    job(store.as_mut().map_err(|e| &*e));
                }
            })?;
        Ok(StoreThread {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `job` on the store thread, after every job handed in before it.
    pub fn exec(&self, job: impl FnOnce(Result<&mut Store, &StoreError>) + Send + 'static) {
        if let Some(tx) = &self.tx {
            if tx.send(Box::new(job)).is_err() {
                tracing::error!("the store thread has ended; a job was not run");
            }
        }
    }
}

impl Drop for StoreThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread once the queued jobs (commits) are done.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_on_the_store_and_a_broken_store_is_reported_to_each() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        {
            let thread = StoreThread::spawn(dir.path().to_path_buf()).unwrap();
            for i in 0..3 {
                let tx = tx.clone();
                thread.exec(move |store| {
                    let ok = store.is_ok_and(|s| s.integrity_ok().unwrap_or(false));
                    tx.send((i, ok)).unwrap();
                });
            }
        }
        assert_eq!(
            rx.try_iter().collect::<Vec<_>>(),
            [(0, true), (1, true), (2, true)]
        );

        // A data folder that is a file: the store cannot open, and every job hears why.
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"x").unwrap();
        let thread = StoreThread::spawn(file).unwrap();
        let (tx, rx) = mpsc::channel();
        thread.exec(move |store| tx.send(store.err().map(ToString::to_string)).unwrap());
        drop(thread);
        let why = rx.recv().unwrap().expect("an error");
        assert!(why.contains("data folder"), "{why}");
    }
}
