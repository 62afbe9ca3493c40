//! The e-government service-guide catalogue: data model, loading from TOML, validation (pure).
//!
//! One TOML file per service under `config/services/`. Every text exists in Kazakh, Russian
//! and English; a catalogue with any problem is refused as a whole with every problem listed.
//! It lives in the protocol crate because both sides use it: the kiosk loads and shows it, the
//! call-centre validates what an administrator publishes with this very code, and kiosks
//! download it as a [`crate::CatalogDocument`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Lang;

/// A text in the three kiosk languages.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Text {
    #[serde(default)]
    pub kk: String,
    #[serde(default)]
    pub ru: String,
    #[serde(default)]
    pub en: String,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Kk => &self.kk,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }

    fn missing(&self) -> Vec<&'static str> {
        Lang::ALL
            .into_iter()
            .filter(|l| self.get(*l).trim().is_empty())
            .map(Lang::code)
            .collect()
    }
}

/// One step of a guide.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub text: Text,
}

/// One e-government service.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub category: String,
    pub free: bool,
    pub portal_url: String,
    pub title: Text,
    pub summary: Text,
    pub documents: Text,
    pub steps: Vec<Step>,
}

/// The whole catalogue, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    pub services: Vec<Service>,
}

/// One problem found in a catalogue, located by file and service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// Why a catalogue was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the catalogue folder {path}: {source} — check kiosk.catalog_dir")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the catalogue file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the service catalogue has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// A catalogue's files by path relative to its folder (`"01-address.toml"` → contents), as a
/// folder holds them and as the call-centre publishes them in a [`crate::CatalogDocument`].
pub type Files = BTreeMap<String, String>;

/// Reads every file a catalogue consists of (the `*.toml` service files) from a folder.
pub fn read_dir(dir: &Path) -> Result<Files, CatalogError> {
    let folder = |source| CatalogError::Folder {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Files::new();
    for entry in std::fs::read_dir(dir).map_err(folder)? {
        let path = entry.map_err(folder)?.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::File {
            path: path.clone(),
            source,
        })?;
        files.insert(name.to_string(), text);
    }
    Ok(files)
}

impl Catalog {
    /// Loads every `*.toml` file of a folder, sorted by file name, and validates the whole.
    /// Problems name the file inside `dir`.
    pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let files = read_dir(dir)?;
        Catalog::from_files(&files).map_err(|e| match e {
            CatalogError::Invalid(problems) => CatalogError::Invalid(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        file: dir.join(p.file),
                        message: p.message,
                    })
                    .collect(),
            ),
            other => other,
        })
    }

    /// Builds and validates a catalogue from its files; services come in file-name order.
    pub fn from_files(files: &Files) -> Result<Catalog, CatalogError> {
        let mut problems = Vec::new();
        let mut services: Vec<(PathBuf, Service)> = Vec::new();
        for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".toml")) {
            let file = PathBuf::from(name);
            match toml::from_str::<Service>(text) {
                Err(e) => problems.push(Problem {
                    file,
                    message: e.message().trim().to_string(),
                }),
                Ok(service) => {
                    problems.extend(validate(&service).into_iter().map(|message| Problem {
                        file: file.clone(),
                        message,
                    }));
                    services.push((file, service));
                }
            }
        }
        for (i, (file, service)) in services.iter().enumerate() {
            if services[..i].iter().any(|(_, s)| s.id == service.id) {
                problems.push(Problem {
                    file: file.clone(),
                    message: format!("service `{}`: duplicate id", service.id),
                });
            }
        }
        if services.is_empty() && problems.is_empty() {
            problems.push(Problem {
                file: PathBuf::new(),
                message: "no service files (*.toml) found".into(),
            });
        }
        if !problems.is_empty() {
            return Err(CatalogError::Invalid(problems));
        }
        Ok(Catalog {
            services: services.into_iter().map(|(_, s)| s).collect(),
        })
    }

    /// Steps per service, for the journey.
    pub fn step_counts(&self) -> Vec<usize> {
        self.services.iter().map(|s| s.steps.len()).collect()
    }
}

fn validate(s: &Service) -> Vec<String> {
    let mut problems = Vec::new();
    let id = &s.id;
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
    {
        problems.push(format!(
            "service `{id}`: id must be lowercase letters, digits and '-'"
        ));
    }
    for (name, text) in [
        ("title", &s.title),
        ("summary", &s.summary),
        ("documents", &s.documents),
    ] {
        for lang in text.missing() {
            problems.push(format!(
                "service `{id}`: {name} has no `{lang}` translation"
            ));
        }
    }
    if !s.portal_url.starts_with("https://") || s.portal_url.contains(char::is_whitespace) {
        problems.push(format!(
            "service `{id}`: portal_url must be an https:// link"
        ));
    }
    if s.steps.is_empty() {
        problems.push(format!("service `{id}`: the step list is empty"));
    }
    for (i, step) in s.steps.iter().enumerate() {
        for lang in step.text.missing() {
            problems.push(format!(
                "service `{id}`: step {} has no `{lang}` translation",
                i + 1
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_is_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services");
        let catalog = Catalog::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(catalog.services.len() >= 2);
        assert!(catalog.step_counts().iter().all(|n| *n > 0));
    }

    #[test]
    fn broken_service_lists_every_problem_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            r#"id = "Bad Id"
category = "x"
free = true
portal_url = "egov.kz"
title = { kk = "", ru = "р", en = "e" }
summary = { kk = "к", ru = "р", en = "e" }
documents = { kk = "к", ru = "р", en = "e" }
steps = []
"#,
        )
        .unwrap();
        let err = Catalog::load_dir(dir.path()).unwrap_err().to_string();
        for needle in [
            "a.toml",
            "id must be",
            "title has no `kk`",
            "https://",
            "step list is empty",
        ] {
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
