//! The spoken prompts as the running kiosk plays them: the screen's prompt file, and on a
//! guide step the step's own text from the catalogue's prompt cache first. The player is made
//! on the first prompt; the guide steps' prompts are made off the UI thread when a catalogue
//! is loaded.

use std::cell::RefCell;
use std::path::PathBuf;

use senim_protocol::Lang;

use super::{post, App};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::flow::{Event, Prompt};
use crate::speech::{self, Player, StepCache};

pub(super) struct SpeechSide {
    player: RefCell<Player>,
    /// The screens' prompts (`[speech] prompts_dir`).
    dir: PathBuf,
    /// The guide steps' prompts, by text hash, under the data folder.
    steps: StepCache,
}

impl SpeechSide {
    pub fn new(config: &Config) -> SpeechSide {
        SpeechSide {
            player: RefCell::new(Player::new(
                config.camera.audio_output,
                config.speech.volume,
            )),
            dir: config.speech.prompts_dir.clone(),
            steps: StepCache {
                dir: config.store.data_dir.join("prompt-cache"),
            },
        }
    }

    /// Makes the prompts of `catalog`'s steps not in the cache yet, on a thread of its own.
    pub fn prepare_steps(&self, catalog: &Catalog) {
        let texts: Vec<(Lang, String)> = catalog
            .services
            .iter()
            .flat_map(|s| s.steps.iter())
            .flat_map(|step| Lang::ALL.map(|lang| (lang, step.text.get(lang).to_string())))
            .collect();
        let cache = self.steps.clone();
        let spawned = std::thread::Builder::new()
            .name("senim-step-prompts".into())
            .spawn(move || match cache.fill(&texts) {
                Ok(made) => tracing::info!(made, "guide step prompts ready"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "guide step prompts cannot be made; the steps' screens speak without them"
                ),
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start making the guide step prompts");
        }
    }
}

impl App {
    pub(super) fn speak(&self, prompt: Prompt) {
        let mut files = Vec::new();
        if let Some((service_id, step)) = &prompt.step {
            let view = self.catalogs.view.borrow();
            let text = view
                .catalog()
                .services
                .iter()
                .find(|s| &s.id == service_id)
                .and_then(|s| s.steps.get(*step))
                .map(|s| s.text.get(prompt.lang).to_string());
            if let Some(path) = text.map(|t| self.speech.steps.path(&t)) {
                if path.is_file() {
                    files.push(path);
                }
            }
        }
        let screen = speech::prompt_path(&self.speech.dir, prompt.screen, prompt.lang);
        if screen.is_file() {
            files.push(screen);
        }
        if files.is_empty() {
            tracing::warn!(
                screen = prompt.screen,
                lang = prompt.lang.code(),
                "no prompt to play: run `senim-kiosk prompts check`"
            );
            self.dispatch(Event::SpeechEnded);
            return;
        }
        let played = self.speech.player.borrow_mut().play(files, |id| {
            post(move |app| {
                if app.speech.player.borrow_mut().finished(id) {
                    app.dispatch(Event::SpeechEnded);
                }
            })
        });
        if let Err(e) = played {
            tracing::warn!(error = %e, screen = prompt.screen, "a prompt does not play");
            self.dispatch(Event::SpeechEnded);
        }
    }

    pub(super) fn stop_speaking(&self) {
        self.speech.player.borrow_mut().stop();
    }

    pub(super) fn set_speech_volume(&self, volume: u8) {
        self.speech.player.borrow_mut().set_volume(volume);
    }
}
