//! What goes into the journey ([`Event`]) and what the app must do for it ([`Effect`]), with
//! the things they carry: device health, an appeal to store, service-guide usage figures.
//! `Debug` of effects and drafts never shows the IIN.

use std::fmt;

use senim_protocol::{Lang, Topic};

use super::config::GuideShape;
use super::screen::{CallEnd, CheckCode, Receipt, TechTest};
use super::session::{AppealKind, Journey};
use super::speech::Prompt;
use super::{CallCentreStatus, Millis, Mode};
use crate::identity::{self, Iin};

/// The citizen's rating at the end of a guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    Bad,
    Neutral,
    Good,
}

/// Health of a device as the adapters report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    /// Not fitted on this kiosk (configuration says so).
    #[default]
    Absent,
    Ok,
    /// Fitted but not answering (unplugged, broken).
    Faulty,
}

/// The devices the journey depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Scanner,
    Camera,
    Microphone,
    Printer,
    /// The data disk: `Faulty` when a recording would not fit (or the store cannot open).
    Storage,
}

impl Device {
    pub const ALL: [Device; 5] = [
        Device::Scanner,
        Device::Camera,
        Device::Microphone,
        Device::Printer,
        Device::Storage,
    ];
}

/// An appeal ready to be committed by the store.
#[derive(Clone, PartialEq, Eq)]
pub struct AppealDraft {
    pub iin: Option<Iin>,
    pub topic: Topic,
    pub phone: Option<String>,
    pub kind: AppealKind,
    /// Milliseconds recorded (0 for a typed appeal).
    pub recorded_ms: Millis,
    /// A typed appeal's text.
    pub text: Option<String>,
    /// The appeal was a live call (its id is the appeal's id); `recorded_ms` is its length.
    pub call: Option<CallDraft>,
}

impl fmt::Debug for AppealDraft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppealDraft")
            .field("topic", &self.topic)
            .field("identified", &self.iin.is_some())
            .field("phone", &self.phone.is_some())
            .field("kind", &self.kind)
            .field("recorded_ms", &self.recorded_ms)
            .field("typed", &self.text.is_some())
            .field("call", &self.call)
            .finish()
    }
}

/// An appeal that was a live call: the call's id (the appeal's id) and how long it lasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallDraft {
    pub call_id: String,
    pub duration_ms: Millis,
}

/// Service-guide usage figures ("citizens trained to use e-services"). `service` is the
/// service's position in the catalogue (the app maps it to the id); `step` is 0-based. One run
/// of a guide is `Started`, `StepReached` for each new furthest step, then `Completed` (and
/// `Rated`) or `Abandoned` at the step on screen last; a new `Started` begins a new run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideUsage {
    Started { service: usize },
    StepReached { service: usize, step: usize },
    Completed { service: usize },
    Abandoned { service: usize, step: usize },
    ConsultantCalled { service: usize, step: usize },
    Rated { service: usize, rating: Rating },
}

/// Inputs to the journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The attract screen was touched.
    Start,
    /// Any touch anywhere (keeps the session alive).
    Touch,
    SetLanguage(Lang),
    /// "Finish": leave the session now; everything of it is dropped.
    EndSession,
    Back,
    Choose(Journey),
    /// A decoded read from the serial scanner or the camera.
    Scan(identity::Classified),
    ManualOpen,
    KeypadDigit(char),
    KeypadBackspace,
    KeypadSubmit,
    Continue,
    SelectCategory(usize),
    SearchOpen,
    SearchText(String),
    SelectService(usize),
    GuideNext,
    CallConsultant,
    Rate(Rating),
    SelectTopic(Topic),
    ConsentAccept,
    /// The typed appeal's text so far (the UI's keyboard sends the whole text).
    AppealText(String),
    /// Watch the recording again on the review page.
    ReplayTake,
    /// The recorder failed (device gone, nothing recorded): the citizen may try again.
    RecordingFailed,
    StopRecording,
    ReRecord,
    Send,
    SkipPhone,
    /// The store committed the appeal (app → flow).
    AppealSaved {
        number: String,
        /// The check code the store made with it (for the receipt; `Debug` hides it).
        check_code: CheckCode,
    },
    /// The store could not commit it (disk full, I/O error).
    AppealSaveFailed,
    StillHere,
    Tick,
    DeviceHealth(Device, Health),
    Sync {
        online: bool,
        pending: u32,
    },
    CallCentre(CallCentreStatus),
    /// Whether this kiosk holds a token the call-centre accepts, and the site's mode it was
    /// enrolled with (app → flow, at start and when the sync worker learns the token was
    /// revoked). Only sent when a call-centre is configured.
    Enrolled(Option<Mode>),
    /// The enrolment code was exchanged (`Ok`, with the site's mode) or refused (a stable code).
    EnrolResult(Result<Mode, &'static str>),
    /// A new service catalogue is loaded (steps per service, in its order); the journey
    /// switches to it between citizens, never in the middle of someone's guide.
    CatalogReady(GuideShape),
    /// Whether an installed system update waits and it is the quiet hour (app → flow, from
    /// the sync worker): the journey asks for the restart once nobody has been at the kiosk
    /// for [`super::UPDATE_QUIET_MS`], never in the middle of a citizen's session.
    UpdateDue(bool),
    /// The hidden gesture on the attract screen.
    TechnicianGesture,
    /// Open one device test from technician mode.
    TechnicianOpen(TechTest),
    /// Run the checks again.
    TechnicianRecheck,
    TechnicianPrintTest,
    TechnicianExit,
    Restart,
    /// Whether the call-centre says an operator can take a live call now (heartbeat answer
    /// or call socket; the app sends `false` while offline).
    OperatorsAvailable(bool),
    /// "Talk to a specialist now" on the consent page.
    CallNow,
    /// The call placed by `Effect::PlaceCall` rings the console as `call_id` (app → flow).
    CallRinging {
        call_id: String,
    },
    /// An operator answered; `operator` is the display name shown to the citizen.
    CallAnswered {
        operator: String,
    },
    /// The call ended without the citizen hanging up (app → flow).
    CallEnded(CallEnd),
    /// The citizen's red "Hang up".
    HangUp,
    /// The call's volume, 0..=100.
    CallVolume(u8),
    /// The answer to `Effect::CheckPin` (app → flow): whether the PIN matched the configured
    /// hash. Verification (argon2id, tens of milliseconds) runs off the UI thread.
    PinChecked {
        ok: bool,
    },
    /// The PIN lock-out kept in the store, read back at start (app → flow): failures so far and
    /// how long the lock still lasts.
    PinLockRestored(PinLock),
    /// "Listen": play this screen's spoken prompt.
    Listen,
    /// The prompts quieter by one step (and the prompt played again at the new level).
    Quieter,
    /// The prompts louder by one step (and the prompt played again at the new level).
    Louder,
    /// The prompt asked for by `Effect::Speak` finished or failed (app → flow).
    SpeechEnded,
    /// The display-mode button (every screen): large text and high contrast on or off. The
    /// idle reset and "Finish" turn it off again for the next citizen.
    ToggleLargeText,
}

/// The technician PIN's lock-out as it is kept across restarts: failed attempts since the last
/// right PIN, and how long from now new attempts are refused (0 when not locked). Durations,
/// not instants, so the flow's clock (milliseconds since start) never reaches the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PinLock {
    pub failures: u32,
    pub locked_for_ms: Millis,
}

/// What the app must do for the journey. `Debug` never shows the IIN.
#[derive(Clone, PartialEq, Eq)]
pub enum Effect {
    /// Switch the UI's translation catalogue.
    SetLanguage(Lang),
    /// "A person is at this kiosk now" / "has left" (the red lamp).
    Presence {
        present: bool,
    },
    StartPreview,
    StopPreview,
    StartRecording,
    StopRecording,
    /// Play the finished take on the review page.
    PlayTake,
    /// Throw away the last take (re-record or session end before sending).
    DiscardRecording,
    SaveAppeal(AppealDraft),
    PrintReceipt(Receipt),
    Usage(GuideUsage),
    /// Exchange a scanned enrolment code for this kiosk's token.
    Enrol(String),
    /// Use the catalogue announced by the last `CatalogReady` from now on.
    SwitchCatalog,
    /// Restart into the installed system update (the kiosk is at rest, nobody there).
    SwitchUpdate,
    /// Run the technician's checks (in the background) and show them.
    RunChecks,
    PrintTestSlip,
    /// "Consultant needed at this kiosk": sent to the call-centre and the centre's staff live.
    /// `step` is 1-based, as the citizen sees it ("step 3 of 6").
    CallConsultant {
        service_id: String,
        step: usize,
    },
    /// Forget everything of the session in every adapter.
    ClearSession,
    Restart,
    /// Ring the call-centre for a live call (the app answers with `Event::CallRinging`).
    PlaceCall {
        topic: Topic,
        iin: Option<Iin>,
    },
    /// Withdraw the ringing call (cancelled, or no answer in time).
    CancelCall,
    /// End the answered call.
    HangUpCall,
    /// The call's volume, 0..=100.
    SetCallVolume(u8),
    /// Check the typed technician PIN against the configured hash, off the UI thread, and
    /// answer with `Event::PinChecked`. `Debug` hides the PIN.
    CheckPin(String),
    /// Keep the PIN lock-out in the store (after every failure and after the right PIN), so
    /// a restart does not reset it.
    SavePinLock(PinLock),
    /// Play a screen's spoken prompt (stopping any other); the app answers with
    /// `Event::SpeechEnded` when it is over.
    Speak(Prompt),
    /// Stop the prompt playing now (the citizen acted, the session ended).
    StopSpeaking,
    /// The prompts' volume, 0..=100.
    SetSpeechVolume(u8),
}

impl fmt::Debug for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::SetLanguage(lang) => f.debug_tuple("SetLanguage").field(lang).finish(),
            Effect::Presence { present } => f
                .debug_struct("Presence")
                .field("present", present)
                .finish(),
            Effect::StartPreview => f.write_str("StartPreview"),
            Effect::StopPreview => f.write_str("StopPreview"),
            Effect::StartRecording => f.write_str("StartRecording"),
            Effect::StopRecording => f.write_str("StopRecording"),
            Effect::PlayTake => f.write_str("PlayTake"),
            Effect::DiscardRecording => f.write_str("DiscardRecording"),
            Effect::SaveAppeal(draft) => f.debug_tuple("SaveAppeal").field(draft).finish(),
            Effect::PrintReceipt(receipt) => f.debug_tuple("PrintReceipt").field(receipt).finish(),
            Effect::Usage(usage) => f.debug_tuple("Usage").field(usage).finish(),
            Effect::Enrol(_) => f.write_str("Enrol(<code>)"),
            Effect::SwitchCatalog => f.write_str("SwitchCatalog"),
            Effect::SwitchUpdate => f.write_str("SwitchUpdate"),
            Effect::RunChecks => f.write_str("RunChecks"),
            Effect::PrintTestSlip => f.write_str("PrintTestSlip"),
            Effect::CallConsultant { service_id, step } => f
                .debug_struct("CallConsultant")
                .field("service_id", service_id)
                .field("step", step)
                .finish(),
            Effect::ClearSession => f.write_str("ClearSession"),
            Effect::Restart => f.write_str("Restart"),
            Effect::PlaceCall { topic, iin } => f
                .debug_struct("PlaceCall")
                .field("topic", topic)
                .field("identified", &iin.is_some())
                .finish(),
            Effect::CancelCall => f.write_str("CancelCall"),
            Effect::HangUpCall => f.write_str("HangUpCall"),
            Effect::SetCallVolume(level) => f.debug_tuple("SetCallVolume").field(level).finish(),
            Effect::CheckPin(_) => f.write_str("CheckPin(<pin>)"),
            Effect::SavePinLock(lock) => f.debug_tuple("SavePinLock").field(lock).finish(),
            Effect::Speak(prompt) => f.debug_tuple("Speak").field(prompt).finish(),
            Effect::StopSpeaking => f.write_str("StopSpeaking"),
            Effect::SetSpeechVolume(level) => {
                f.debug_tuple("SetSpeechVolume").field(level).finish()
            }
        }
    }
}
