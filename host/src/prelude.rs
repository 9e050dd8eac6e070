//! The channels' operations on the runtime, as extension traits: what a
//! module of the facade imports (`use crate::prelude::*;`) to call them.
//! The runtime lives in `dossier-core`, which names no channel; each
//! channel crate adds its operations with traits of its own.

#[cfg(feature = "chat")]
pub(crate) use dossier_chat::prelude::*;
#[cfg(feature = "email")]
pub(crate) use dossier_email::prelude::*;
pub(crate) use dossier_interact::prelude::*;
