//! The technician's one-shot check of the call-centre link (`senim-kiosk doctor`, technician
//! screen): TCP reachability, then an authenticated heartbeat proving TLS, the token and the
//! clocks.

use std::time::Duration;

use chrono::Utc;
use senim_protocol::{Heartbeat, KioskState, Versions};
use tokio::time::Instant;

use super::client::Api;
use super::{SyncConfig, SyncError};
use crate::store::Store;

/// What a technician's probe of the call-centre found (`senim-kiosk doctor`, technician
/// screen).
#[derive(Debug)]
pub struct Probe {
    /// The backend speaks HTTPS (certificate verified when the API answered).
    pub https: bool,
    /// The enrolment pinned the call-centre's TLS key (checked when the API answered).
    pub pinned: bool,
    /// The host is this machine (plain HTTP is then no exposure).
    pub loopback: bool,
    /// TCP connect time to the backend's port, or why it failed.
    pub connect: Result<Duration, String>,
    /// An authenticated heartbeat: its round trip and the clock skew (server − kiosk, ms).
    pub api: Result<(Duration, i64), SyncError>,
}

/// Probes the call-centre once: TCP reachability, then an authenticated heartbeat (state
/// "technician") that proves TLS, the token and the clocks.
pub fn probe(config: &SyncConfig, queue_depth: u32) -> Result<Probe, SyncError> {
    let api = Api::new(&config.backend_url, config.ca_pem.as_deref())?;
    let url = api.base().clone();
    let https = url.scheme() == "https";
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let port = url.port_or_known_default().unwrap_or(443);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(SyncError::Thread)?;
    let store = Store::open(&config.data_dir)?;
    let enrolment = store.enrolment()?;
    let pinned = https && enrolment.as_ref().is_some_and(|e| e.pin.is_some());
    let catalog = store.catalog_version()?;
    let catalog_problem = store.catalog_problem()?;
    let parked = u32::try_from(store.queue()?.parked_count()).unwrap_or(u32::MAX);
    runtime.block_on(async move {
        let started = Instant::now();
        let connect = match tokio::time::timeout(
            Duration::from_secs(5),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 5 s".to_string()),
        };
        let api = match enrolment {
            None => Err(SyncError::NotEnrolled),
            Some(e) => {
                let api = Api::enrolled(&config.backend_url, config.ca_pem.as_deref(), &e)?;
                let sent_at = Utc::now();
                let started = Instant::now();
                api.heartbeat(&Heartbeat {
                    state: KioskState::Technician,
                    queue_depth,
                    devices: Vec::new(),
                    versions: Versions {
                        app: config.app_version.clone(),
                        catalog,
                        image: config
                            .updates
                            .as_ref()
                            .and_then(|u| crate::update::image_version(&u.os_release)),
                    },
                    sent_at,
                    catalog_problem,
                    parked,
                    update: None,
                })
                .await
                .map(|answer| {
                    let rtt = started.elapsed();
                    let half = chrono::Duration::from_std(rtt / 2).unwrap_or_default();
                    (
                        rtt,
                        (answer.server_time - (sent_at + half)).num_milliseconds(),
                    )
                })
            }
        };
        Ok(Probe {
            https,
            pinned,
            loopback,
            connect,
            api,
        })
    })
}
