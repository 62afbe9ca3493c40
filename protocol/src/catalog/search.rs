//! Search over the catalogue's services, as a citizen types it on the kiosk: every typed word
//! must appear, in any of the three languages, whatever its case or "ё".

use super::Catalog;
use crate::Lang;

/// Lowercase with "ё" as "е", so a search finds words however they are typed.
fn fold(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

impl Catalog {
    /// The positions of the services whose title, summary, what they give or category name
    /// contain every word of `query`, in any of the three languages (a citizen may type in
    /// Russian on a Kazakh screen), in catalogue order. A blank query finds every service.
    pub fn search(&self, query: &str) -> Vec<usize> {
        let words: Vec<String> = fold(query).split_whitespace().map(str::to_string).collect();
        self.services
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                let category = self.categories.iter().find(|c| c.id == s.category);
                let haystack = fold(
                    &Lang::ALL
                        .iter()
                        .flat_map(|l| {
                            [
                                s.title.get(*l),
                                s.summary.get(*l),
                                s.gives.get(*l),
                                category.map_or("", |c| c.title.get(*l)),
                            ]
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
                words.iter().all(|w| haystack.contains(w.as_str()))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn shipped() -> Catalog {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/services");
        Catalog::load_dir(&dir).expect("shipped catalogue")
    }

    fn ids(catalog: &Catalog, found: &[usize]) -> Vec<String> {
        found
            .iter()
            .map(|i| catalog.services[*i].id.clone())
            .collect()
    }

    #[test]
    fn search_finds_services_in_any_language_and_case() {
        let catalog = shipped();
        for query in ["эцп", "ЭЦҚ", "electronic signature"] {
            let found = ids(&catalog, &catalog.search(query));
            assert!(
                found.contains(&"eds-issue".to_string()),
                "{query}: {found:?}"
            );
            assert!(
                found.contains(&"eds-renew".to_string()),
                "{query}: {found:?}"
            );
        }
        // "ё" typed or not, every word must match.
        assert_eq!(
            ids(&catalog, &catalog.search("ребёнка рождение")),
            ids(&catalog, &catalog.search("ребенка рождение"))
        );
        let birth = ids(&catalog, &catalog.search("регистрация рождения"));
        assert!(
            birth.contains(&"birth-registration".to_string()),
            "{birth:?}"
        );
        assert!(!birth.contains(&"driving-licence".to_string()), "{birth:?}");
        assert!(catalog.search("жжжж").is_empty());
        assert_eq!(catalog.search("  ").len(), catalog.services.len());
    }
}
