//! What the journey keeps of the current citizen: the [`Session`], dropped whole on reset (with
//! where the appeal of a lost call stands, [`CallSaved`]).

use std::fmt;

use senim_protocol::Topic;

use super::screen::CheckCode;
use super::Millis;
use crate::identity::Iin;

/// The two journeys a citizen can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    Appeal,
    Guide,
}

/// How an appeal is left, by what the kiosk has working when the appeal starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppealKind {
    /// Camera and microphone.
    #[default]
    Video,
    /// No working camera: the voice alone.
    Audio,
    /// Neither: typed on the on-screen keyboard.
    Typed,
}

/// Everything a citizen left in this session; dropped whole on reset.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Session {
    pub journey: Option<Journey>,
    pub identity: Option<Iin>,
    pub topic: Option<Topic>,
    pub phone: Option<String>,
    pub recorded_ms: Option<Millis>,
    /// How this appeal is left (chosen when the citizen consents).
    pub appeal_kind: AppealKind,
    /// A typed appeal's text.
    pub text: Option<String>,
    /// The last recording failed (the device died): said on the consent page.
    pub recording_failed: bool,
    pub presence_sent: bool,
    /// The search a service page was opened from, so "Back" returns to its results.
    pub guide_search: Option<String>,
    /// The guide being followed, for the usage figures.
    pub guide_run: Option<GuideRun>,
    /// The live call placed in this session, as the app named it (`Event::CallRinging`).
    pub call_id: Option<String>,
    /// The answered call's length once it ended: the call is the appeal to store.
    pub call_ms: Option<Millis>,
    /// Where the appeal of a call lost mid-way stands (shown on the "call lost" page).
    pub call_saved: Option<CallSaved>,
}

/// One citizen following one service's guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuideRun {
    pub service: usize,
    /// The step on screen last (0-based).
    pub at: usize,
    /// The furthest step reached (0-based).
    pub furthest: usize,
    pub completed: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("journey", &self.journey)
            .field("identified", &self.identity.is_some())
            .field("topic", &self.topic)
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .field("recorded_ms", &self.recorded_ms)
            .field("appeal_kind", &self.appeal_kind)
            .field("text", &self.text.as_ref().map(|_| "<redacted>"))
            .field(
                "guide_search",
                &self
                    .guide_search
                    .as_ref()
                    .map(|q| format!("<{} chars>", q.chars().count())),
            )
            .field("guide_run", &self.guide_run)
            .field("call_id", &self.call_id)
            .field("call_ms", &self.call_ms)
            .field("call_saved", &self.call_saved)
            .finish()
    }
}

/// Where the appeal of a lost call stands (shown on the "call lost" page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallSaved {
    Saving,
    /// Stored; the appeal's number and its check code (for the receipt).
    Saved(String, CheckCode),
    Failed,
}
