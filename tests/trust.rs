//! Transport trust and signed content, end to end on loopback: the kiosk pins the call-centre's
//! TLS key from the enrolment code (a second server with another certificate of the same CA is
//! refused), follows no tus `Location` to another origin, reads no answer beyond its cap, and
//! installs only catalogues signed by the call-centre's key (learnt at enrolment, or from a
//! heartbeat answer by a kiosk enrolled before signing).
//!
//! Over 600 lines: one concern (whom the kiosk trusts), each test with the real servers or the
//! small fake call-centres it needs, kept side by side.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use senim_callcentre::config::TlsSection;
use senim_callcentre::db::Db;
use senim_callcentre::state::AppState;
use senim_kiosk::store::Store;
use senim_kiosk::sync::client::{Api, Created};
use senim_kiosk::sync::{self, SyncError};
use support::{backend_config, enrolled_kiosk, sync_config, Backend};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A private CA and a certificate for `localhost` it signed, with its own key.
struct Leaf {
    cert_pem: String,
    key_pem: String,
}

fn ca_and_leaves(n: usize) -> (String, Vec<Leaf>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Senim test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = params.self_signed(&ca_key).unwrap();
    let leaves = (0..n)
        .map(|_| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
                .unwrap()
                .signed_by(&key, &ca, &ca_key)
                .unwrap();
            Leaf {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            }
        })
        .collect();
    (ca.pem(), leaves)
}

/// The real call-centre serving HTTPS with `leaf` on loopback (`https://localhost:PORT`).
struct TlsBackend {
    url: String,
    state: Arc<AppState>,
    dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TlsBackend {
    fn start(leaf: &Leaf) -> TlsBackend {
        let dir = tempfile::tempdir().unwrap();
        let cert_path = dir.path().join("cert.pem");
        std::fs::write(&cert_path, &leaf.cert_pem).unwrap();
        let mut config = backend_config();
        config.server.data_dir = dir.path().to_path_buf();
        config.tls = TlsSection {
            cert: Some(cert_path),
            key: None,
            pin_cert: None,
        };
        let schedule = config.schedule().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let state = AppState::new(db, config, schedule, dir.path().to_path_buf());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let tls = runtime
            .block_on(senim_callcentre::server::tls_from_pem(
                leaf.cert_pem.clone().into_bytes(),
                leaf.key_pem.clone().into_bytes(),
            ))
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(senim_callcentre::server::serve(
            listener,
            Arc::clone(&state),
            Some(tls),
            async {
                let _ = rx.await;
            },
        ));
        TlsBackend {
            url: format!("https://localhost:{port}"),
            state,
            dir,
            runtime,
            _stop: tx,
        }
    }

    /// The enrolment QR code's text after `SENIM-ENROL:`, as `enrol-code --qr` makes it.
    fn code(&self) -> String {
        self.code_pinned(self.state.tls_pin)
    }

    /// The same with another pin in it.
    fn code_pinned(&self, pin: Option<senim_protocol::enrol::SpkiPin>) -> String {
        let code = senim_callcentre::enrolment::new_code();
        self.state
            .db
            .write(|tx| {
                senim_callcentre::enrolment::store(
                    tx,
                    &code,
                    "Pinned hospital",
                    senim_protocol::SiteMode::Hospital,
                    chrono::Utc::now(),
                    1,
                )
            })
            .unwrap();
        let text = senim_callcentre::enrolment::text(&code, pin, None);
        text.strip_prefix(senim_protocol::ENROL_PREFIX)
            .unwrap()
            .to_string()
    }
}

#[test]
fn the_kiosk_pins_the_call_centres_key_and_refuses_another_server_of_the_same_ca() {
    let (ca, leaves) = ca_and_leaves(2);
    let (a, b) = (TlsBackend::start(&leaves[0]), TlsBackend::start(&leaves[1]));
    assert!(a.state.tls_pin.is_some() && a.state.tls_pin != b.state.tls_pin);
    let data = tempfile::tempdir().unwrap();
    let ca = Some(ca.as_bytes());

    // The code of A, taken to B: the enrolment request itself is refused before it is sent.
    let err = sync::enrol(data.path(), &b.url, ca, &a.code()).unwrap_err();
    assert!(
        matches!(&err, SyncError::Offline { reason, .. } if reason.contains("pinned at enrolment")),
        "{err}"
    );
    assert!(Store::open(data.path())
        .unwrap()
        .enrolment()
        .unwrap()
        .is_none());

    // At A it enrols, and keeps the pin.
    let enrolment = sync::enrol(data.path(), &a.url, ca, &a.code()).unwrap();
    assert_eq!(enrolment.pin, a.state.tls_pin);
    assert_eq!(
        Store::open(data.path()).unwrap().enrolment().unwrap(),
        Some(enrolment.clone())
    );

    let rt = runtime();
    let beat = senim_protocol::Heartbeat {
        state: senim_protocol::KioskState::Idle,
        queue_depth: 0,
        devices: Vec::new(),
        versions: senim_protocol::Versions {
            app: "test".into(),
            catalog: None,
            image: None,
        },
        sent_at: chrono::Utc::now(),
        catalog_problem: None,
        parked: 0,
        update: None,
    };
    let at_a = Api::enrolled(&a.url, ca, &enrolment).unwrap();
    rt.block_on(at_a.heartbeat(&beat))
        .expect("A is the pinned server");

    // B has a valid certificate of the same CA (an unpinned client trusts it) ...
    let unpinned = Api::new(&b.url, ca).unwrap();
    let answer = rt.block_on(unpinned.enrol("AAAA-BBBB-CCCC-DDDD", None));
    assert!(
        matches!(answer, Err(SyncError::Refused { .. })),
        "B answers an unpinned client: {answer:?}"
    );
    // ... but the enrolled kiosk refuses it: the heartbeat never reaches B.
    let at_b = Api::enrolled(&b.url, ca, &enrolment).unwrap();
    let err = rt.block_on(at_b.heartbeat(&beat)).unwrap_err();
    assert!(
        matches!(&err, SyncError::Offline { reason, .. } if reason.contains("pinned at enrolment")),
        "{err}"
    );
    assert!(b.state.heartbeats().is_empty(), "nothing reached B");
    // So does the call's signalling socket, and the technician's probe says why.
    let endpoint = sync::call::Endpoint::enrolled(&b.url, ca, &enrolment).unwrap();
    let found = sync::call::availability(&endpoint, Duration::from_secs(10));
    assert!(
        matches!(&found, Err(e) if e.to_string().contains("pinned at enrolment")),
        "{found:?}"
    );
    let mut config = sync_config(data.path(), &b.url);
    config.ca_pem = ca.map(<[u8]>::to_vec);
    let probe = sync::probe(&config, 0).unwrap();
    assert!(probe.pinned);
    assert!(
        matches!(&probe.api, Err(SyncError::Offline { reason, .. }) if reason.contains("pinned at enrolment")),
        "{:?}",
        probe.api
    );
    drop((a.runtime, b.runtime, a.dir, b.dir));
}

/// A self-signed certificate for `localhost` as `openssl req -x509` makes one (marked CA).
fn self_signed() -> Leaf {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

#[test]
fn a_blank_kiosk_trusts_a_call_centre_no_root_vouches_for_through_the_pin_in_its_code() {
    // A self-signed call-centre: no public root, no [sync] ca_file.
    let (a, b) = (
        TlsBackend::start(&self_signed()),
        TlsBackend::start(&self_signed()),
    );
    let data = tempfile::tempdir().unwrap();
    // Without a pin the kiosk does not trust it ...
    let unpinned = Api::new(&a.url, None).unwrap();
    let answer = runtime().block_on(unpinned.enrol("AAAA-BBBB-CCCC-DDDD", None));
    assert!(
        matches!(&answer, Err(SyncError::Offline { reason, .. }) if reason.contains("certificate")),
        "{answer:?}"
    );
    // ... nor with the pin of another server's key: nothing is sent, nothing kept.
    let err = sync::enrol(data.path(), &b.url, None, &a.code()).unwrap_err();
    assert!(
        matches!(&err, SyncError::Offline { reason, .. } if reason.contains("certificate")),
        "{err}"
    );
    assert!(Store::open(data.path())
        .unwrap()
        .enrolment()
        .unwrap()
        .is_none());
    // With the code's own pin it enrols: the pin is the trust anchor.
    let enrolment = sync::enrol(data.path(), &a.url, None, &a.code()).unwrap();
    assert_eq!(enrolment.pin, a.state.tls_pin);

    // A private CA's certificate, sent by the server and named by the pin, anchors the chain.
    let (ca_pem, leaves) = ca_and_leaves(1);
    let chain = Leaf {
        cert_pem: format!("{}{}", leaves[0].cert_pem, ca_pem),
        key_pem: leaves[0].key_pem.clone(),
    };
    let c = TlsBackend::start(&chain);
    use rustls_pki_types::pem::PemObject;
    let ca_der = rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap();
    let ca_pin = senim_protocol::enrol::SpkiPin(senim_common::spki::spki_sha256(&ca_der).unwrap());
    let other = tempfile::tempdir().unwrap();
    let enrolment = sync::enrol(other.path(), &c.url, None, &c.code_pinned(Some(ca_pin))).unwrap();
    assert_eq!(enrolment.pin, Some(ca_pin));
    drop((a.runtime, b.runtime, c.runtime, a.dir, b.dir, c.dir));
}

/// A fake call-centre on loopback answering each request by its path; counts requests for
/// the catalogue.
fn fake_routes(answer: impl Fn(&str) -> Vec<u8> + Send + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let path = first.split(' ').nth(1).unwrap_or("/").to_string();
            if path.starts_with("/api/v1/catalog") {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(&answer(&path));
        }
    });
    (url, count)
}

/// A fake call-centre on loopback answering every request with `answer`; counts requests.
fn fake(answer: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    fake_at(|_| answer)
}

/// The same, with the answer made from the fake's own URL.
fn fake_at(answer: impl FnOnce(&str) -> Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = answer(&url);
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(&answer);
        }
    });
    (url, count)
}

#[test]
fn a_tus_location_on_another_origin_is_refused_and_nothing_is_sent_there() {
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let foreign = format!(
        "http://{}/api/v1/uploads/abc",
        elsewhere.local_addr().unwrap()
    );
    let created = |location: &str| {
        format!(
            "HTTP/1.1 201 Created\r\nLocation: {location}\r\nTus-Resumable: 1.0.0\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    let rt = runtime();
    let (url, _) = fake(created(&foreign));
    let api = Api::new(&url, None).unwrap().with_token("t");
    let err = rt
        .block_on(api.create_upload("A-7Q2M9XK3", 10))
        .unwrap_err();
    assert!(
        matches!(&err, SyncError::Protocol(m) if m.contains("nothing is sent there")),
        "{err}"
    );
    // A Location kept from before is not followed either.
    let err = rt.block_on(api.upload_state(&foreign)).unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err}");
    let err = rt
        .block_on(api.patch(&foreign, 0, vec![1; 10]))
        .unwrap_err();
    assert!(matches!(err, SyncError::Protocol(_)), "{err}");
    assert!(
        matches!(elsewhere.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection was made to the other origin"
    );

    // The call-centre's own relative Location, and an absolute one on its own origin, are fine.
    let (url, _) = fake(created("/api/v1/uploads/abc"));
    let api = Api::new(&url, None).unwrap();
    let ok = rt.block_on(api.create_upload("A-7Q2M9XK3", 10)).unwrap();
    assert_eq!(ok, Created::Location("/api/v1/uploads/abc".into()));
    let (url, _) = fake_at(|url| created(&format!("{url}/api/v1/uploads/abc")));
    let api = Api::new(&url, None).unwrap();
    let own = rt.block_on(api.create_upload("A-7Q2M9XK3", 10)).unwrap();
    assert_eq!(own, Created::Location(format!("{url}/api/v1/uploads/abc")));
}

#[test]
fn answers_larger_than_their_cap_are_not_read() {
    use senim_kiosk::sync::client::{MAX_ANSWER_BYTES, MAX_CATALOG_BYTES};
    let rt = runtime();
    // Announced by Content-Length: refused before the body is read.
    let big = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{{",
        MAX_CATALOG_BYTES + 1
    );
    let (url, _) = fake(big.into_bytes());
    let api = Api::new(&url, None).unwrap();
    let err = rt.block_on(api.catalog()).unwrap_err();
    assert!(
        matches!(err, SyncError::TooLarge { limit, .. } if limit == MAX_CATALOG_BYTES),
        "{err}"
    );
    // Streamed without a length: cut as soon as it passes the cap.
    let mut chunked = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    let piece = vec![b' '; 64 * 1024];
    for _ in 0..(MAX_ANSWER_BYTES as usize / piece.len() + 2) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(&piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (url, _) = fake(chunked);
    let api = Api::new(&url, None).unwrap();
    let err = rt
        .block_on(api.enrol("AAAA-BBBB-CCCC-DDDD", None))
        .unwrap_err();
    assert!(
        matches!(err, SyncError::TooLarge { limit, .. } if limit == MAX_ANSWER_BYTES),
        "{err}"
    );
}

fn run_until_idle(data: &std::path::Path, url: &str) {
    let config = sync_config(data, url);
    let worker = std::thread::spawn(move || sync::run_until_idle(config, |_| {}));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !worker.is_finished() {
        assert!(std::time::Instant::now() < deadline, "the worker went idle");
        std::thread::sleep(Duration::from_millis(20));
    }
    worker.join().unwrap().unwrap();
}

#[test]
fn only_catalogues_signed_by_the_call_centre_are_installed() {
    let backend = Backend::start();
    let data = enrolled_kiosk(&backend);
    let key = backend.state.signing_key.expect("made at first start");
    let store = Store::open(data.path()).unwrap();
    assert_eq!(
        store.signing_key().unwrap(),
        Some(key),
        "learnt at enrolment"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = backend
            .dir
            .path()
            .join(senim_callcentre::secrets::SIGNING_KEY_FILE);
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // A kiosk enrolled before catalogues were signed has no key: it learns it from the
    // heartbeat answer and then takes the signed catalogue.
    let conn = rusqlite::Connection::open(data.path().join(senim_kiosk::store::DB_FILE)).unwrap();
    conn.execute("DELETE FROM meta WHERE key = 'signing_key'", [])
        .unwrap();
    assert_eq!(store.signing_key().unwrap(), None);
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services");
    let v1 = senim_callcentre::catalog::publish(&backend.state.db, &shipped, chrono::Utc::now())
        .unwrap()
        .version()
        .to_string();
    backend.state.refresh_catalog_version().unwrap();
    run_until_idle(data.path(), &backend.url);
    assert_eq!(store.signing_key().unwrap(), Some(key));
    assert_eq!(store.catalog_version().unwrap().as_deref(), Some(&*v1));

    // A version whose signature is gone (published before signing, or stripped on the way):
    // refused, the last good one kept, the reason in the heartbeat.
    let files = senim_protocol::catalog::read_dir(&shipped).unwrap();
    let mut changed = files.clone();
    let first = changed.values_mut().next().unwrap();
    first.push('\n');
    let later = chrono::Utc::now() + chrono::Duration::seconds(2);
    let v2 = senim_callcentre::catalog::store(&backend.state.db, &changed, 1, later)
        .unwrap()
        .version()
        .to_string();
    backend
        .state
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE catalog_versions SET signature = NULL WHERE version = ?1",
                [&v2],
            )
        })
        .unwrap();
    backend.state.refresh_catalog_version().unwrap();
    run_until_idle(data.path(), &backend.url);
    run_until_idle(data.path(), &backend.url);
    assert_eq!(store.catalog_version().unwrap().as_deref(), Some(&*v1));
    let problem = store.catalog_problem().unwrap().expect("refused");
    assert_eq!(problem.version, v2);
    assert!(
        problem.message.contains("not signed"),
        "{}",
        problem.message
    );
    let seen = backend.state.heartbeats();
    let beat = &seen.values().next().expect("a heartbeat").beat;
    assert_eq!(
        beat.catalog_problem.as_ref().map(|p| p.version.as_str()),
        Some(v2.as_str())
    );

    // Publishing the same content again signs it, under a new name: the kiosk takes it.
    let later = later + chrono::Duration::seconds(2);
    let v3 = senim_callcentre::catalog::store(&backend.state.db, &changed, 1, later)
        .unwrap()
        .version()
        .to_string();
    assert_ne!(
        v3, v2,
        "a new name, so kiosks that refused the old one look again"
    );
    backend.state.refresh_catalog_version().unwrap();
    run_until_idle(data.path(), &backend.url);
    assert_eq!(store.catalog_version().unwrap().as_deref(), Some(&*v3));
    assert_eq!(store.catalog_problem().unwrap(), None);

    // A kiosk never swaps the key it holds for the one a heartbeat answer names: with another
    // key in its store (as if the answer came from elsewhere), the next version is refused.
    let other = senim_common::signing::SigningKey::generate()
        .unwrap()
        .0
        .public();
    store.set_signing_key(&other).unwrap();
    let mut newer = changed.clone();
    newer.values_mut().next().unwrap().push('\n');
    let later = later + chrono::Duration::seconds(2);
    let v4 = senim_callcentre::catalog::store(&backend.state.db, &newer, 1, later)
        .unwrap()
        .version()
        .to_string();
    backend.state.refresh_catalog_version().unwrap();
    run_until_idle(data.path(), &backend.url);
    assert_eq!(store.signing_key().unwrap(), Some(other), "kept");
    assert_eq!(store.catalog_version().unwrap().as_deref(), Some(&*v3));
    let problem = store.catalog_problem().unwrap().expect("refused");
    assert_eq!(problem.version, v4);
    assert!(
        problem.message.contains("not the call-centre's"),
        "{}",
        problem.message
    );
}

#[test]
fn a_catalogue_beyond_its_cap_is_refused_and_reported_not_fetched_again() {
    use senim_kiosk::sync::client::MAX_CATALOG_BYTES;
    let answer = |path: &str| -> Vec<u8> {
        if path.starts_with("/api/v1/heartbeat") {
            let body = format!(
                "{{\"server_time\":\"{}\",\"catalog_version\":\"v-huge\",\"operators_open\":true}}",
                chrono::Utc::now().to_rfc3339()
            );
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{{",
                MAX_CATALOG_BYTES + 1
            )
            .into_bytes()
        }
    };
    let (url, catalog_requests) = fake_routes(answer);
    let data = tempfile::tempdir().unwrap();
    let mut store = Store::open(data.path()).unwrap();
    store
        .set_enrolment(&senim_kiosk::store::Enrolment {
            kiosk_id: "K-TEST01".into(),
            token: "t".into(),
            site: "Test".into(),
            mode: senim_protocol::SiteMode::Hospital,
            backend_url: url.clone(),
            pin: None,
        })
        .unwrap();
    run_until_idle(data.path(), &url);
    let problem = store.catalog_problem().unwrap().expect("refused");
    assert_eq!(problem.version, "v-huge");
    assert!(problem.message.contains("more than"), "{}", problem.message);
    assert_eq!(store.catalog_version().unwrap(), None);
    run_until_idle(data.path(), &url);
    assert_eq!(
        catalog_requests.load(Ordering::SeqCst),
        1,
        "a refused version is not downloaded again"
    );
}

#[test]
fn the_kiosk_refuses_plain_http_to_another_machine_at_load_and_doctor_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nsite_name = \"Test\"\nmode = \"hospital\"\n[store]\ndata_dir = {:?}\n\
             [sync]\nbackend_url = \"http://cc.senim.example\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["doctor"][..],
        &["check-config"],
        &["sync", "--until-idle"],
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            err.contains("sync.backend_url") && err.contains("plain http://"),
            "{args:?}: {err}"
        );
    }
    // The same kiosk pointed at this machine over plain HTTP is fine (tests, the demo).
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("http://cc.senim.example", "http://127.0.0.1:9")
        .replace(
            "[store]",
            &format!(
                "catalog_dir = {:?}\n[store]",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/services")
            ),
        );
    std::fs::write(&config, text).unwrap();
    let out = run(&["check-config"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
