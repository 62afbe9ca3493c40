//! Every UI string exists in Kazakh and Russian (English is the source), with the same
//! placeholders, and no catalogue keeps strings the UI no longer uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (context, msgid) of every `@tr(...)` in the .slint files.
type Key = (Option<String>, String);

fn slint_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read ui dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            slint_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "slint") {
            out.push(path);
        }
    }
}

/// Reads a Slint string literal starting at `s[0] == '"'`; returns it and the rest.
fn literal(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.strip_prefix('"')?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 2..])),
            '\\' => {
                let (_, e) = chars.next()?;
                out.push(match e {
                    'n' => '\n',
                    other => other,
                });
            }
            other => out.push(other),
        }
    }
    None
}

fn ui_strings() -> BTreeMap<Key, String> {
    let mut files = Vec::new();
    slint_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ui"),
        &mut files,
    );
    let mut keys = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read .slint");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("@tr(") {
            rest = rest[at + 4..].trim_start();
            let (first, after) = literal(rest)
                .unwrap_or_else(|| panic!("{}: @tr( without a string literal", file.display()));
            let after = after.trim_start();
            let key = if let Some(more) = after.strip_prefix("=>") {
                let (msgid, after) = literal(more.trim_start()).expect("msgid after context");
                rest = after;
                (Some(first), msgid)
            } else {
                rest = after;
                (None, first)
            };
            assert!(
                !key.1.trim().is_empty(),
                "{}: empty @tr string",
                file.display()
            );
            keys.insert(key, file.display().to_string());
        }
    }
    keys
}

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        set.insert(rest[open..open + close + 1].to_string());
        rest = &rest[open + close + 1..];
    }
    set
}

#[test]
fn every_ui_string_is_translated_into_kazakh_russian_and_english() {
    let ui = ui_strings();
    assert!(
        ui.len() > 50,
        "found only {} strings: is the extractor broken?",
        ui.len()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for lang in ["kk", "ru", "en"] {
        let path = root.join(format!("translations/{lang}/LC_MESSAGES/senim-kiosk.po"));
        let po = rspolib::pofile(path.to_str().expect("utf-8 path"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut catalogue = BTreeMap::new();
        for e in po.entries.iter().filter(|e| !e.obsolete) {
            assert!(
                !e.flags.iter().any(|f| f == "fuzzy"),
                "{lang}: fuzzy entry {:?}",
                e.msgid
            );
            catalogue.insert(
                (e.msgctxt.clone(), e.msgid.clone()),
                e.msgstr.clone().unwrap_or_default(),
            );
        }
        let mut problems = Vec::new();
        for ((ctx, msgid), file) in &ui {
            match catalogue.get(&(ctx.clone(), msgid.clone())) {
                None => problems.push(format!(
                    "{lang}: missing {msgid:?} (context {ctx:?}) from {file}"
                )),
                Some(t) if t.trim().is_empty() => {
                    problems.push(format!("{lang}: empty translation of {msgid:?}"))
                }
                Some(t) if placeholders(t) != placeholders(msgid) => problems.push(format!(
                    "{lang}: {msgid:?} → {t:?} changes the placeholders"
                )),
                Some(_) => {}
            }
        }
        for key in catalogue.keys() {
            if !ui.contains_key(key) {
                problems.push(format!(
                    "{lang}: {key:?} is no longer used by the UI; remove it"
                ));
            }
        }
        assert!(
            problems.is_empty(),
            "translation problems:\n{}",
            problems.join("\n")
        );
    }
}

#[test]
fn extractor_reads_context_and_escapes() {
    let (s, rest) = literal(r#""a \"b\" c" => x"#).expect("literal");
    assert_eq!(s, "a \"b\" c");
    assert_eq!(rest, " => x");
    assert_eq!(
        placeholders("{0} of {1}").into_iter().collect::<Vec<_>>(),
        vec!["{0}", "{1}"]
    );
}
