//! The e-government service-guide catalogue: data model, loading from a folder, validation (pure).
//!
//! A catalogue is a folder of text files:
//! - `categories.toml`: the categories (id, title in kk/ru/en, a large SVG icon), in display order;
//! - one TOML file per service (any other `*.toml`), in file-name order: what it gives, whether it
//!   is free, the official portal link, what to bring, and the steps, each with an illustration;
//! - the SVG illustrations the files name, e.g. `images/sms-code.svg`.
//!
//! It lives in the protocol crate because both sides use it: the kiosk loads and shows it, the
//! call-centre validates what an administrator publishes with this very code (`read_dir` then
//! [`Catalog::from_files`]), and kiosks download it as a [`crate::CatalogDocument`] whose files
//! are exactly the [`Files`] read here, images included, so a published catalogue is complete.
//! A catalogue with any problem is refused as a whole, with every problem listed by file, service
//! and step.
//!
//! Over 600 lines because the model, the loader and the validator are one unit both sides
//! share; the search is in `catalog/search.rs`, the tests in `catalog/tests.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Lang;

/// The file holding the categories; every other `*.toml` file is a service.
pub const CATEGORIES_FILE: &str = "categories.toml";

/// Hosts a portal link may point to (the host itself or a subdomain of it): the eGov portal,
/// the government's service pages (`www.gov.kz`, the signature centre `pki.gov.kz`, …) and the
/// state pension fund. A citizen follows these links on their own phone, so nothing else —
/// no link shorteners, no intermediaries' sites — is accepted.
pub const OFFICIAL_HOSTS: [&str; 3] = ["egov.kz", "gov.kz", "enpf.kz"];

/// Limits that keep every text on screen without scrolling, in the longest language.
pub mod limits {
    pub const TITLE: usize = 70;
    pub const SUMMARY: usize = 170;
    pub const GIVES: usize = 220;
    pub const FEE: usize = 220;
    pub const DOCUMENT: usize = 100;
    pub const DOCUMENTS: usize = 6;
    pub const STEP_TEXT: usize = 260;
    pub const STEPS: usize = 10;
    pub const CATEGORY_TITLE: usize = 40;
    /// An illustration is a drawing, not a photo: a few kilobytes of SVG.
    pub const IMAGE_BYTES: usize = 256 * 1024;
}

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

    /// Languages whose text is missing or blank.
    fn missing(&self) -> Vec<&'static str> {
        Lang::ALL
            .into_iter()
            .filter(|l| self.get(*l).trim().is_empty())
            .map(Lang::code)
            .collect()
    }

    /// The longest text, in characters, and its language.
    fn longest(&self) -> (usize, &'static str) {
        Lang::ALL
            .into_iter()
            .map(|l| (self.get(l).chars().count(), l.code()))
            .max()
            .unwrap_or((0, "kk"))
    }
}

/// A group of services shown as one large tile.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub title: Text,
    /// Path of an SVG file inside the catalogue folder, e.g. `images/icon-family.svg`.
    pub icon: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoriesFile {
    categories: Vec<Category>,
}

/// One step of a guide.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub text: Text,
    /// Path of an SVG file inside the catalogue folder, e.g. `images/sms-code.svg`.
    pub image: String,
}

/// One e-government service.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    /// The id of a category of `categories.toml`.
    pub category: String,
    /// Nothing to pay to anyone. When `false`, `fee` says what the state charges and how it is
    /// paid (a state duty on the portal); nobody else is ever to be paid either way.
    pub free: bool,
    #[serde(default)]
    pub fee: Option<Text>,
    /// The service's page on an official portal (see [`OFFICIAL_HOSTS`]); shown as a QR code.
    pub portal_url: String,
    pub title: Text,
    /// One or two sentences under the title.
    pub summary: Text,
    /// What the citizen gets in the end.
    pub gives: Text,
    /// What to bring, one item each.
    pub documents: Vec<Text>,
    pub steps: Vec<Step>,
}

/// The whole catalogue, validated, in display order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    pub categories: Vec<Category>,
    pub services: Vec<Service>,
    /// The SVG files of the catalogue by path (`images/sms-code.svg` → its text).
    pub images: BTreeMap<String, String>,
}

/// One problem found in a catalogue, located by file, service and step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the catalogue folder (or inside it, from [`Catalog::load_dir`]).
    pub file: PathBuf,
    /// The service's id, when the problem is in a service.
    pub service: Option<String>,
    /// The step, 1-based as a citizen counts them, when the problem is in a step.
    pub step: Option<usize>,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(service) = &self.service {
            write!(f, "service `{service}`: ")?;
        }
        if let Some(step) = self.step {
            write!(f, "step {step}: ")?;
        }
        f.write_str(&self.message)
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
    #[error(
        "cannot read the catalogue file {path}: {source} — catalogue files must be UTF-8 text"
    )]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the service catalogue has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// A catalogue's files by path relative to its folder, with `/` between folders
/// (`"categories.toml"`, `"01-address.toml"`, `"images/sms-code.svg"` → contents), as a folder
/// holds them and as the call-centre publishes them in a [`crate::CatalogDocument`].
pub type Files = BTreeMap<String, String>;

/// How deep [`read_dir`] looks into subfolders (`images/` is one level).
const MAX_DEPTH: usize = 3;

/// Reads every file a catalogue consists of — the `*.toml` files and the `*.svg` illustrations,
/// in subfolders too — from a folder. Hidden files and anything else are left out.
pub fn read_dir(dir: &Path) -> Result<Files, CatalogError> {
    let mut files = Files::new();
    read_into(dir, "", 0, &mut files)?;
    Ok(files)
}

fn read_into(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut Files,
) -> Result<(), CatalogError> {
    let folder = |source| CatalogError::Folder {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(folder)? {
        let path = entry.map_err(folder)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            if depth < MAX_DEPTH {
                read_into(&path, &format!("{relative}/"), depth + 1, files)?;
            }
            continue;
        }
        if !(name.ends_with(".toml") || name.ends_with(".svg")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::File {
            path: path.clone(),
            source,
        })?;
        files.insert(relative, text);
    }
    Ok(())
}

impl Catalog {
    /// Reads a catalogue folder and validates the whole. Problems name the file inside `dir`.
    pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let files = read_dir(dir)?;
        Catalog::from_files(&files).map_err(|e| match e {
            CatalogError::Invalid(problems) => CatalogError::Invalid(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        file: dir.join(p.file),
                        ..p
                    })
                    .collect(),
            ),
            other => other,
        })
    }

    /// Builds and validates a catalogue from its files; services come in file-name order.
    pub fn from_files(files: &Files) -> Result<Catalog, CatalogError> {
        let mut check = Checker {
            files,
            problems: Vec::new(),
            images: BTreeMap::new(),
        };
        let categories = check.categories();
        let mut services: Vec<(PathBuf, Service)> = Vec::new();
        let service_files: Vec<(&String, &String)> = files
            .iter()
            .filter(|(n, _)| n.ends_with(".toml") && n.as_str() != CATEGORIES_FILE)
            .collect();
        for &(name, text) in &service_files {
            let file = PathBuf::from(name);
            if let Some(service) = check.parse::<Service>(&file, text) {
                check.service(&file, &service, &categories);
                services.push((file, service));
            }
        }
        for (i, (file, service)) in services.iter().enumerate() {
            if let Some((first, _)) = services[..i].iter().find(|(_, s)| s.id == service.id) {
                check.problems.push(Problem {
                    file: file.clone(),
                    service: Some(service.id.clone()),
                    step: None,
                    message: format!("duplicate id: {} has it too", first.display()),
                });
            }
        }
        if service_files.is_empty() {
            check.problems.push(Problem {
                file: PathBuf::new(),
                service: None,
                step: None,
                message: "no service files (*.toml besides categories.toml) found".into(),
            });
        }
        // Only when every service file could be read, or a typo would hide a category's services.
        if let Some(categories) = categories
            .as_ref()
            .filter(|_| services.len() == service_files.len())
        {
            for category in categories {
                if !services.iter().any(|(_, s)| s.category == category.id) {
                    check.problems.push(Problem {
                        file: PathBuf::from(CATEGORIES_FILE),
                        service: None,
                        step: None,
                        message: format!(
                            "category `{}` has no services: remove it or add a service with \
                             category = \"{}\"",
                            category.id, category.id
                        ),
                    });
                }
            }
        }
        let Checker {
            problems, images, ..
        } = check;
        if !problems.is_empty() {
            return Err(CatalogError::Invalid(problems));
        }
        Ok(Catalog {
            categories: categories.unwrap_or_default(),
            services: services.into_iter().map(|(_, s)| s).collect(),
            images: images
                .into_iter()
                .filter(|(_, ok)| *ok)
                .filter_map(|(path, _)| files.get(&path).map(|text| (path, text.clone())))
                .collect(),
        })
    }

    /// Steps per service, in catalogue order.
    pub fn step_counts(&self) -> Vec<usize> {
        self.services.iter().map(|s| s.steps.len()).collect()
    }

    /// The position of a category in display order.
    pub fn category_index(&self, id: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.id == id)
    }

    /// The SVG text of an illustration or icon named by the catalogue.
    pub fn image(&self, path: &str) -> Option<&str> {
        self.images.get(path).map(String::as_str)
    }
}

/// Collects problems while the catalogue is read; each image is checked once.
struct Checker<'a> {
    files: &'a Files,
    problems: Vec<Problem>,
    /// Image path → whether it is a usable SVG.
    images: BTreeMap<String, bool>,
}

impl Checker<'_> {
    fn push(&mut self, file: &Path, service: Option<&str>, step: Option<usize>, message: String) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            service: service.map(str::to_string),
            step,
            message,
        });
    }

    /// Parses TOML; a problem names the line and the key.
    fn parse<T: serde::de::DeserializeOwned>(&mut self, file: &Path, text: &str) -> Option<T> {
        match serde_path_to_error::deserialize(toml::Deserializer::new(text)) {
            Ok(value) => Some(value),
            Err(e) => {
                let key = e.path().to_string();
                let line = e.inner().span().map(|span| {
                    let before = text.get(..span.start).unwrap_or(text);
                    before.matches('\n').count() + 1
                });
                let at = match (line, key.as_str()) {
                    (Some(line), ".") => format!("line {line}: "),
                    (Some(line), key) => format!("line {line}, key `{key}`: "),
                    (None, ".") => String::new(),
                    (None, key) => format!("key `{key}`: "),
                };
                let message = e.inner().message().trim().to_string();
                self.push(file, None, None, format!("cannot parse: {at}{message}"));
                None
            }
        }
    }

    fn categories(&mut self) -> Option<Vec<Category>> {
        let file = Path::new(CATEGORIES_FILE);
        let Some(text) = self.files.get(CATEGORIES_FILE) else {
            self.push(
                file,
                None,
                None,
                "missing: the catalogue needs a categories.toml with the categories \
                 (id, title, icon) the services belong to"
                    .into(),
            );
            return None;
        };
        let parsed: CategoriesFile = self.parse(file, text)?;
        if parsed.categories.is_empty() {
            self.push(file, None, None, "lists no categories".into());
        }
        for (i, category) in parsed.categories.iter().enumerate() {
            let what = format!("category `{}`", category.id);
            if !valid_id(&category.id) {
                self.push(
                    file,
                    None,
                    None,
                    format!("{what}: id must be lowercase Latin letters, digits and '-'"),
                );
            }
            if parsed.categories[..i].iter().any(|c| c.id == category.id) {
                self.push(file, None, None, format!("{what}: duplicate id"));
            }
            for message in text_problems("title", &category.title, limits::CATEGORY_TITLE) {
                self.push(file, None, None, format!("{what}: {message}"));
            }
            if let Some(message) = self.image(&category.icon) {
                self.push(file, None, None, format!("{what}: icon {message}"));
            }
        }
        Some(parsed.categories)
    }

    fn service(&mut self, file: &Path, s: &Service, categories: &Option<Vec<Category>>) {
        let id = Some(s.id.as_str());
        if !valid_id(&s.id) {
            self.push(
                file,
                id,
                None,
                "id must be lowercase Latin letters, digits and '-'".into(),
            );
        }
        if let Some(categories) = categories {
            if !categories.iter().any(|c| c.id == s.category) {
                let known: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
                self.push(
                    file,
                    id,
                    None,
                    format!(
                        "unknown category `{}`: categories.toml has {}",
                        s.category,
                        known.join(", ")
                    ),
                );
            }
        }
        for (name, text, limit) in [
            ("title", &s.title, limits::TITLE),
            ("summary", &s.summary, limits::SUMMARY),
            ("gives", &s.gives, limits::GIVES),
        ] {
            for message in text_problems(name, text, limit) {
                self.push(file, id, None, message);
            }
        }
        match (&s.fee, s.free) {
            (None, false) => self.push(
                file,
                id,
                None,
                "free = false needs a `fee` saying what the state charges and how it is paid"
                    .into(),
            ),
            (Some(_), true) => self.push(
                file,
                id,
                None,
                "free = true but a `fee` is given: a free service costs nothing, remove the fee \
                 or set free = false"
                    .into(),
            ),
            (Some(fee), false) => {
                for message in text_problems("fee", fee, limits::FEE) {
                    self.push(file, id, None, message);
                }
            }
            (None, true) => {}
        }
        if let Err(why) = official_link(&s.portal_url) {
            self.push(
                file,
                id,
                None,
                format!("portal_url `{}`: {why}", s.portal_url),
            );
        }
        if s.documents.is_empty() {
            self.push(
                file,
                id,
                None,
                "`documents` is empty: say what to bring (at least the ID card)".into(),
            );
        }
        if s.documents.len() > limits::DOCUMENTS {
            self.push(
                file,
                id,
                None,
                format!(
                    "{} documents to bring; at most {} fit on the screen",
                    s.documents.len(),
                    limits::DOCUMENTS
                ),
            );
        }
        for (i, document) in s.documents.iter().enumerate() {
            for message in text_problems(&format!("document {}", i + 1), document, limits::DOCUMENT)
            {
                self.push(file, id, None, message);
            }
        }
        if s.steps.is_empty() {
            self.push(file, id, None, "the step list is empty".into());
        }
        if s.steps.len() > limits::STEPS {
            self.push(
                file,
                id,
                None,
                format!(
                    "{} steps; at most {} (split the guide in two)",
                    s.steps.len(),
                    limits::STEPS
                ),
            );
        }
        for (i, step) in s.steps.iter().enumerate() {
            for message in text_problems("text", &step.text, limits::STEP_TEXT) {
                self.push(file, id, Some(i + 1), message);
            }
            if let Some(message) = self.image(&step.image) {
                self.push(file, id, Some(i + 1), format!("image {message}"));
            }
        }
    }

    /// Checks an image path and its file once; `Some(problem)` if it cannot be shown.
    fn image(&mut self, path: &str) -> Option<String> {
        let shown = format!("`{path}`");
        if path.trim().is_empty() {
            return Some("is empty: name an SVG file such as images/sms-code.svg".into());
        }
        let inside = !path.starts_with('/')
            && !path.contains('\\')
            && path
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !inside || !path.ends_with(".svg") {
            return Some(format!(
                "{shown} must be a relative path to an .svg file inside the catalogue folder, \
                 such as images/sms-code.svg"
            ));
        }
        let Some(text) = self.files.get(path) else {
            return Some(format!("{shown} is missing from the catalogue folder"));
        };
        let verdict = svg_problem(text);
        self.images.insert(path.to_string(), verdict.is_none());
        verdict.map(|why| format!("{shown} cannot be shown: {why}"))
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit())
}

/// Missing or blank translations and texts too long for the screen.
fn text_problems(name: &str, text: &Text, limit: usize) -> Vec<String> {
    let mut problems: Vec<String> = text
        .missing()
        .into_iter()
        .map(|lang| format!("`{name}` has no `{lang}` text (missing or empty)"))
        .collect();
    let (longest, lang) = text.longest();
    if longest > limit {
        problems.push(format!(
            "`{name}` in `{lang}` is {longest} characters; at most {limit} fit on the screen"
        ));
    }
    problems
}

/// Whether a link is an https URL on an official host; `Err` says why not.
pub fn official_link(link: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(link).map_err(|e| format!("not a URL ({e})"))?;
    if url.scheme() != "https" {
        return Err(format!("must start with https://, not {}://", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.port().is_some() {
        return Err("must not name a port".into());
    }
    let Some(url::Host::Domain(host)) = url.host() else {
        return Err("must name an official host, not an IP address".into());
    };
    let host = host.to_ascii_lowercase();
    let official = OFFICIAL_HOSTS
        .iter()
        .any(|o| host == *o || host.ends_with(&format!(".{o}")));
    if !official {
        return Err(format!(
            "{host} is not an official host (allowed: {} and their subdomains)",
            OFFICIAL_HOSTS.join(", ")
        ));
    }
    Ok(url)
}

/// Elements an illustration must not contain: scripts and anything that loads other files or
/// needs fonts the kiosk may lack (draw shapes instead of text).
const FORBIDDEN_ELEMENTS: [&str; 6] = ["script", "foreignObject", "image", "text", "iframe", "use"];

/// Why an SVG cannot be shown, or `None` when it is a well-formed, self-contained drawing.
fn svg_problem(text: &str) -> Option<String> {
    if text.len() > limits::IMAGE_BYTES {
        return Some(format!(
            "{} KiB; an illustration must be at most {} KiB",
            text.len() / 1024,
            limits::IMAGE_BYTES / 1024
        ));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = match roxmltree::Document::parse_with_options(text, options) {
        Ok(doc) => doc,
        Err(e) => return Some(format!("not well-formed XML ({e})")),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        return Some(format!(
            "the root element is <{}>, expected <svg>",
            root.tag_name().name()
        ));
    }
    if root.tag_name().namespace() != Some("http://www.w3.org/2000/svg") {
        return Some("the <svg> element lacks xmlns=\"http://www.w3.org/2000/svg\"".into());
    }
    if root.attribute("viewBox").is_none() {
        return Some("the <svg> element has no viewBox, so it cannot be scaled".into());
    }
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        if FORBIDDEN_ELEMENTS.contains(&name) {
            return Some(format!(
                "it uses <{name}>; an illustration must be plain shapes (no text, scripts or \
                 references to other files)"
            ));
        }
        if node.attributes().any(|a| {
            a.name() == "href" || a.value().contains("url(http") || a.value().contains("url(file")
        }) {
            return Some(format!("<{name}> refers to another file or a web address"));
        }
    }
    None
}

mod search;

#[cfg(test)]
mod tests;
