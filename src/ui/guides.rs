//! The service guides' block (`GuideAdapter`): categories, lists and search results, a
//! service, its steps and the rating, and the callbacks of those pages.

use std::rc::Rc;

use slint::{ComponentHandle, SharedString};

use super::{count, set_rows, AppWindow, CatalogView, CategoryTile, GuideAdapter, Rating};
use super::{ServiceTile, Sink};
use crate::flow::{self, Event, Flow, Lang, Screen as FlowScreen};

/// A step text longer than this is set a size smaller (see `GuideAdapter.step-text-long`).
const LONG_STEP_TEXT: usize = 150;

pub(super) fn map_rating(rating: Rating) -> flow::Rating {
    match rating {
        Rating::Bad => flow::Rating::Bad,
        Rating::Neutral => flow::Rating::Neutral,
        Rating::Good => flow::Rating::Good,
    }
}

fn service_tile(view: &CatalogView, lang: Lang, index: usize) -> Option<ServiceTile> {
    let s = view.catalog().services.get(index)?;
    Some(ServiceTile {
        index: count(index),
        title: s.title.get(lang).into(),
        summary: s.summary.get(lang).into(),
        free: s.free,
        steps: count(s.steps.len()),
        icon: view.category_icon(&s.category),
    })
}

/// The tiles of the guides' home screen.
pub fn category_tiles(view: &CatalogView, lang: Lang) -> Vec<CategoryTile> {
    let catalog = view.catalog();
    catalog
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| CategoryTile {
            index: count(i),
            title: c.title.get(lang).into(),
            icon: view.image(&c.icon),
            count: count(
                catalog
                    .services
                    .iter()
                    .filter(|s| s.category == c.id)
                    .count(),
            ),
        })
        .collect()
}

/// "https://www.gov.kz/services/3009" → "www.gov.kz/services/3009".
fn portal_shown(url: &str) -> String {
    let bare = url.strip_prefix("https://").unwrap_or(url);
    bare.strip_suffix('/').unwrap_or(bare).to_string()
}

pub(super) fn apply(window: &AppWindow, flow: &Flow, view: &CatalogView) {
    let guide = window.global::<GuideAdapter>();
    let lang = flow.lang();
    let catalog = view.catalog();

    let categories = match flow.screen() {
        FlowScreen::GuideCategories => category_tiles(view, lang),
        _ => Vec::new(),
    };
    set_rows(guide.get_categories(), categories, |m| {
        guide.set_categories(m)
    });

    let (listed, query, keyboard, category) = match flow.screen() {
        FlowScreen::GuideCatalog { category } => {
            let id = catalog.categories.get(*category).map(|c| c.id.as_str());
            let listed = (0..catalog.services.len())
                .filter(|i| Some(catalog.services[*i].category.as_str()) == id)
                .collect();
            (listed, "", false, catalog.categories.get(*category))
        }
        FlowScreen::GuideSearch { query, keyboard } => {
            (catalog.search(query), query.as_str(), *keyboard, None)
        }
        _ => (Vec::new(), "", false, None),
    };
    let tiles = listed
        .into_iter()
        .filter_map(|i| service_tile(view, lang, i))
        .collect();
    set_rows(guide.get_services(), tiles, |m| guide.set_services(m));
    guide.set_list_title(category.map(|c| c.title.get(lang)).unwrap_or("").into());
    guide.set_list_icon(category.map(|c| view.image(&c.icon)).unwrap_or_default());
    guide.set_keyboard(keyboard);
    guide.set_search_text(query.into());

    let (service, step, consultant) = match flow.screen() {
        FlowScreen::GuideService { service } | FlowScreen::GuideRating { service } => {
            (Some(*service), 0, false)
        }
        FlowScreen::GuideStep {
            service,
            step,
            consultant_called,
        } => (Some(*service), *step, *consultant_called),
        _ => (None, 0, false),
    };
    let s = service.and_then(|i| catalog.services.get(i));
    let text = |f: &dyn Fn(&crate::catalog::Service) -> &str| -> SharedString {
        s.map(f).unwrap_or_default().into()
    };
    guide.set_title(text(&|s| s.title.get(lang)));
    guide.set_summary(text(&|s| s.summary.get(lang)));
    guide.set_gives(text(&|s| s.gives.get(lang)));
    let documents: Vec<SharedString> = s
        .map(|s| s.documents.iter().map(|d| d.get(lang).into()).collect())
        .unwrap_or_default();
    set_rows(guide.get_documents(), documents, |m| guide.set_documents(m));
    guide.set_free(s.is_none_or(|s| s.free));
    guide.set_fee(text(&|s| s.fee.as_ref().map_or("", |f| f.get(lang))));
    guide.set_portal_shown(
        s.map(|s| portal_shown(&s.portal_url))
            .unwrap_or_default()
            .into(),
    );
    guide.set_icon(
        s.map(|s| view.category_icon(&s.category))
            .unwrap_or_default(),
    );
    let current = s.and_then(|s| s.steps.get(step));
    let step_text = current.map_or("", |st| st.text.get(lang));
    guide.set_step(count(step));
    guide.set_step_count(count(s.map_or(0, |s| s.steps.len())));
    guide.set_step_text(step_text.into());
    guide.set_step_text_long(step_text.chars().count() > LONG_STEP_TEXT);
    guide.set_step_image(current.map(|st| view.image(&st.image)).unwrap_or_default());
    let on_steps = matches!(flow.screen(), FlowScreen::GuideStep { .. });
    guide.set_qr(match service {
        Some(i) if on_steps => view.qr(i),
        _ => slint::Image::default(),
    });
    guide.set_consultant_called(consultant);
}

pub(super) fn connect(window: &AppWindow, send: &Sink) {
    let on = |event: Event| {
        let send = send.clone();
        move || send(event.clone())
    };
    let guide = window.global::<GuideAdapter>();
    {
        let send = send.clone();
        guide.on_select_category(move |i| {
            if let Ok(i) = usize::try_from(i) {
                send(Event::SelectCategory(i));
            }
        });
    }
    guide.on_open_search(on(Event::SearchOpen));
    {
        let send = send.clone();
        let weak = window.as_weak();
        guide.on_search_key(move |key| {
            if let Some(w) = weak.upgrade() {
                let text = w.global::<GuideAdapter>().get_search_text();
                send(Event::SearchText(format!("{text}{key}")));
            }
        });
    }
    {
        let send = send.clone();
        let weak = window.as_weak();
        guide.on_search_backspace(move || {
            if let Some(w) = weak.upgrade() {
                let mut text = w.global::<GuideAdapter>().get_search_text().to_string();
                text.pop();
                send(Event::SearchText(text));
            }
        });
    }
    {
        let send = send.clone();
        guide.on_select(move |i| {
            if let Ok(i) = usize::try_from(i) {
                send(Event::SelectService(i));
            }
        });
    }
    guide.on_next(on(Event::GuideNext));
    guide.on_call_consultant(on(Event::CallConsultant));
    {
        let send = Rc::clone(send);
        guide.on_rate(move |rating| send(Event::Rate(map_rating(rating))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_link_is_shown_without_the_scheme() {
        assert_eq!(
            portal_shown("https://www.gov.kz/services/3009"),
            "www.gov.kz/services/3009"
        );
        assert_eq!(portal_shown("https://egov.kz/"), "egov.kz");
    }
}
