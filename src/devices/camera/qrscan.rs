//! Camera QR reading: greyscale frames decoded with `rqrr` on a thread of their own, at most
//! one frame at a time and [`MAX_DECODES_PER_SEC`] a second; frames offered while it is busy are
//! dropped, so a slow decode never backs up the camera.
//!
//! The decoded text is personal data (an eGov QR code carries the IIN): it goes to the event
//! sink and nowhere else, never to a log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{CameraError, CameraEvent, Sink};

/// Upper bound on decodes per second (the pipeline also offers at most this many frames).
pub const MAX_DECODES_PER_SEC: u64 = 4;
/// The same text seen again within this time of its last sighting is not reported again, so a
/// phone held to the camera counts once.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(3);

/// An 8-bit greyscale picture, rows packed without padding (0 = black).
#[derive(Clone)]
pub struct LumaFrame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for LumaFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LumaFrame {{ {}×{} }}", self.width, self.height)
    }
}

/// The text of the first readable QR code in the frame, if any.
pub fn decode(frame: &LumaFrame) -> Option<String> {
    let (w, h) = (frame.width, frame.height);
    // The smallest QR code is 21 modules; anything smaller cannot hold one.
    if w < 21 || h < 21 || frame.pixels.len() < w.checked_mul(h)? {
        return None;
    }
    let px = &frame.pixels;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| px[y * w + x]);
    img.detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// The decoder thread and its admission control.
pub struct QrDecoder {
    epoch: Instant,
    busy: AtomicBool,
    /// Milliseconds since `epoch` of the last admitted frame, plus one (0: never).
    last_admitted: AtomicU64,
    reset: Arc<AtomicBool>,
    /// Frames decoded so far (diagnostics and tests).
    decoded: Arc<AtomicU64>,
    tx: Mutex<Option<SyncSender<LumaFrame>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for QrDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QrDecoder")
    }
}

impl QrDecoder {
    /// Starts the decoder thread; decoded texts go to `sink` as [`CameraEvent::Qr`].
    pub fn spawn(sink: Sink) -> Result<Arc<QrDecoder>, CameraError> {
        let (tx, rx) = mpsc::sync_channel::<LumaFrame>(1);
        let reset = Arc::new(AtomicBool::new(false));
        let decoded = Arc::new(AtomicU64::new(0));
        let decoder = Arc::new(QrDecoder {
            epoch: Instant::now(),
            busy: AtomicBool::new(false),
            last_admitted: AtomicU64::new(0),
            reset: Arc::clone(&reset),
            decoded: Arc::clone(&decoded),
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(None),
        });
        let weak = Arc::downgrade(&decoder);
        let thread = std::thread::Builder::new()
            .name("senim-camera-qr".into())
            .spawn(move || {
                let mut last: Option<(String, Instant)> = None;
                while let Ok(frame) = rx.recv() {
                    let text = decode(&frame);
                    decoded.fetch_add(1, Ordering::Relaxed);
                    if reset.swap(false, Ordering::AcqRel) {
                        last = None;
                    }
                    if let Some(text) = text {
                        let now = Instant::now();
                        let repeat = last
                            .as_ref()
                            .is_some_and(|(t, seen)| *t == text && now - *seen < DUPLICATE_WINDOW);
                        last = Some((text.clone(), now));
                        if !repeat {
                            tracing::debug!(len = text.len(), "camera QR code read");
                            sink(CameraEvent::Qr(text));
                        }
                    }
                    // Free only now, so "not busy" means "everything offered is handled".
                    if let Some(d) = weak.upgrade() {
                        d.busy.store(false, Ordering::Release);
                    }
                }
            })
            .map_err(CameraError::io("cannot start the camera QR thread"))?;
        *decoder.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread);
        Ok(decoder)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a frame offered now would be decoded (idle, and the rate allows it). Cheap:
    /// callers check it before copying a frame.
    pub fn wants_frame(&self) -> bool {
        if self.busy.load(Ordering::Acquire) {
            return false;
        }
        let last = self.last_admitted.load(Ordering::Relaxed);
        last == 0 || self.now_ms() + 1 >= last + 1000 / MAX_DECODES_PER_SEC
    }

    /// Hands a frame to the decoder; `false` if it was dropped (busy, too soon, or stopped).
    pub fn offer(&self, frame: LumaFrame) -> bool {
        if !self.wants_frame()
            || self
                .busy
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return false;
        }
        self.last_admitted
            .store(self.now_ms() + 1, Ordering::Relaxed);
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let sent = tx.as_ref().is_some_and(|tx| tx.try_send(frame).is_ok());
        if !sent {
            self.busy.store(false, Ordering::Release);
        }
        sent
    }

    /// How many frames have been decoded (with or without a code).
    pub fn decoded(&self) -> u64 {
        self.decoded.load(Ordering::Relaxed)
    }

    /// Forgets the last text read, so the same code is reported again (a new identification).
    pub fn forget_last(&self) {
        self.reset.store(true, Ordering::Release);
    }

    /// Stops the thread and waits for the decode in progress.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            if t.thread().id() != std::thread::current().id() && t.join().is_err() {
                tracing::error!("camera QR thread ended with a panic");
            }
        }
    }
}

/// Test pictures: a QR code drawn into a camera-sized frame, turned and blurred like a phone
/// held at an angle. Used by the tests and the bench.
pub mod test_support {
    use super::LumaFrame;

    /// A `width`×`height` frame: a soft grey gradient with a QR code of `text`, each module
    /// `module_px` pixels, turned by `degrees` about the centre and box-blurred (3×3).
    pub fn qr_frame(
        text: &str,
        width: usize,
        height: usize,
        module_px: f32,
        degrees: f32,
    ) -> LumaFrame {
        let qr = crate::qr::QrMatrix::encode(text).expect("test text fits a QR code");
        let quiet = crate::qr::QUIET_ZONE as f32;
        let side = qr.size() as f32 + 2.0 * quiet;
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
        let mut pixels = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                // Background: a gentle gradient, as a wall or a sleeve would be.
                let mut v =
                    150.0 + 60.0 * (x as f32 / width as f32) - 30.0 * (y as f32 / height as f32);
                // Rotate the pixel back into the code's frame.
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let u = (cos * dx + sin * dy) / module_px + side / 2.0;
                let w = (-sin * dx + cos * dy) / module_px + side / 2.0;
                if u >= 0.0 && w >= 0.0 && u < side && w < side {
                    let (mx, my) = ((u - quiet).floor(), (w - quiet).floor());
                    let dark = mx >= 0.0 && my >= 0.0 && qr.dark(mx as usize, my as usize);
                    v = if dark { 35.0 } else { 225.0 };
                }
                pixels[y * width + x] = v.clamp(0.0, 255.0) as u8;
            }
        }
        LumaFrame {
            width,
            height,
            pixels: box_blur(&pixels, width, height),
        }
    }

    /// A frame with no code: gradient plus a few hard-edged shapes (things a camera sees).
    pub fn plain_frame(width: usize, height: usize) -> LumaFrame {
        let mut pixels = vec![0u8; width * height];
        for y in 0..height {
            for x in 0..width {
                let mut v = 120 + (x * 80 / width) as i32 - (y * 40 / height) as i32;
                if (x / 40 + y / 60) % 5 == 0 {
                    v -= 70;
                }
                pixels[y * width + x] = v.clamp(0, 255) as u8;
            }
        }
        LumaFrame {
            width,
            height,
            pixels: box_blur(&pixels, width, height),
        }
    }

    fn box_blur(src: &[u8], w: usize, h: usize) -> Vec<u8> {
        let mut out = src.to_vec();
        for y in 1..h.saturating_sub(1) {
            for x in 1..w.saturating_sub(1) {
                let mut sum = 0u32;
                for dy in 0..3 {
                    for dx in 0..3 {
                        sum += u32::from(src[(y + dy - 1) * w + x + dx - 1]);
                    }
                }
                out[y * w + x] = (sum / 9) as u8;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{plain_frame, qr_frame};
    use super::*;

    #[test]
    fn a_turned_blurred_code_in_a_camera_frame_is_read() {
        let text = "https://egov.kz/qr/880101300010?sig=Zx8Qm2";
        let frame = qr_frame(text, 640, 480, 5.0, 15.0);
        assert_eq!(decode(&frame).as_deref(), Some(text));
    }

    #[test]
    fn a_frame_without_a_code_reads_nothing() {
        assert_eq!(decode(&plain_frame(640, 480)), None);
        let tiny = LumaFrame {
            width: 10,
            height: 10,
            pixels: vec![0; 100],
        };
        assert_eq!(decode(&tiny), None);
        let short = LumaFrame {
            width: 640,
            height: 480,
            pixels: vec![255; 1000],
        };
        assert_eq!(
            decode(&short),
            None,
            "a truncated buffer is refused, not read"
        );
    }

    #[test]
    fn decoder_reports_a_code_once_while_it_is_held_and_drops_frames_when_busy() {
        let (tx, rx) = mpsc::channel();
        let sink: Sink = Arc::new(move |e| {
            let _ = tx.send(e);
        });
        let decoder = QrDecoder::spawn(sink).unwrap();
        let frame = qr_frame("SENIM-TECH:abcdefgh", 640, 480, 5.0, -10.0);
        assert!(decoder.offer(frame.clone()));
        assert!(
            !decoder.offer(frame.clone()),
            "a second frame while the first is decoded (or too soon) is dropped"
        );
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            CameraEvent::Qr(t) => assert_eq!(t, "SENIM-TECH:abcdefgh"),
            other => panic!("{other:?}"),
        }
        // Held to the camera: decoded again, reported no more.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut offered = 0;
        while offered < 2 && Instant::now() < deadline {
            if decoder.offer(frame.clone()) {
                offered += 1;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(offered, 2);
        let deadline = Instant::now() + Duration::from_secs(10);
        while decoder.busy.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "decoder never finished");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(rx.try_recv().is_err(), "a code held still is reported once");
        // A new identification: the same code counts again.
        decoder.forget_last();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !decoder.offer(frame.clone()) {
            assert!(Instant::now() < deadline, "decoder never became free");
            std::thread::sleep(Duration::from_millis(5));
        }
        decoder.shutdown();
        let events: Vec<_> = rx.try_iter().collect();
        assert_eq!(events.len(), 1, "read again after forget_last: {events:?}");
        assert!(format!("{:?}", events[0]).contains("Qr(<19 bytes>)"));
    }
}
