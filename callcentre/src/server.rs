//! The HTTP server: routes, body limits, housekeeping tasks, plain or TLS listening, and
//! graceful shutdown. It takes a listener and a shutdown future, so tests run the real thing
//! on `127.0.0.1:0`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The whole application: kiosk API, OpenAPI document, operator console, the citizen's
/// status page.
pub fn app(state: Arc<AppState>) -> Router {
    let (api, _) = crate::api::router();
    let json_limit = state.config.server.max_json_kib * 1024;
    Router::new()
        .merge(api)
        .route("/api/v1/call", get(crate::api::call::socket))
        .route("/api/v1/openapi.json", get(crate::api::openapi_document))
        .route("/api/v1/health", get(crate::api::health::health))
        .merge(crate::console::router(state.config.tls.cert.is_some()))
        .merge(crate::status_page::router())
        .route("/", get(|| async { Redirect::to("/console") }))
        .layer(DefaultBodyLimit::max(json_limit))
        .with_state(state)
}

/// TLS material, if the server terminates TLS itself.
pub type Tls = axum_server::tls_rustls::RustlsConfig;

/// rustls is built with one provider in the server (aws-lc-rs) but other crates in the tree may
/// enable another; name ours explicitly before any TLS configuration is made.
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Loads the PEM certificate chain and key named in the configuration.
pub async fn load_tls(config: &crate::config::Config) -> std::io::Result<Option<Tls>> {
    install_crypto_provider();
    match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => Ok(Some(Tls::from_pem_file(cert, key).await?)),
        _ => Ok(None),
    }
}

/// TLS from PEM bytes (certificate chain, private key).
pub async fn tls_from_pem(cert: Vec<u8>, key: Vec<u8>) -> std::io::Result<Tls> {
    install_crypto_provider();
    Tls::from_pem(cert, key).await
}

/// Serves until `shutdown` completes, then lets requests in flight finish (up to 10 s) and
/// writes the last heartbeats.
pub async fn serve(
    listener: std::net::TcpListener,
    state: Arc<AppState>,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    // Before the first request: the uploads folder matched against the store (a kill leaves
    // files without rows, rows without files).
    if let Err(e) = crate::api::tus::sweep_at_start(&state).await {
        tracing::error!(status = %e.status, "upload start-up sweep failed; serving anyway");
    }
    // Personal values stored before sealing at rest are sealed now (issue 19).
    if let Err(e) = crate::reseal::seal_old_rows(&state).await {
        tracing::error!(error = %e, "sealing older personal values failed; serving anyway");
    }
    let handle = axum_server::Handle::new();
    // The live bus (PostgreSQL's, when the store is): stopped when serving ends.
    let live_bus = crate::live::start(&state);
    let housekeeping = tokio::spawn(housekeeping(Arc::clone(&state)));
    let retention = tokio::spawn(crate::retention::run_daily(Arc::clone(&state)));
    let sms_sender = tokio::spawn(Arc::clone(&state.sms).run());
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests in flight");
            handle.graceful_shutdown(Some(Duration::from_secs(10)));
        });
    }
    // The client's address reaches handlers as `ConnectInfo` (the status page limits requests
    // per client; sign-ins are audited with it).
    let service =
        app(Arc::clone(&state)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = match tls {
        Some(tls) => {
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(service)
                .await
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(service)
                .await
        }
    };
    drop(live_bus);
    housekeeping.abort();
    retention.abort();
    sms_sender.abort();
    if let Err(e) = tokio::task::spawn_blocking(move || state.flush_heartbeats()).await {
        tracing::error!(error = %e, "could not write the last heartbeats");
    }
    result
}

/// Every few seconds: write heartbeats, clear presence of silent kiosks, learn the newest
/// catalogue and update bundles; every minute: delete expired unfinished uploads.
async fn housekeeping(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let s = Arc::clone(&state);
        let result = tokio::task::spawn_blocking(move || {
            s.flush_heartbeats()?;
            s.refresh_catalog_version()?;
            s.refresh_updates()?;
            s.drop_silent_presence(chrono::Utc::now());
            s.calls.refresh_availability(s.open_now());
            Ok::<_, crate::db::DbError>(())
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::error!(error = %e, "housekeeping failed; retrying in 5 s");
        }
        if n % 12 == 1 {
            match crate::api::tus::sweep_expired(&state).await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "expired uploads deleted"),
                Err(e) => tracing::error!(status = %e.status, "upload sweep failed"),
            }
        }
    }
}
