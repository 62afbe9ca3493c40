//! A fault-injecting TCP proxy on loopback, written for the tests: it drops, stalls and resets
//! connections between the kiosk's sync worker and the backend.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the fault-injecting proxy did.
#[derive(Default)]
pub struct Faults {
    pub connections: AtomicU64,
    pub cuts: AtomicU64,
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
    /// Bytes sent upstream over all connections (counted in `CutOnceAt` mode).
    pub upstream: AtomicU64,
    /// Bytes sent back downstream over all connections (counted in `CutDownOnceAt` mode).
    pub downstream: AtomicU64,
}

/// A TCP proxy on loopback that misbehaves at random: every few hundred kilobytes sent it may
/// cut the connection (a FIN or a TCP reset) or stall it for a while, and it may cut an answer
/// half-way back.
pub struct Proxy {
    pub addr: SocketAddr,
    pub faults: Arc<Faults>,
    /// Off: the proxy passes everything through untouched.
    pub enabled: Arc<AtomicBool>,
}

/// xorshift64: a seeded, reproducible source of fault decisions.
#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How the proxy misbehaves.
#[derive(Debug, Clone, Copy)]
pub enum Faulty {
    /// Every 50–450 kB sent: maybe a cut (FIN or reset) or a stall; one answer in five cut.
    Random { seed: u64 },
    /// Exactly one cut, when this many bytes have gone upstream over all connections.
    CutOnceAt { bytes: u64 },
    /// Exactly one cut of an answer, when this many bytes have come back over all connections
    /// (a download cut half-way).
    CutDownOnceAt { bytes: u64 },
}

impl Proxy {
    pub fn start(target: SocketAddr, mode: Faulty) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Faults::default());
        let enabled = Arc::new(AtomicBool::new(true));
        let (f, on) = (Arc::clone(&faults), Arc::clone(&enabled));
        std::thread::spawn(move || {
            let seed = match mode {
                Faulty::Random { seed } => seed,
                Faulty::CutOnceAt { .. } | Faulty::CutDownOnceAt { .. } => 1,
            };
            let mut rng = Rng(seed | 1);
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                f.connections.fetch_add(1, Ordering::SeqCst);
                let conn_rng = Rng(rng.below(u64::MAX) | 1);
                run_pair(
                    client,
                    server,
                    mode,
                    conn_rng,
                    Arc::clone(&on),
                    Arc::clone(&f),
                );
            }
        });
        Proxy {
            addr,
            faults,
            enabled,
        }
    }
}

fn reset(stream: &TcpStream) {
    // SO_LINGER 0: closing sends a TCP RST instead of a FIN.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

fn run_pair(
    client: TcpStream,
    server: TcpStream,
    mode: Faulty,
    rng: Rng,
    enabled: Arc<AtomicBool>,
    faults: Arc<Faults>,
) {
    let pipe = |mut from: TcpStream, mut to: TcpStream, upstream: bool, mut rng: Rng| {
        let (faults, enabled) = (Arc::clone(&faults), Arc::clone(&enabled));
        move || {
            let mut buf = [0u8; 16 * 1024];
            // Upstream: a decision every 50–450 kB; downstream: one answer in five is cut.
            let window = |rng: &mut Rng| {
                if upstream {
                    50_000 + rng.below(400_000)
                } else {
                    200 + rng.below(20_000)
                }
            };
            let mut next_decision = window(&mut rng);
            let mut total = 0u64;
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                total += n as u64;
                if let Faulty::CutDownOnceAt { bytes } = mode {
                    if !upstream {
                        let got = faults.downstream.fetch_add(n as u64, Ordering::SeqCst);
                        if got < bytes && got + n as u64 >= bytes {
                            faults.cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                    }
                } else if let Faulty::CutOnceAt { bytes } = mode {
                    if upstream {
                        let sent = faults.upstream.fetch_add(n as u64, Ordering::SeqCst);
                        if sent < bytes && sent + n as u64 >= bytes {
                            faults.cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                    }
                } else if total >= next_decision && enabled.load(Ordering::SeqCst) {
                    next_decision = total + window(&mut rng);
                    let roll = rng.below(100);
                    if upstream && roll < 40 {
                        faults.cuts.fetch_add(1, Ordering::SeqCst);
                        if roll < 15 {
                            faults.resets.fetch_add(1, Ordering::SeqCst);
                            reset(&from);
                        }
                        break;
                    } else if upstream && roll < 55 {
                        faults.stalls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200 + rng.below(1200)));
                    } else if !upstream && roll < 20 {
                        faults.cuts.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        }
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let mut down_rng = rng;
    down_rng.below(2);
    std::thread::spawn(pipe(client, server, true, rng));
    std::thread::spawn(pipe(s2, c2, false, down_rng));
}
