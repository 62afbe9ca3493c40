//! The console's and the status page's languages: Kazakh, Russian and English (the source),
//! with `.po` catalogues in `callcentre/translations/<lang>/*.po` (one file per part of the
//! console), the language from an operator's choice or the browser's `Accept-Language`.
//!
//! Pages write `tr(lang, "English text")`, or `trf(lang, "Due in {0} days", &[&n])` with
//! numbered placeholders; `tests/console_translations.rs` checks that every such string has a
//! Kazakh and a Russian translation with the same placeholders, that no catalogue keeps
//! strings the code no longer uses, and that the pages show no English to a Kazakh speaker.
//! The message must be a string literal in the call (the test reads the source).

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language of the console and the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    Kk,
    #[default]
    Ru,
    En,
}

impl Lang {
    /// Every language, in the order the switches show them.
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The code (`kk`, `ru`, `en`), as stored and sent.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// The language's own name, for switches.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Kk => "Қазақша",
            Lang::Ru => "Русский",
            Lang::En => "English",
        }
    }

    /// `kk`, `ru` or `en` (case-insensitive, a region such as `ru-KZ` allowed).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "kk" | "kz" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header (by its q-values); Russian
    /// when the browser names none of them.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::default();
        };
        let mut best: Option<(f32, Lang)> = None;
        for item in header.split(',').take(20) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// (lang, file name, text) of every bundled catalogue (see `build.rs`).
pub const CATALOGUES: &[(&str, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

type Table = HashMap<(Option<String>, String), String>;

fn tables() -> &'static HashMap<&'static str, Table> {
    static TABLES: OnceLock<HashMap<&'static str, Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut tables: HashMap<&'static str, Table> = HashMap::new();
        for (lang, file, text) in CATALOGUES {
            let table = tables.entry(lang).or_default();
            match polib::po_file::parse_from_reader(text.as_bytes()) {
                Ok(catalog) => {
                    for m in catalog.messages() {
                        if let Ok(s) = m.msgstr() {
                            if !s.is_empty() {
                                table.insert(
                                    (m.msgctxt().map(str::to_owned), m.msgid().to_owned()),
                                    s.to_owned(),
                                );
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(lang, file, error = %e, "a console catalogue cannot be read")
                }
            }
        }
        tables
    })
}

fn lookup(lang: Lang, context: Option<&str>, msgid: &'static str) -> &'static str {
    if lang == Lang::En {
        return msgid;
    }
    tables()
        .get(lang.code())
        .and_then(|t| t.get(&(context.map(str::to_owned), msgid.to_owned())))
        .map(String::as_str)
        .unwrap_or(msgid)
}

/// `msgid` (English) in `lang`; the English text where a translation is missing.
pub fn tr(lang: Lang, msgid: &'static str) -> &'static str {
    lookup(lang, None, msgid)
}

/// Like [`tr`], for a text whose meaning depends on a context (`msgctxt`).
pub fn trc(lang: Lang, context: &'static str, msgid: &'static str) -> &'static str {
    lookup(lang, Some(context), msgid)
}

/// `msgid` in `lang` with `{0}`, `{1}`, … replaced by `args`.
pub fn trf(lang: Lang, msgid: &'static str, args: &[&dyn std::fmt::Display]) -> String {
    fill(tr(lang, msgid), args)
}

/// Replaces `{0}`, `{1}`, … in `pattern` by `args`.
pub fn fill(pattern: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = pattern.to_string();
    for (i, arg) in args.iter().enumerate() {
        out = out.replace(&format!("{{{i}}}"), &arg.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(
            Lang::from_accept_language(Some("kk-KZ,kk;q=0.9,ru;q=0.8")),
            Lang::Kk
        );
        assert_eq!(
            Lang::from_accept_language(Some("de-DE,ru;q=0.5,en;q=0.7")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("fr")), Lang::Ru);
        assert_eq!(Lang::from_accept_language(None), Lang::Ru);
        assert_eq!(
            Lang::from_accept_language(Some("en;q=0,kk;q=0.1")),
            Lang::Kk
        );
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(fill("{0} of {1}", &[&3, &"ten"]), "3 of ten");
        assert_eq!(trf(Lang::En, "Due in {0} days", &[&4]), "Due in 4 days");
    }
}
