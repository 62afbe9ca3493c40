//! The console speaks Kazakh and Russian everywhere: every `tr`/`trc`/`trf` text in
//! `callcentre/src` has a Kazakh and a Russian translation with the same `{0}` placeholders in
//! `callcentre/translations/{kk,ru}/*.po`; no catalogue keeps texts the code no longer uses; a
//! text translated in two part files is translated the same way; and the console's pages,
//! rendered for a Kazakh-speaking operator, show no English.
//!
//! The source scan reads every `.rs` file under `callcentre/src` (but `i18n.rs`, which defines
//! the functions) up to its `#[cfg(test)]` module, comments left out. A call's message must be
//! a string literal; anything else fails, since it could not be checked.
//!
//! Over 600 lines: a small Rust lexer for the scan, a small HTML reader for the pages, and the
//! page fixtures.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{appeal, appeal_id, http_sign_in_as, TestServer};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// The source scan
// ---------------------------------------------------------------------------------------------

/// A translatable text: its context (`trc`) and its English source.
type Key = (Option<String>, String);

/// A text found in the code, and where.
#[derive(Debug, Clone)]
struct Found {
    key: Key,
    file: String,
    line: usize,
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A token of Rust source as far as the scan needs: identifiers, string literals (unescaped),
/// and single punctuation characters. Comments, numbers, char literals and lifetimes are
/// dropped.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Tokenises `src` (each token with its line), stopping at the first `#[cfg(test)]`.
fn lex(src: &str, file: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' || ((c == 'r' || c == 'b') && starts_string(&chars, i)) {
            let start_line = line;
            let (text, next, lines) = string_literal(&chars, i, file, line);
            toks.push((Tok::Str(text), start_line));
            line += lines;
            i = next;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{41}', '"') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(chars[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
        } else {
            // `#[cfg(test)]`: the test module (test strings need no translation).
            if c == '#' {
                let rest: String = chars[i..chars.len().min(i + 40)]
                    .iter()
                    .filter(|c| !c.is_whitespace())
                    .collect();
                if rest.starts_with("#[cfg(test)]") {
                    break;
                }
            }
            toks.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    toks
}

/// Does a raw or byte string start at `i` (`r"`, `r#"`, `b"`, `br"`)?
fn starts_string(chars: &[char], i: usize) -> bool {
    let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if prev_ident {
        return false;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) == Some(&'r') {
        j += 1;
        while chars.get(j) == Some(&'#') {
            j += 1;
        }
    }
    j > i && chars.get(j) == Some(&'"')
}

/// Reads the string literal at `i`: its text (escapes resolved), the index after it, and the
/// newlines it spans.
fn string_literal(chars: &[char], mut i: usize, file: &str, line: usize) -> (String, usize, usize) {
    let mut raw = false;
    let mut hashes = 0;
    if chars[i] == 'b' {
        i += 1;
    }
    if chars[i] == 'r' {
        raw = true;
        i += 1;
        while chars[i] == '#' {
            hashes += 1;
            i += 1;
        }
    }
    i += 1; // the opening quote
    let mut text = String::new();
    let mut lines = 0;
    loop {
        let c = *chars
            .get(i)
            .unwrap_or_else(|| panic!("{file}:{line}: a string literal does not end"));
        if c == '\n' {
            lines += 1;
        }
        if c == '"' {
            if !raw {
                return (text, i + 1, lines);
            }
            if (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
                return (text, i + 1 + hashes, lines);
            }
        }
        if c == '\\' && !raw {
            let e = chars[i + 1];
            i += 2;
            match e {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                '0' => text.push('\0'),
                '\\' | '"' | '\'' => text.push(e),
                '\n' => {
                    lines += 1;
                    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                        if chars[i] == '\n' {
                            lines += 1;
                        }
                        i += 1;
                    }
                }
                'u' => {
                    let close = (i..chars.len()).find(|&k| chars[k] == '}').unwrap();
                    let hex: String = chars[i + 1..close].iter().collect();
                    text.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                    i = close + 1;
                }
                'x' => {
                    let hex: String = chars[i..i + 2].iter().collect();
                    text.push(u8::from_str_radix(&hex, 16).unwrap() as char);
                    i += 2;
                }
                other => panic!("{file}:{line}: unknown escape \\{other} in a string literal"),
            }
            continue;
        }
        text.push(c);
        i += 1;
    }
}

/// Every `tr(lang, "…")`, `trc(lang, "context", "…")` and `trf(lang, "…", …)` in
/// `callcentre/src`; `Err` lists calls whose texts are not literals.
fn texts_in_code() -> (Vec<Found>, Vec<String>) {
    let src = crate_dir().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let rel = format!(
            "callcentre/{}",
            path.strip_prefix(crate_dir()).unwrap().display()
        );
        if rel.ends_with("src/i18n.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        calls(&text, &rel, &mut found, &mut problems);
    }
    (found, problems)
}

/// The tr/trc/trf calls in one file's source: texts to `found`, calls without a literal text
/// to `problems`.
fn calls(text: &str, rel: &str, found: &mut Vec<Found>, problems: &mut Vec<String>) {
    let toks = lex(text, rel);
    for (k, (tok, line)) in toks.iter().enumerate() {
        let Tok::Ident(name) = tok else { continue };
        if !matches!(name.as_str(), "tr" | "trc" | "trf") {
            continue;
        }
        if toks.get(k + 1).map(|t| &t.0) != Some(&Tok::Punct('(')) {
            continue; // `use crate::i18n::{tr, …}` and the like
        }
        let prev = k.checked_sub(1).map(|p| &toks[p].0);
        if prev == Some(&Tok::Ident("fn".into())) || prev == Some(&Tok::Punct('.')) {
            continue; // a definition or a method of another type
        }
        // Skip the first argument (the language) up to its comma.
        let mut j = k + 2;
        let mut depth = 0i32;
        while let Some((t, _)) = toks.get(j) {
            match t {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') if depth == 0 => break,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct(',') if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let literal_at = |j: usize| match toks.get(j).map(|t| &t.0) {
            Some(Tok::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let followed_by_end =
            |j: usize| matches!(toks.get(j).map(|t| &t.0), Some(Tok::Punct(',' | ')')));
        let key = if name == "trc" {
            match (literal_at(j + 1), literal_at(j + 3)) {
                (Some(ctx), Some(msgid))
                    if toks.get(j + 2).map(|t| &t.0) == Some(&Tok::Punct(','))
                        && followed_by_end(j + 4) =>
                {
                    Some((Some(ctx), msgid))
                }
                _ => None,
            }
        } else {
            match literal_at(j + 1) {
                Some(msgid) if followed_by_end(j + 2) => Some((None, msgid)),
                _ => None,
            }
        };
        match key {
            Some(key) => found.push(Found {
                key,
                file: rel.to_string(),
                line: *line,
            }),
            None => problems.push(format!(
                "{rel}:{line}: `{name}(…)` whose text is not a string literal; write the \
                 English text itself in the call (`{name}(lang, \"…\")`), so that it can be \
                 checked and translated"
            )),
        }
    }
}

/// The `{0}`, `{1}`, … a text uses.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(close) = rest.find('}') {
            let inner = &rest[..close];
            if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()) {
                out.insert(format!("{{{inner}}}"));
            }
        }
    }
    out
}

/// An entry of a catalogue: its translation and the part file it is in.
struct Entry {
    msgstr: String,
    file: String,
    fuzzy: bool,
}

/// Every catalogue of `lang`: (context, msgid) → the entries (one per part file that has it).
fn catalogue(lang: &str) -> BTreeMap<Key, Vec<Entry>> {
    let dir = crate_dir().join("translations").join(lang);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "po"))
        .collect();
    files.sort();
    let mut out: BTreeMap<Key, Vec<Entry>> = BTreeMap::new();
    for path in files {
        let name = format!(
            "callcentre/translations/{lang}/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let catalog = polib::po_file::parse(&path)
            .unwrap_or_else(|e| panic!("{name} is not a readable .po file: {e}"));
        for m in catalog.messages() {
            if m.msgid().is_empty() {
                continue;
            }
            let msgstr = if m.is_plural() {
                String::new()
            } else {
                m.msgstr().unwrap_or_default().to_string()
            };
            out.entry((m.msgctxt().map(str::to_owned), m.msgid().to_string()))
                .or_default()
                .push(Entry {
                    msgstr,
                    file: name.clone(),
                    fuzzy: m.flags().is_fuzzy(),
                });
        }
    }
    out
}

fn describe(key: &Key) -> String {
    match &key.0 {
        Some(ctx) => format!("{:?} (msgctxt {:?})", key.1, ctx),
        None => format!("{:?}", key.1),
    }
}

#[test]
fn every_console_text_has_a_kazakh_and_a_russian_translation_and_no_stale_ones() {
    let (found, mut problems) = texts_in_code();
    assert!(
        found.len() > 100,
        "the scan found only {} texts in callcentre/src; is it still reading the code?",
        found.len()
    );
    let mut used: BTreeMap<Key, &Found> = BTreeMap::new();
    for f in &found {
        used.entry(f.key.clone()).or_insert(f);
    }
    for lang in ["kk", "ru"] {
        let catalogue = catalogue(lang);
        // (a) Every text of the code is translated, with the same placeholders.
        for (key, at) in &used {
            let want = placeholders(&key.1);
            match catalogue.get(key) {
                None => problems.push(format!(
                    "{}:{}: {} has no {lang} translation: add it to the part's \
                     callcentre/translations/{lang}/<part>.po",
                    at.file,
                    at.line,
                    describe(key)
                )),
                Some(entries) => {
                    for e in entries {
                        if e.fuzzy {
                            problems.push(format!(
                                "{}: the translation of {} is marked fuzzy: check it, then \
                                 remove the flag",
                                e.file,
                                describe(key)
                            ));
                        }
                        if e.msgstr.trim().is_empty() {
                            problems.push(format!(
                                "{}: {} (used at {}:{}) has an empty msgstr",
                                e.file,
                                describe(key),
                                at.file,
                                at.line
                            ));
                        } else if placeholders(&e.msgstr) != want {
                            problems.push(format!(
                                "{}: the translation of {} has placeholders {:?}, the English \
                                 {:?}: {:?}",
                                e.file,
                                describe(key),
                                placeholders(&e.msgstr),
                                want,
                                e.msgstr
                            ));
                        }
                    }
                }
            }
        }
        for (key, entries) in &catalogue {
            // (b) No stale entries.
            if !used.contains_key(key) {
                for e in entries {
                    problems.push(format!(
                        "{}: {} is not used by the code any more (no tr/trc/trf with it in \
                         callcentre/src): remove it, or fix its msgid/msgctxt",
                        e.file,
                        describe(key)
                    ));
                }
            }
            // (c) One text, one translation.
            let first = &entries[0];
            for other in &entries[1..] {
                if other.msgstr != first.msgstr {
                    problems.push(format!(
                        "{} is translated differently in {} ({:?}) and {} ({:?}): the console \
                         must say it the same way everywhere; agree on one",
                        describe(key),
                        first.file,
                        first.msgstr,
                        other.file,
                        other.msgstr
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} translation problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_scan_reads_calls_as_written() {
    let src = r##"
        use crate::i18n::{tr, trc, trf};
        fn page(lang: Lang) {
            // tr(lang, "in a comment")
            let a = tr(lang, "Plain");
            let b = trc(
                lang,
                "status",
                "New",
            );
            let c = trf(lang, "Due in {0} days", &[&n]);
            let d = tr(lang, "Say \"hello\"\
                       now");
            let e = tr(self.lang(), r#"raw "quoted""#);
            let q = '"';
            let f = tr(lang, "After a quote char");
            /* tr(lang, "in a block comment") */
        }
        #[cfg(test)]
        mod tests { fn t() { tr(Lang::En, "test only"); } }
    "##;
    let toks = lex(src, "x.rs");
    let strs: Vec<String> = toks
        .iter()
        .filter_map(|(t, _)| match t {
            Tok::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        strs,
        [
            "Plain",
            "status",
            "New",
            "Due in {0} days",
            "Say \"hello\"now",
            "raw \"quoted\"",
            "After a quote char"
        ]
    );
    let (mut found, mut problems) = (Vec::new(), Vec::new());
    calls(src, "x.rs", &mut found, &mut problems);
    let keys: Vec<Key> = found.into_iter().map(|f| f.key).collect();
    assert_eq!(
        keys,
        [
            (None, "Plain".to_string()),
            (Some("status".to_string()), "New".to_string()),
            (None, "Due in {0} days".to_string()),
            (None, "Say \"hello\"now".to_string()),
            (None, "raw \"quoted\"".to_string()),
            (None, "After a quote char".to_string()),
        ]
    );
    assert!(problems.is_empty(), "{problems:?}");
    let mut problems = Vec::new();
    calls(
        "fn f(lang: Lang, m: &'static str) { tr(lang, m); trc(lang, \"c\", m); trf(lang, \"a\" , &[]); }",
        "y.rs",
        &mut Vec::new(),
        &mut problems,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("y.rs:1: `tr(…)` whose text is not a string literal"));
    assert_eq!(
        placeholders("{1} of {0}, {x}"),
        ["{0}".to_string(), "{1}".to_string()].into()
    );
}

// ---------------------------------------------------------------------------------------------
// The pages a Kazakh-speaking operator sees
// ---------------------------------------------------------------------------------------------

const SITE: &str = "№ 4 қалалық аурухана, Алматы";
const OPERATOR: &str = "Айгерім Садықова";

/// A server with a Kazakh-speaking operator (`aigerim`, language `kk`), a kiosk at a site with
/// a Kazakh name, appeals, a heartbeat and service-guide records; the session cookie and the
/// data the pages may show as they are (numbers, ids, names from the fixtures).
struct Fixture {
    server: TestServer,
    cookie: String,
    data: Vec<String>,
}

async fn kazakh_operator() -> Fixture {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", OPERATOR);
    server
        .state
        .db
        .write(|tx| {
            // Every role, so that every page of the console is there to read.
            let all = senim_callcentre::db::Roles {
                admin: true,
                operator: true,
                anticorruption: true,
            };
            senim_callcentre::db::set_roles(tx, "aigerim", all)?;
            senim_callcentre::db::set_operator_language(tx, "aigerim", Some("kk"))
        })
        .unwrap();
    let http = reqwest::Client::new();
    let (kiosk, token) = server.enrol(&http, SITE).await;
    let services = crate_dir().join("../config/services");
    senim_callcentre::catalog::publish(&server.state.db, &services, chrono::Utc::now()).unwrap();
    server.state.refresh_catalog_version().unwrap();
    let now = chrono::Utc::now();
    let mut fresh = appeal("appeal-000001", &appeal_id(1), None);
    fresh["record"]["created_at"] = json!(now - chrono::Duration::hours(2));
    fresh["record"]["text"] = json!("Кезекте үш сағат күттім.");
    let mut overdue = appeal("appeal-000002", &appeal_id(2), None);
    overdue["record"]["created_at"] = json!(now - chrono::Duration::days(20));
    overdue["record"]["topic"] = json!("request");
    let mut test = appeal("appeal-000003", &appeal_id(3), None);
    test["record"]["test"] = json!(true);
    test["record"]["topic"] = json!("other");
    let mut bribe = appeal("appeal-000004", &appeal_id(4), None);
    bribe["record"]["topic"] = json!("bribe_report");
    let mut records = vec![fresh, overdue, test, bribe];
    for (n, (event, step, rating)) in [
        ("started", None, None),
        ("completed", None, None),
        ("rated", None, Some(3)),
        ("started", None, None),
        ("abandoned", Some(2), None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = json!({"kind": "guide_event", "session_id": format!("s{}", n / 2),
            "service_id": "no-criminal-record", "event": event,
            "at": now - chrono::Duration::minutes(30 - n as i64)});
        if let Some(step) = step {
            record["step"] = json!(step);
        }
        if let Some(rating) = rating {
            record["rating"] = json!(rating);
        }
        records.push(json!({"key": format!("guide-event-{n:03}"), "record": record}));
    }
    let r = http
        .post(format!("{}/api/v1/records", server.url))
        .bearer_auth(&token)
        .json(&json!({ "records": records }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(
        status.is_success(),
        "records refused: {status} {}",
        r.text().await.unwrap()
    );
    let r = http
        .post(format!("{}/api/v1/heartbeat", server.url))
        .bearer_auth(&token)
        .json(&json!({"state": "in_use", "queue_depth": 2,
            "devices": [{"device": "scanner", "status": "ok"},
                        {"device": "printer", "status": "fail", "detail": "paper out"}],
            "versions": {"app": "0.1.0", "image": "1.0.0"}, "sent_at": now, "parked": 2,
            "update": {"version": "2.0.0", "state": "downloading", "progress_percent": 40}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "heartbeat refused: {}", r.status());
    let cookie = http_sign_in_as(&server, "aigerim", "demo-password-1")
        .await
        .expect("the operator signs in");
    let data = vec![
        SITE.to_string(),
        OPERATOR.to_string(),
        // The operator's username, shown beside the name (history, operators, audit).
        "aigerim".into(),
        kiosk,
        appeal_id(1),
        appeal_id(2),
        appeal_id(3),
        appeal_id(4),
        // What the kiosk reports about itself: technical names, shown as sent.
        "scanner".into(),
        "printer".into(),
        "paper out".into(),
        "no-criminal-record".into(),
        // The image and update versions it reports.
        "1.0.0".into(),
        "2.0.0".into(),
    ];
    Fixture {
        server,
        cookie,
        data,
    }
}

impl Fixture {
    async fn get(&self, path: &str) -> (reqwest::StatusCode, String) {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{}{path}", self.server.url))
            .header("Cookie", &self.cookie)
            // The browser asks for English: the operator's stored choice must win.
            .header("Accept-Language", "en-GB,en;q=0.9")
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn csrf(&self) -> String {
        common::console_csrf(&self.server, &self.cookie).await
    }
}

/// A piece of visible text, and what kind of place it is in (`text`, or an attribute's name).
struct Visible {
    text: String,
    place: &'static str,
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The text an operator reads on a page: text nodes and the `title`, `placeholder`, `alt`
/// and `aria-label` attributes; not scripts, styles or `<code>` (commands to type), nor
/// elements marked as another language (`lang="en"` on a page in Kazakh: the language
/// switch naming each language in itself).
fn visible_texts(html: &str) -> (Option<String>, Vec<Visible>) {
    let mut out = Vec::new();
    let mut page_lang = None;
    // Open elements: (name, hidden from the check).
    let mut stack: Vec<(String, bool)> = Vec::new();
    let mut rest = html;
    let void = [
        "meta", "link", "input", "br", "img", "hr", "source", "track", "wbr", "col", "area",
    ];
    loop {
        let skipping = stack.iter().any(|(_, hidden)| *hidden);
        let Some(open) = rest.find('<') else {
            if !skipping {
                out.push(Visible {
                    text: decode_entities(rest),
                    place: "text",
                });
            }
            break;
        };
        if !skipping {
            out.push(Visible {
                text: decode_entities(&rest[..open]),
                place: "text",
            });
        }
        rest = &rest[open..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map(|e| &rest[e + 3..]).unwrap_or("");
            continue;
        }
        let Some(end) = tag_end(rest) else { break };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            if let Some(pos) = stack.iter().rposition(|(n, _)| *n == name) {
                stack.truncate(pos);
            }
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect::<String>()
            .to_ascii_lowercase();
        let attrs = attributes(tag);
        let lang = attrs
            .iter()
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.clone());
        if name == "html" {
            page_lang = lang.clone();
        }
        let foreign = lang.is_some() && name != "html" && lang != page_lang;
        let hidden = matches!(name.as_str(), "script" | "style" | "code") || foreign;
        if !skipping && !hidden {
            for (k, v) in &attrs {
                let place = match k.as_str() {
                    "title" => "title attribute",
                    "placeholder" => "placeholder attribute",
                    "alt" => "alt attribute",
                    "aria-label" => "aria-label attribute",
                    _ => continue,
                };
                out.push(Visible {
                    text: v.clone(),
                    place,
                });
            }
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}");
            rest = rest.find(&close).map(|e| &rest[e..]).unwrap_or("");
            continue;
        }
        if !void.contains(&name.as_str()) && !tag.ends_with('/') {
            stack.push((name, hidden));
        }
    }
    out.retain(|v| !v.text.trim().is_empty());
    (page_lang, out)
}

/// The index of the `>` that closes the tag at the start of `s` (quotes respected).
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let chars: Vec<char> = tag.chars().collect();
    let mut i = chars
        .iter()
        .position(|c| c.is_whitespace())
        .unwrap_or(chars.len());
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
            i += 1;
        }
        let key: String = chars[start..i]
            .iter()
            .collect::<String>()
            .to_ascii_lowercase();
        let mut value = String::new();
        if chars.get(i) == Some(&'=') {
            i += 1;
            if let Some(&q) = chars.get(i).filter(|c| **c == '"' || **c == '\'') {
                i += 1;
                while i < chars.len() && chars[i] != q {
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
        }
        if !key.is_empty() {
            out.push((key, decode_entities(&value)));
        }
    }
    out
}

/// Latin words a Kazakh page may show: the brand and technical names.
const ALLOWED_WORDS: &[&str] = &["Senim", "QR", "SSH", "kk", "ru", "en", "CSV", "IP", "Ctrl"];

/// The English words left in `text` once the fixtures' data is taken out: words of two or
/// more Latin letters, in tokens that hold no digit, `/`, `_`, `@` or `:` (ids, versions,
/// time zones, addresses are data).
fn english_words(text: &str, data: &[String]) -> Vec<String> {
    let mut text = text.to_string();
    for d in data {
        text = text.replace(d.as_str(), " ");
    }
    let mut words = Vec::new();
    for token in text.split_whitespace() {
        if token
            .chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '/' | '_' | '@'))
            || token.trim_end_matches([',', '.', ';', ')']).contains(':')
        {
            continue;
        }
        for word in token.split(|c: char| !c.is_ascii_alphabetic()) {
            if word.len() >= 2 && !ALLOWED_WORDS.contains(&word) {
                words.push(word.to_string());
            }
        }
    }
    words
}

/// Where an English text comes from: the files of `callcentre/src` that hold it as a string
/// literal, else those that hold its longest English stretch (a text built from parts).
fn source_of(text: &str) -> String {
    let mut files = Vec::new();
    rust_files(&crate_dir().join("src"), &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .filter_map(|p| {
            let rel = format!("callcentre/{}", p.strip_prefix(crate_dir()).ok()?.display());
            Some((rel, std::fs::read_to_string(p).ok()?))
        })
        .collect();
    let find = |needle: &str| -> Vec<&str> {
        sources
            .iter()
            .filter(|(_, s)| s.contains(needle))
            .map(|(rel, _)| rel.as_str())
            .collect()
    };
    // Files with the text as a literal outside tr/trc/trf (those with it inside are fine).
    // (Also as the start or end of a literal: `"Appeal " span { … }`.)
    let quoted = format!("\"{}\"", text.trim());
    let variants = [
        quoted.clone(),
        format!("\"{} ", text.trim()),
        format!(" {}\"", text.trim()),
    ];
    let untranslated: Vec<&str> = sources
        .iter()
        .filter(|(_, s)| {
            variants.iter().any(|v| {
                s.match_indices(v.as_str()).any(|(at, _)| {
                    let before = &s[s[..at].rfind('\n').unwrap_or(0)..at];
                    !before.contains("tr(") && !before.contains("trc(") && !before.contains("trf(")
                })
            })
        })
        .map(|(rel, _)| rel.as_str())
        .collect();
    if !untranslated.is_empty() {
        return untranslated.join(", ");
    }
    let literal = find(&quoted);
    if !literal.is_empty() {
        return format!(
            "{} (as a tr() text: is it translated under another msgctxt?)",
            literal.join(", ")
        );
    }
    // The longest stretch of English words (with their spaces and punctuation).
    let stretch = text
        .split(|c: char| !(c.is_ascii_alphabetic() || " ,.'’()-".contains(c)))
        .map(str::trim)
        .filter(|s| s.chars().filter(char::is_ascii_alphabetic).count() >= 2)
        .max_by_key(|s| s.len())
        .unwrap_or("");
    let hits = if stretch.is_empty() {
        Vec::new()
    } else {
        find(stretch)
    };
    match hits.len() {
        0 => "no file of callcentre/src holds it: built from parts, or from a script".into(),
        1..=3 => format!("{} (holds {stretch:?})", hits.join(", ")),
        n => format!("{n} files hold {stretch:?}, e.g. {}", hits[..3].join(", ")),
    }
}

/// Fails with every English text on `page` (a page in Kazakh), each with where it comes from.
fn assert_kazakh(name: &str, html: &str, data: &[String]) {
    if let Some(problem) = not_kazakh(name, html, data) {
        panic!("{problem}");
    }
}

/// What is not Kazakh on a page meant to be in Kazakh, if anything.
fn not_kazakh(name: &str, html: &str, data: &[String]) -> Option<String> {
    let (lang, texts) = visible_texts(html);
    if lang.as_deref() != Some("kk") {
        return Some(format!(
            "the {name} page is not marked <html lang=\"kk\"> for a Kazakh-speaking operator"
        ));
    }
    let mut leaks = Vec::new();
    for v in &texts {
        let words = english_words(&v.text, data);
        if !words.is_empty() {
            leaks.push(format!(
                "{:?} ({}; English: {}) — from {}",
                v.text.trim(),
                v.place,
                words.join(" "),
                source_of(v.text.trim())
            ));
        }
    }
    let mut seen = BTreeSet::new();
    leaks.retain(|l| seen.insert(l.clone()));
    (!leaks.is_empty()).then(|| {
        format!(
            "the {name} page shows {} English text(s) to a Kazakh-speaking operator; wrap each \
             in i18n::tr and translate it in the part's .po:\n  {}",
            leaks.len(),
            leaks.join("\n  ")
        )
    })
}

#[test]
fn the_page_reader_finds_the_visible_english() {
    let html = r#"<!DOCTYPE html><html lang="kk"><head><title>Өтініштер · Senim</title>
        <script type="application/json" id="i18n">{"a": "Sound: on"}</script>
        <style>body { color: red }</style></head>
        <body><p title="Your name is logged">Көрсету</p><!-- a comment -->
        <form><button lang="en" title="English">Eng</button></form>
        <p>Left at <code>senim-kiosk enrol</code> 4 жел. 2026, A-7KQ2MX9P, v0.1.0, Asia/Almaty</p>
        <input placeholder="Search"></body></html>"#;
    let (lang, texts) = visible_texts(html);
    assert_eq!(lang.as_deref(), Some("kk"));
    let english: Vec<String> = texts
        .iter()
        .flat_map(|v| english_words(&v.text, &["A-7KQ2MX9P".into()]))
        .collect();
    assert_eq!(
        english,
        ["Your", "name", "is", "logged", "Left", "at", "Search"]
    );
}

#[tokio::test]
async fn the_sign_in_page_follows_the_browser_and_says_no_english_in_kazakh() {
    let server = TestServer::start().await;
    server.operator("aigerim", "demo-password-1", OPERATOR);
    let http = reqwest::Client::new();
    let page = |accept: &'static str| {
        http.get(format!("{}/console/login", server.url))
            .header("Accept-Language", accept)
            .send()
    };
    let kk = page("kk-KZ,kk;q=0.9,ru;q=0.8")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_kazakh("sign-in", &kk, &[]);
    assert!(kk.contains("Кіру"), "{kk}");
    let ru = page("ru-RU,ru;q=0.9").await.unwrap().text().await.unwrap();
    assert!(
        ru.contains("<html lang=\"ru\"") && ru.contains("Войти"),
        "{ru}"
    );
    let en = page("en-GB,en;q=0.9").await.unwrap().text().await.unwrap();
    assert!(
        en.contains("<html lang=\"en\"") && en.contains("Sign in"),
        "{en}"
    );

    // A refused sign-in answers in the language of the form.
    let login = http
        .get(format!("{}/console/login?lang=kk", server.url))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = login.text().await.unwrap();
    assert_kazakh("sign-in (picked on the page)", &body, &[]);
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let refused = http
        .post(format!("{}/console/login", server.url))
        .header("Cookie", cookie)
        .header("Accept-Language", "en")
        .form(&[
            ("username", "aigerim"),
            ("password", "wrong"),
            ("csrf", csrf.as_str()),
            ("lang", "kk"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("Пайдаланушы аты немесе құпиясөз қате."),
        "{refused}"
    );
    assert_kazakh("refused sign-in", &refused, &[]);
}

#[tokio::test]
async fn the_queue_says_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    let (status, html) = f.get("/console").await;
    assert_eq!(status, 200, "{html}");
    assert_kazakh("queue (/console)", &html, &f.data);
}

#[tokio::test]
async fn the_appeal_page_says_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    for n in [1, 2, 3] {
        let (status, html) = f.get(&format!("/console/appeals/{}", appeal_id(n))).await;
        assert_eq!(status, 200, "{html}");
        assert_kazakh(&format!("appeal {}", appeal_id(n)), &html, &f.data);
    }
}

#[tokio::test]
async fn the_fleet_pages_say_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    let (status, html) = f.get("/console/fleet").await;
    assert_eq!(status, 200, "{html}");
    assert_kazakh("fleet", &html, &f.data);
    assert!(html.contains("Киосктер"), "{html}");
    assert!(
        html.contains("2 шетке қойылды"),
        "the heartbeat's parked count: {html}"
    );
    assert!(
        html.contains("Жүйе бейнесі 1.0.0") && html.contains("Жаңарту 2.0.0: Жүктелуде 40%"),
        "the image version and the update in progress: {html}"
    );

    let csrf = f.csrf().await;
    let http = reqwest::Client::new();
    let post = |site: &'static str| {
        http.post(format!("{}/console/fleet/enrol", f.server.url))
            .header("Cookie", &f.cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("site", site),
                ("mode", "hospital"),
            ])
            .send()
    };
    let code = post("№ 2 емхана, Астана").await.unwrap();
    assert_eq!(code.status(), 200);
    let mut data = f.data.clone();
    data.push("№ 2 емхана, Астана".into());
    let html = code.text().await.unwrap();
    let shown = html
        .split("id=\"code\"")
        .nth(1)
        .and_then(|r| r.split('>').nth(1))
        .and_then(|r| r.split('<').next())
        .expect("the enrolment code is on its page")
        .to_string();
    data.push(shown);
    assert_kazakh("enrolment code", &html, &data);
    let refused = post("").await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_kazakh(
        "fleet with a refused site",
        &refused.text().await.unwrap(),
        &f.data,
    );
}

#[tokio::test]
async fn the_guides_page_says_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    let (status, html) = f.get("/console/guides").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("id=\"by-service\""),
        "the fixture has guide figures: {html}"
    );
    assert_kazakh("service guides", &html, &f.data);
}

#[tokio::test]
async fn error_pages_say_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    let mut data = f.data.clone();
    data.push("yesterday".into()); // echoed back as typed
    for (path, want) in [
        ("/console/appeals/A-NOSUCH00", 404),
        ("/console/guides?from=yesterday", 400),
        ("/console/guides?service=..%2F..", 400),
    ] {
        let (status, html) = f.get(path).await;
        assert_eq!(status, want, "{path}: {html}");
        assert_kazakh(&format!("error ({path})"), &html, &data);
    }
    // A form without its token.
    let r = reqwest::Client::new()
        .post(format!("{}/console/language", f.server.url))
        .header("Cookie", &f.cookie)
        .form(&[("csrf", "forged"), ("language", "ru")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_kazakh("error (forged form)", &r.text().await.unwrap(), &f.data);
}

/// The console links (`href="/console…"`) on a page, without those that are not pages to read
/// (static files, videos, downloads).
fn console_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .filter(|href| href.starts_with("/console"))
        .filter(|href| {
            !href.starts_with("/console/static")
                && !href.contains("/video")
                && !href.contains("csv")
                && !href.contains("download")
        })
        .collect()
}

/// Every console page a Kazakh-speaking operator with every role reaches by following links
/// from the queue (the menu, tabs, filters, appeals, the parts added later: figures, admin,
/// audit…), up to 60 pages: none shows English.
#[tokio::test]
async fn every_page_linked_in_the_console_says_no_english_in_kazakh() {
    let f = kazakh_operator().await;
    let mut seen = BTreeSet::from(["/console".to_string()]);
    let mut queue = std::collections::VecDeque::from(["/console".to_string()]);
    let mut failures = Vec::new();
    let mut read = 0;
    while let Some(path) = queue.pop_front() {
        if read == 60 {
            break;
        }
        let (status, html) = f.get(&path).await;
        if !status.is_success() || !html.contains("<html") {
            continue;
        }
        read += 1;
        if let Some(problem) = not_kazakh(&path, &html, &f.data) {
            failures.push(problem);
        }
        for link in console_links(&html) {
            if seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    assert!(
        read >= 4,
        "only {read} console pages were reachable from the queue"
    );
    assert!(
        failures.is_empty(),
        "{} of {read} console pages show English:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
