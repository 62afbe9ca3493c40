//! Journey tests, one file per concern beside the modules they drive; this one holds the
//! harness: a `Kiosk` (a flow, a fake clock and the effects so far) and its configuration.

use senim_protocol::Topic;

use super::guide::SEARCH_MAX;
use super::technician::sha256_hex;
use super::*;
use crate::identity::{self, Iin};

mod appeal;
mod call;
mod display;
mod enrol;
mod guide;
mod identify;
mod session;
mod speech;
mod technician;

const VALID_IIN: &str = "880101300010";

fn config(mode: Mode) -> FlowConfig {
    FlowConfig {
        mode,
        default_language: Lang::Kk,
        idle_warning_ms: 60_000,
        idle_reset_ms: 20_000,
        countdown_ms: 3_000,
        max_recording_ms: 180_000,
        ring_ms: 60_000,
        guides: guides(),
        // The app checks a typed PIN; `Kiosk::try_pin` plays the app with "4321".
        pin_set: true,
        // sha256("tech_01-AB")
        badges_sha256: vec![sha256_hex("tech_01-AB")],
        speech_auto_play: false,
        speech_volume: 60,
    }
}

/// Two categories; "address" (3 steps) in the first, "birth" (5) and "kindergarten" (4) in the
/// second.
fn guides() -> GuideShape {
    let info = |id: &str, category, steps| GuideInfo {
        id: id.into(),
        category,
        steps,
    };
    GuideShape {
        categories: 2,
        services: vec![
            info("address", 0, 3),
            info("birth", 1, 5),
            info("kindergarten", 1, 4),
        ],
    }
}

/// A flow and a clock; each `at` call moves the clock forward.
struct Kiosk {
    flow: Flow,
    now: Millis,
    effects: Vec<Effect>,
}

impl Kiosk {
    fn new(mode: Mode) -> Kiosk {
        let mut flow = Flow::new(config(mode));
        // A kiosk with a working camera and microphone, unless a test says otherwise.
        flow.handle(0, Event::DeviceHealth(Device::Camera, Health::Ok));
        flow.handle(0, Event::DeviceHealth(Device::Microphone, Health::Ok));
        Kiosk {
            flow,
            now: 1_000,
            effects: Vec::new(),
        }
    }

    fn send(&mut self, event: Event) -> &mut Self {
        self.now += 100;
        let fx = self.flow.handle(self.now, event);
        self.effects.extend(fx);
        self
    }

    fn wait(&mut self, ms: Millis) -> &mut Self {
        // Tick as the app does, four times a second.
        let end = self.now + ms;
        while self.now < end {
            self.now = (self.now + 250).min(end);
            let fx = self.flow.handle(self.now, Event::Tick);
            self.effects.extend(fx);
        }
        self
    }

    fn scan(&mut self, text: &str) -> &mut Self {
        self.send(Event::Scan(identity::classify(text)))
    }

    fn screen(&self) -> &Screen {
        self.flow.screen()
    }

    fn took(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// The usage figures among the effects so far, in order (and forgets all effects).
    fn usage(&mut self) -> Vec<GuideUsage> {
        self.took()
            .into_iter()
            .filter_map(|e| match e {
                Effect::Usage(u) => Some(u),
                _ => None,
            })
            .collect()
    }

    /// Start → guides → category → service page.
    fn open_service(&mut self, category: usize, service: usize) -> &mut Self {
        self.send(Event::Start)
            .send(Event::Choose(Journey::Guide))
            .send(Event::SelectCategory(category))
            .send(Event::SelectService(service))
    }
}
