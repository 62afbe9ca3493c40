//! Password work (argon2id: 19 MiB and tens of milliseconds per check) on its own few threads,
//! never on Tokio's blocking pool: the store's reads and writes run there (`db::read`,
//! `db::write`), and a burst of sign-in attempts must not make kiosks' deliveries wait behind
//! it, nor take `threads × 19 MiB` of memory. Jobs wait in a short queue; a caller whose turn
//! has not come waits asynchronously.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::secrets;

type Job = Box<dyn FnOnce() + Send>;

/// Jobs waiting for a thread at most; further callers wait to enqueue.
const QUEUE: usize = 64;

/// The password threads.
#[derive(Debug, Clone)]
pub struct Passwords {
    jobs: mpsc::Sender<Job>,
}

impl Passwords {
    /// Starts `threads` threads (at least one).
    pub fn start(threads: u32) -> Passwords {
        let (jobs, rx) = mpsc::channel::<Job>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
                    match job {
                        Some(job) => job(),
                        None => break,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password thread");
            }
        }
        Passwords { jobs }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.send(job).await.ok()?;
        rx.await.ok()
    }

    /// Whether `password` matches the argon2 `hash` (`false` if the work could not run).
    pub async fn verify(&self, password: String, hash: String) -> bool {
        self.run(move || secrets::verify_password(&password, &hash))
            .await
            .unwrap_or(false)
    }

    /// An argon2id hash of `password`.
    pub async fn hash(&self, password: String) -> Option<String> {
        self.run(move || secrets::hash_password(&password).ok())
            .await
            .flatten()
    }
}
