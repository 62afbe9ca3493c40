//! The spoken prompts as the running kiosk plays them: the screen's prompt file, and on a
//! guide step the step's own text from the catalogue's prompt cache first. The player is made
//! on the first prompt. The guide steps' prompts are made off the UI thread: all of them when
//! a catalogue is installed from the call-centre, and one the first time it is asked for when
//! it is not in the cache yet (the shipped catalogue: nothing is made at start-up).

use std::cell::{Cell, RefCell};
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
    /// Counts requests to speak or stop: a step prompt made in the background is played only
    /// if nothing was asked for since.
    asked: Cell<u64>,
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
            asked: Cell::new(0),
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
        self.speech.asked.set(self.speech.asked.get() + 1);
        let step_text = prompt.step.as_ref().and_then(|(service_id, step)| {
            let view = self.catalogs.view.borrow();
            view.catalog()
                .services
                .iter()
                .find(|s| &s.id == service_id)
                .and_then(|s| s.steps.get(*step))
                .map(|s| s.text.get(prompt.lang).to_string())
        });
        let Some(text) = step_text else {
            self.play_prompt(&prompt, None);
            return;
        };
        let path = self.speech.steps.path(&text);
        if path.is_file() {
            self.play_prompt(&prompt, Some(path));
            return;
        }
        // Not made yet: made now off the UI thread (tens of milliseconds), then played unless
        // the citizen did something else meanwhile.
        let (cache, asked, lang) = (
            self.speech.steps.clone(),
            self.speech.asked.get(),
            prompt.lang,
        );
        let fallback = prompt.clone();
        let spawned = std::thread::Builder::new()
            .name("senim-step-prompt".into())
            .spawn(move || {
                let made = cache.fill(&[(lang, text)]);
                post(move |app| {
                    if app.speech.asked.get() != asked {
                        return;
                    }
                    match made {
                        Ok(_) => app.play_prompt(&prompt, Some(path)),
                        Err(e) => {
                            tracing::warn!(error = %e, "a guide step's prompt cannot be made");
                            app.play_prompt(&prompt, None);
                        }
                    }
                });
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start making a guide step's prompt");
            self.play_prompt(&fallback, None);
        }
    }

    /// Plays the step's prompt `step` (when there is one) and then the screen's.
    fn play_prompt(&self, prompt: &Prompt, step: Option<PathBuf>) {
        let mut files: Vec<PathBuf> = step.into_iter().filter(|p| p.is_file()).collect();
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
        if played.is_ok() {
            tracing::debug!(
                screen = prompt.screen,
                lang = prompt.lang.code(),
                "prompt playing"
            );
        }
        if let Err(e) = played {
            tracing::warn!(error = %e, screen = prompt.screen, "a prompt does not play");
            self.dispatch(Event::SpeechEnded);
        }
    }

    pub(super) fn stop_speaking(&self) {
        self.speech.asked.set(self.speech.asked.get() + 1);
        self.speech.player.borrow_mut().stop();
    }

    pub(super) fn set_speech_volume(&self, volume: u8) {
        self.speech.player.borrow_mut().set_volume(volume);
    }
}
