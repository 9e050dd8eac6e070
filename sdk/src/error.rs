//! The SDK's one error type.

/// What can go wrong on the plugin side of the boundary: in a plugin's own
/// code, in a call back into the host, or while decoding what crossed.
///
/// A handler that returns `Err` stops the host's pipeline like a veto does,
/// but it is reported as a failure of the plugin rather than a business
/// decision: use [`Outcome::Veto`](crate::Outcome::Veto) to reject an event,
/// and an error when the plugin could not do its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The plugin's `[[plugins]] config` table does not suit the plugin.
    #[error("invalid plugin config: {0}")]
    Config(String),
    /// The plugin could not do its work (a peer was down, a file could not
    /// be written...).
    #[error("{0}")]
    Failed(String),
    /// A call back into the host failed; the message is the host's.
    #[error("host call `{call}` failed: {message}")]
    Host {
        /// The [`HostApi`](crate::HostApi) method.
        call: &'static str,
        /// The host's error message.
        message: String,
    },
    /// A host callback was made when the host cannot serve it: outside an
    /// event handler, or from a thread other than the one handling the event.
    #[error(
        "host call `{0}` is only available on the thread that is handling an event, while it does"
    )]
    HostUnavailable(&'static str),
    /// Bytes that crossed the boundary could not be decoded.
    #[error("cannot decode {what}: {message}")]
    Decode {
        /// What was being decoded (`event`, `customer`...).
        what: &'static str,
        /// The decoder's message.
        message: String,
    },
    /// The two sides of the boundary do not speak the same ABI.
    #[error("{0}")]
    Abi(String),
    /// A patch (`abi::patch`) names another kind of event or record than
    /// the one it was applied to.
    #[error("a patch for a {found} cannot apply to a {expected}")]
    PatchMismatch {
        /// What the patch was applied to (`case record`, `before_save event`).
        expected: String,
        /// What the patch is for.
        found: String,
    },
    /// Code on the other side of the boundary panicked; the panic was caught.
    #[error("panicked: {0}")]
    Panic(String),
}

impl Error {
    /// A failure with `message`, for plugin code: `Err(Error::failed("peer down"))`.
    pub fn failed(message: impl std::fmt::Display) -> Error {
        Error::Failed(message.to_string())
    }

    /// A config error with `message`.
    pub fn config(message: impl std::fmt::Display) -> Error {
        Error::Config(message.to_string())
    }
}

/// Shorthand for results in this crate and in plugins.
pub type Result<T, E = Error> = std::result::Result<T, E>;
