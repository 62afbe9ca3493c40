//! Spoken guidance: every screen offers "listen", quieter and louder (on screen, inside the
//! window, wired to the journey), every screen has a prompt in kk, ru and en, the shipped
//! prompts pass `senim-kiosk prompts check` and a missing, silent or stale one fails it, and
//! the player makes nothing before the first prompt and plays one to its end.

#[path = "support/headless.rs"]
#[allow(dead_code)] // only its window here, not its pictures
mod headless;
#[path = "support/journeys.rs"]
mod journeys;
#[path = "support/speech.rs"]
mod speech_support;

use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::rc::Rc;

use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementRoot};
use slint::{ComponentHandle, PhysicalSize};

use senim_kiosk::devices::camera::AudioOutput;
use senim_kiosk::flow::Lang;
use senim_kiosk::speech::{self, Player, PROMPTS};
use senim_kiosk::ui::{self, ShellAdapter};

use journeys::journeys;
use speech_support::{copy_dir, silent_wav, translation};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn buttons(app: &senim_kiosk::ui::AppWindow, label: &str) -> Vec<ElementHandle> {
    app.root_element()
        .query_descendants()
        .match_accessible_role(AccessibleRole::Button)
        .match_predicate({
            let label = label.to_string();
            move |e| e.accessible_label().is_some_and(|l| l == label.as_str())
        })
        .find_all()
}

#[test]
fn every_screen_offers_listen_quieter_and_louder() {
    let journeys::Demo {
        config,
        catalog,
        view,
    } = journeys::demo();
    let info = journeys::kiosk_info(&config);
    let (window, app) = headless::window();
    app.show().expect("show");
    let listened = Rc::new(Cell::new(0));
    {
        let listened = listened.clone();
        app.global::<ShellAdapter>()
            .on_listen(move || listened.set(listened.get() + 1));
    }
    let mut screens = std::collections::BTreeSet::new();
    for size in [PhysicalSize::new(1920, 1080), PhysicalSize::new(1080, 1920)] {
        window.set_size(size);
        for lang in Lang::ALL {
            ui::select_language(lang);
            let listen = translation(lang, "Listen");
            for shot in journeys(&config, &catalog, lang) {
                ui::apply(&app, &shot.flow, &view, &info, shot.now);
                slint::platform::update_timers_and_animations();
                screens.insert(shot.flow.screen().name());
                let found = buttons(&app, &listen);
                assert_eq!(
                    found.len(),
                    1,
                    "{} in {} ({}×{}) offers {} \"listen\" button(s)",
                    shot.name,
                    lang.code(),
                    size.width,
                    size.height,
                    found.len()
                );
                let (pos, extent) = (found[0].absolute_position(), found[0].size());
                assert!(
                    pos.x >= 0.0
                        && pos.y >= 0.0
                        && pos.x + extent.width <= size.width as f32
                        && pos.y + extent.height <= size.height as f32,
                    "{}: \"listen\" lies outside the window at {pos:?} {extent:?}",
                    shot.name
                );
                for other in ["Quieter", "Louder"] {
                    assert!(
                        !buttons(&app, &translation(lang, other)).is_empty(),
                        "{} in {} has no {other:?} button",
                        shot.name,
                        lang.code()
                    );
                }
                let before = listened.get();
                found[0].invoke_accessible_default_action();
                assert_eq!(listened.get(), before + 1, "{}: listen is wired", shot.name);
            }
        }
    }
    for screen in &screens {
        assert!(
            PROMPTS.iter().any(|(name, _)| name == screen),
            "the screen {screen} has no prompt in src/speech/texts.rs"
        );
    }
}

#[test]
fn every_prompt_reads_texts_of_all_three_catalogues() {
    let texts = speech::Texts::built_in().expect("catalogues");
    for (screen, _) in PROMPTS {
        for lang in Lang::ALL {
            let text = texts.prompt(screen, lang).expect("a prompt text");
            assert!(text.len() > 5, "{screen} in {}: {text:?}", lang.code());
        }
    }
    // The same screen in two languages says different things.
    assert_ne!(
        texts.prompt("menu", Lang::Kk).unwrap(),
        texts.prompt("menu", Lang::Ru).unwrap()
    );
}

fn prompts_check(dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_senim-kiosk"))
        .args(["prompts", "check", "--dir"])
        .arg(dir)
        .output()
        .expect("run senim-kiosk prompts check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_shipped_prompts_pass_the_check_with_a_duration_each() {
    let (code, out) = prompts_check(&root().join("assets/prompts"));
    assert_eq!(code, 0, "{out}");
    for (screen, _) in PROMPTS {
        for lang in Lang::ALL {
            let row = out
                .lines()
                .find(|l| {
                    let mut words = l.split_whitespace();
                    words.next() == Some(*screen) && words.next() == Some(lang.code())
                })
                .unwrap_or_else(|| panic!("no row for {screen} {}:\n{out}", lang.code()));
            assert!(row.ends_with(" s  ok"), "{row}");
        }
    }
}

#[test]
fn a_missing_silent_or_stale_prompt_fails_the_check() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("prompts");
    copy_dir(&root().join("assets/prompts"), &dir);
    assert_eq!(prompts_check(&dir).0, 0, "the copy passes");

    let menu_ru = speech::prompt_path(&dir, "menu", Lang::Ru);
    let saved = std::fs::read(&menu_ru).expect("menu ru");
    std::fs::remove_file(&menu_ru).expect("remove");
    let (code, out) = prompts_check(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MISSING"), "{out}");

    std::fs::write(&menu_ru, silent_wav(3)).expect("silence");
    let (code, out) = prompts_check(&dir);
    assert_eq!(code, 1, "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("menu") && l.contains(" ru "))
        .expect("row");
    assert!(row.contains("3.0 s") && row.contains("SILENT"), "{row}");

    std::fs::write(&menu_ru, &saved).expect("restore");
    assert_eq!(prompts_check(&dir).0, 0, "restored");
    // A prompt made from an older text of its screen.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let hash = speech::synth::Manifest::read(&dir)
        .expect("manifest")
        .prompts["kk/attract"]
        .clone();
    std::fs::write(&manifest, text.replace(&hash, &"0".repeat(64))).expect("write");
    let (code, out) = prompts_check(&dir);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("attract") && l.contains("STALE")),
        "{out}"
    );
}

#[test]
fn the_player_makes_nothing_before_the_first_prompt_and_plays_it_to_the_end() {
    let mut player = Player::new(AudioOutput::None, 60);
    assert!(!player.loaded(), "nothing at start-up");
    let file = speech::prompt_path(&root().join("assets/prompts"), "identified", Lang::Kk);
    let (tx, rx) = std::sync::mpsc::channel();
    let started = std::time::Instant::now();
    let id = player
        .play(vec![file.clone(), file], move |id| {
            let _ = tx.send(id);
        })
        .expect("play");
    assert!(player.loaded());
    let ended = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the prompt ends");
    assert_eq!(ended, id);
    let one = speech::measure(&speech::prompt_path(
        &root().join("assets/prompts"),
        "identified",
        Lang::Kk,
    ))
    .expect("measure")
    .duration;
    assert!(
        started.elapsed() >= one * 2 - std::time::Duration::from_millis(300),
        "both files played in real time: {:?} for 2 × {one:?}",
        started.elapsed()
    );
    assert!(player.finished(id));
    assert!(!player.loaded(), "its pipeline is freed");
}

#[test]
fn the_step_cache_makes_a_text_once_and_a_changed_text_anew() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = speech::StepCache {
        dir: tmp.path().join("prompt-cache"),
    };
    let step = "Откройте портал eGov.kz и нажмите «Войти».".to_string();
    let texts = vec![
        (Lang::Ru, step.clone()),
        (Lang::Kk, "eGov.kz порталын ашыңыз.".into()),
    ];
    assert_eq!(cache.fill(&texts).expect("espeak-ng makes them"), 2);
    let first = cache.path(&step);
    let measured = speech::measure(&first).expect("decodes");
    assert!(!measured.silent(), "{measured:?}");
    let modified = std::fs::metadata(&first)
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(cache.fill(&texts).expect("again"), 0, "nothing made twice");
    assert_eq!(
        std::fs::metadata(&first)
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified
    );
    let changed = format!("{step} Затем введите ИИН.");
    assert_eq!(
        cache.fill(&[(Lang::Ru, changed.clone())]).expect("changed"),
        1
    );
    assert_ne!(cache.path(&changed), first);
}
