//! The service-guide catalogue as the running kiosk holds it: the one in use, and one from the
//! call-centre waiting for the kiosk to be between citizens.

use std::cell::RefCell;

use super::{post, App};
use crate::catalog::Catalog;
use crate::flow::{Event, GuideShape};
use crate::sync;
use crate::ui::CatalogView;

pub(super) struct Catalogs {
    /// The catalogue on screen, with its drawings decoded on first use.
    pub view: RefCell<CatalogView>,
    /// A catalogue from the call-centre, waiting for the kiosk to be at rest.
    pending: RefCell<Option<Catalog>>,
    /// The installed catalogue version in use or waiting (`None`: the shipped one).
    version: RefCell<Option<String>>,
}

impl Catalogs {
    pub fn new(shipped: Catalog) -> Catalogs {
        Catalogs {
            view: RefCell::new(CatalogView::new(shipped)),
            pending: RefCell::new(None),
            version: RefCell::new(None),
        }
    }
}

impl App {
    /// A catalogue version from the call-centre is installed: load and validate it on a thread
    /// of its own (the store thread is for commits), then let the flow switch between citizens.
    pub(super) fn catalog_installed(&self, version: &str) {
        if self.catalogs.version.borrow().as_deref() == Some(version) {
            return;
        }
        *self.catalogs.version.borrow_mut() = Some(version.to_string());
        let (data_dir, version) = (self.config.store.data_dir.clone(), version.to_string());
        let spawned = std::thread::Builder::new()
            .name("senim-catalog".into())
            .spawn(move || match sync::catalog::load(&data_dir, &version) {
                Ok(catalog) => post(move |app| {
                    app.speech.prepare_steps(&catalog);
                    let shape = GuideShape::of(&catalog);
                    *app.catalogs.pending.borrow_mut() = Some(catalog);
                    app.dispatch(Event::CatalogReady(shape));
                }),
                Err(e) => tracing::error!(
                    error = %e,
                    "the installed catalogue does not load; the kiosk keeps the one it has"
                ),
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start loading the installed catalogue");
            // Let the next report try again.
            self.catalogs.version.borrow_mut().take();
        }
    }

    /// The flow is at rest: the waiting catalogue goes on screen.
    pub(super) fn switch_catalog(&self) {
        if let Some(catalog) = self.catalogs.pending.borrow_mut().take() {
            tracing::info!(
                services = catalog.services.len(),
                "service catalogue switched"
            );
            *self.catalogs.view.borrow_mut() = CatalogView::new(catalog);
        }
    }
}
