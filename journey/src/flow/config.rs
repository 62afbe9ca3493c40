//! Settings the journey takes from the configuration ([`FlowConfig`]) and what it knows of
//! the service catalogue ([`GuideShape`]).

use std::fmt;

use senim_protocol::catalog::Catalog;
use senim_protocol::Lang;

use super::{Millis, Mode};

/// The default of [`FlowConfig::ring_ms`] (the call-centre's `[call] ring_seconds`).
pub const RING_MS_DEFAULT: Millis = 60_000;

/// Settings the journey needs, taken from the configuration at start.
#[derive(Clone, PartialEq, Eq)]
pub struct FlowConfig {
    pub mode: Mode,
    pub default_language: Lang,
    pub idle_warning_ms: Millis,
    pub idle_reset_ms: Millis,
    pub countdown_ms: Millis,
    pub max_recording_ms: Millis,
    /// How long a live call rings before nobody answering ends it (`[call] ring_seconds`,
    /// 60 s by default); the flow gives up itself 5 s after that without news.
    pub ring_ms: Millis,
    /// What the journey knows of the service catalogue.
    pub guides: GuideShape,
    /// Whether a technician PIN is configured; without one PIN entry never opens technician
    /// mode. The flow never sees the PIN's hash: the app checks a typed PIN
    /// (`Effect::CheckPin`) off the UI thread.
    pub pin_set: bool,
    /// SHA-256 hex of the technician badges (the payload after `SENIM-TECH:`) that open
    /// technician mode without the PIN.
    pub badges_sha256: Vec<String>,
    /// `[speech] auto_play`: each screen's prompt plays by itself as the screen opens.
    pub speech_auto_play: bool,
    /// `[speech] volume`: the prompts' volume (0..=100) each citizen starts with.
    pub speech_volume: u8,
}

impl fmt::Debug for FlowConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowConfig")
            .field("mode", &self.mode)
            .field("default_language", &self.default_language)
            .field("idle_warning_ms", &self.idle_warning_ms)
            .field("ring_ms", &self.ring_ms)
            .field("guides", &self.guides.services.len())
            .finish_non_exhaustive()
    }
}

/// What the journey needs to know of the catalogue: how many categories, and per service (in
/// catalogue order) its id, category and number of steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuideShape {
    pub categories: usize,
    pub services: Vec<GuideInfo>,
}

/// One service as the journey sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideInfo {
    pub id: String,
    /// Position of its category in the catalogue's category order.
    pub category: usize,
    pub steps: usize,
}

impl GuideShape {
    pub fn of(catalog: &Catalog) -> GuideShape {
        GuideShape {
            categories: catalog.categories.len(),
            services: catalog
                .services
                .iter()
                .map(|s| GuideInfo {
                    id: s.id.clone(),
                    category: catalog.category_index(&s.category).unwrap_or(usize::MAX),
                    steps: s.steps.len(),
                })
                .collect(),
        }
    }
}
