//! The agent desktop and the customer chat widget in headless Chromium,
//! against a real `dossier serve` on a temp store, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`). They run when
//! `DOSSIER_BROWSER_TESTS=1` (`.ci/run` sets it and installs Chromium);
//! otherwise each test says how to enable it and passes without a browser.
//!
//! Each journey saves screenshots under `target/browser/`.

#[allow(dead_code)]
#[path = "../it/util.rs"]
mod util;

mod email;
mod french;
mod journeys;
mod rig;
mod wallboard;
