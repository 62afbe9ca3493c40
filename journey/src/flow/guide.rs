//! The service guides: categories, search, a service's page, its steps, the consultant call
//! and the rating, with the usage figures of each run of a guide.

use super::event::{Effect, Event, GuideUsage};
use super::screen::Screen;
use super::session::GuideRun;
use super::Flow;

/// The longest search typed on the on-screen keyboard.
pub(super) const SEARCH_MAX: usize = 40;

impl Flow {
    /// The guide screens.
    pub(super) fn guide_event(
        &mut self,
        screen: Screen,
        event: Event,
        fx: &mut Vec<Effect>,
    ) -> Screen {
        match (screen, event) {
            (Screen::GuideCategories, Event::SelectCategory(category)) => {
                if category < self.config.guides.categories {
                    self.session_mut().guide_search = None;
                    Screen::GuideCatalog { category }
                } else {
                    Screen::GuideCategories
                }
            }
            (Screen::GuideCategories, Event::SearchOpen) => Screen::GuideSearch {
                query: String::new(),
                keyboard: true,
            },
            (Screen::GuideCategories, Event::Back) => Screen::Menu,
            (Screen::GuideCatalog { .. }, Event::Back) => Screen::GuideCategories,
            (Screen::GuideSearch { query, .. }, Event::SearchOpen) => Screen::GuideSearch {
                query,
                keyboard: true,
            },
            (Screen::GuideSearch { keyboard, .. }, Event::SearchText(text)) => {
                Screen::GuideSearch {
                    query: text.chars().take(SEARCH_MAX).collect(),
                    keyboard,
                }
            }
            (
                Screen::GuideSearch {
                    query,
                    keyboard: true,
                },
                Event::Back,
            ) => Screen::GuideSearch {
                query,
                keyboard: false,
            },
            (
                Screen::GuideSearch {
                    keyboard: false, ..
                },
                Event::Back,
            ) => Screen::GuideCategories,
            (
                screen @ (Screen::GuideCatalog { .. } | Screen::GuideSearch { .. }),
                Event::SelectService(service),
            ) => {
                if self.guide_steps(service) == 0 {
                    screen
                } else {
                    self.session_mut().guide_search = match screen {
                        Screen::GuideSearch { query, .. } => Some(query),
                        _ => None,
                    };
                    Screen::GuideService { service }
                }
            }
            (Screen::GuideService { service }, Event::Back) => self.back_from_service(service),
            (Screen::GuideService { service }, Event::GuideNext) => {
                self.start_guide(service, fx);
                Screen::GuideStep {
                    service,
                    step: 0,
                    consultant_called: false,
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called,
                },
                Event::GuideNext,
            ) => {
                if step + 1 >= self.guide_steps(service) {
                    fx.push(Effect::Usage(GuideUsage::Completed { service }));
                    if let Some(run) = self.session.as_mut().and_then(|s| s.guide_run.as_mut()) {
                        run.completed = true;
                    }
                    Screen::GuideRating { service }
                } else {
                    self.note_step(service, step + 1, fx);
                    Screen::GuideStep {
                        service,
                        step: step + 1,
                        consultant_called,
                    }
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called,
                },
                Event::Back,
            ) => {
                if step == 0 {
                    Screen::GuideService { service }
                } else {
                    self.note_step(service, step - 1, fx);
                    Screen::GuideStep {
                        service,
                        step: step - 1,
                        consultant_called,
                    }
                }
            }
            (
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called: false,
                },
                Event::CallConsultant,
            ) => {
                fx.push(Effect::Usage(GuideUsage::ConsultantCalled {
                    service,
                    step,
                }));
                if let Some(guide) = self.config.guides.services.get(service) {
                    fx.push(Effect::CallConsultant {
                        service_id: guide.id.clone(),
                        step: step + 1,
                    });
                }
                Screen::GuideStep {
                    service,
                    step,
                    consultant_called: true,
                }
            }
            (Screen::GuideRating { service }, Event::Rate(rating)) => {
                fx.push(Effect::Usage(GuideUsage::Rated { service, rating }));
                self.reset(fx)
            }
            (screen, _) => screen,
        }
    }

    fn guide_steps(&self, service: usize) -> usize {
        self.config
            .guides
            .services
            .get(service)
            .map_or(0, |g| g.steps)
    }

    /// A guide left unfinished (another guide started, the session ended) is recorded as
    /// abandoned at the step the citizen saw last.
    pub(super) fn abandon_guide(&mut self, fx: &mut Vec<Effect>) {
        let run = self.session.as_mut().and_then(|s| s.guide_run.take());
        if let Some(run) = run.filter(|r| !r.completed) {
            fx.push(Effect::Usage(GuideUsage::Abandoned {
                service: run.service,
                step: run.at,
            }));
        }
    }

    /// "Show me the steps": starts a run of this guide, or goes on with the one under way.
    fn start_guide(&mut self, service: usize, fx: &mut Vec<Effect>) {
        let current = self.session.as_ref().and_then(|s| s.guide_run);
        match current {
            Some(run) if run.service == service && !run.completed => {
                self.note_step(service, 0, fx);
            }
            _ => {
                self.abandon_guide(fx);
                fx.push(Effect::Usage(GuideUsage::Started { service }));
                fx.push(Effect::Usage(GuideUsage::StepReached { service, step: 0 }));
                self.session_mut().guide_run = Some(GuideRun {
                    service,
                    at: 0,
                    furthest: 0,
                    completed: false,
                });
            }
        }
    }

    /// The citizen now sees `step`; a step never reached before is a usage figure.
    fn note_step(&mut self, service: usize, step: usize, fx: &mut Vec<Effect>) {
        let Some(run) = self.session.as_mut().and_then(|s| s.guide_run.as_mut()) else {
            return;
        };
        if run.service != service {
            return;
        }
        run.at = step;
        if step > run.furthest {
            run.furthest = step;
            fx.push(Effect::Usage(GuideUsage::StepReached { service, step }));
        }
    }

    /// Where "Back" from a service's page leads: the search it came from, or its category.
    fn back_from_service(&self, service: usize) -> Screen {
        match self.session.as_ref().and_then(|s| s.guide_search.clone()) {
            Some(query) => Screen::GuideSearch {
                query,
                keyboard: false,
            },
            None => match self.config.guides.services.get(service) {
                Some(g) if g.category < self.config.guides.categories => Screen::GuideCatalog {
                    category: g.category,
                },
                _ => Screen::GuideCategories,
            },
        }
    }
}
