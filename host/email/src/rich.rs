//! Rich text beyond email drafts: notes and FAQ entries take the same
//! sanitized HTML and inline images as drafts when `[email] rich_text` is
//! on, and are refused HTML, naming the setting, when it is off.
//!
//! What is kept is always the sanitized HTML (`parse::html::sanitize`, the
//! drafts' sanitizer) and a text version: the one given, else the one
//! derived from the HTML as inbound mail's is (`parse::html::to_text`).
//! Inline images are stored as blobs referenced by the follow-up, listed as
//! its attachments with a Content-ID the HTML names (`cid:…`), exactly as a
//! sent draft's are.

use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use regex::Regex;

use dossier_core::events::Ctx;
use dossier_core::runtime::Runtime;
use dossier_sdk::{Attachment, FollowUp, FollowUpKind, NewFollowUp};
use dossier_types::{Error, Result};

use crate::drafts::{MAX_INLINE_IMAGE, fit_image};
use crate::parse::html;

/// What a refusal says when rich text is off.
pub const RICH_TEXT_OFF: &str = "rich text is off ([email] rich_text = false)";

/// An image to show inside a note's HTML: its HTML places it where it
/// names `cid:NAME`, else it is added at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// Its file name.
    pub name: String,
    /// Its bytes (PNG or JPEG, at most 10 MB).
    pub bytes: Vec<u8>,
    /// Its alt text.
    pub alt: String,
}

/// `<img … src="data:image/png;base64,…">`: a picture pasted into HTML.
static DATA_URI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)src\s*=\s*["']data:image/(png|jpe?g);base64,([A-Za-z0-9+/=\s]*)["']"#).ok()
});

/// Rich text on the runtime: `use dossier_email::prelude::*;` to call it.
pub trait RichText {
    /// `html` sanitized for keeping in `what` (a field name used in the
    /// refusal): refused with `Error::InvalidInput` naming `[email]
    /// rich_text` when rich text is off.
    fn rich_html(&self, what: &str, html: &str) -> Result<String>;

    /// Adds `new` with its HTML sanitized and `images` stored as blobs it
    /// references. HTML or images on a note need `[email] rich_text`; a
    /// follow-up of another kind (an email recorded by an embedder) has
    /// its HTML sanitized whatever the setting. Images pasted into the HTML
    /// as `data:image/png` or `data:image/jpeg` URIs are stored the same
    /// way; other `data:` URIs are dropped by the sanitizer. A blank text
    /// is derived from the HTML.
    fn add_rich_follow_up(
        self: &Arc<Self>,
        ctx: &Ctx,
        new: NewFollowUp,
        images: Vec<InlineImage>,
    ) -> Result<FollowUp>;
}

/// A content id for the `n`th image named `name`, as drafts make them.
fn content_id(name: &str, n: usize) -> String {
    format!(
        "{}.{n}@dossier",
        name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "-")
    )
}

/// `html` with each pasted `data:` image replaced by a `cid:` placeholder,
/// and those images.
fn pasted_images(html: &str) -> Result<(String, Vec<InlineImage>)> {
    let Some(re) = DATA_URI.as_ref() else {
        return Ok((html.to_owned(), Vec::new()));
    };
    let mut images = Vec::new();
    let mut failed = None;
    let replaced = re.replace_all(html, |c: &regex::Captures<'_>| {
        let ext = if c[1].eq_ignore_ascii_case("png") {
            "png"
        } else {
            "jpg"
        };
        let digits: String = c[2].chars().filter(|c| !c.is_whitespace()).collect();
        match base64::engine::general_purpose::STANDARD.decode(digits) {
            Ok(bytes) => {
                let name = format!("pasted-{}.{ext}", images.len() + 1);
                let placeholder = format!("src=\"cid:{name}\"");
                images.push(InlineImage {
                    name,
                    bytes,
                    alt: String::new(),
                });
                placeholder
            }
            Err(e) => {
                failed = Some(e);
                String::new()
            }
        }
    });
    if let Some(e) = failed {
        return Err(Error::input(
            "html",
            format!("an image pasted as a data: URI is not valid base64: {e}"),
        ));
    }
    Ok((replaced.into_owned(), images))
}

impl RichText for Runtime {
    fn rich_html(&self, what: &str, html: &str) -> Result<String> {
        if !self.config().email.rich_text {
            return Err(Error::input(
                what,
                format!("{RICH_TEXT_OFF}: this takes text only"),
            ));
        }
        Ok(html::sanitize(html))
    }

    fn add_rich_follow_up(
        self: &Arc<Self>,
        ctx: &Ctx,
        mut new: NewFollowUp,
        images: Vec<InlineImage>,
    ) -> Result<FollowUp> {
        if new.html.is_none() && images.is_empty() {
            return self.add_follow_up(ctx, new);
        }
        if (new.kind == FollowUpKind::Note || !images.is_empty()) && !self.config().email.rich_text
        {
            return Err(Error::input(
                if new.html.is_some() { "html" } else { "image" },
                format!("{RICH_TEXT_OFF}: a note takes text only"),
            ));
        }
        let (mut body, mut pasted) = pasted_images(&new.html.take().unwrap_or_default())?;
        pasted.extend(images);
        let first = new.attachments.len();
        let mut stored = Vec::with_capacity(pasted.len());
        for (i, image) in pasted.into_iter().enumerate() {
            if image.bytes.len() > MAX_INLINE_IMAGE {
                return Err(Error::input(
                    "image",
                    format!(
                        "`{}` is {:.1} MB; an inline image may be at most {} MB",
                        image.name,
                        image.bytes.len() as f64 / (1024.0 * 1024.0),
                        MAX_INLINE_IMAGE / (1024 * 1024)
                    ),
                ));
            }
            let (bytes, content_type) =
                fit_image(&image.name, &image.bytes, self.config().email.max_image_px)?;
            let cid = content_id(&image.name, first + i);
            let placeholder = format!("cid:{}", image.name);
            if body.contains(&placeholder) {
                body = body.replace(&placeholder, &format!("cid:{cid}"));
            } else {
                body.push_str(&format!(
                    "<p><img src=\"cid:{cid}\" alt=\"{}\"></p>",
                    image
                        .alt
                        .replace('&', "&amp;")
                        .replace('"', "&quot;")
                        .replace('<', "&lt;")
                ));
            }
            stored.push((image.name, content_type, bytes, cid));
        }
        let sanitized = html::sanitize(&body);
        if new.body.trim().is_empty() {
            new.body = html::to_text(&sanitized);
        }
        new.html = Some(sanitized);
        self.transaction("add rich follow-up", || {
            let mut blobs = Vec::with_capacity(stored.len());
            for (name, content_type, bytes, cid) in &stored {
                let blob = self.blobs().put(bytes)?;
                new.attachments.push(Attachment {
                    name: name.clone(),
                    content_type: content_type.clone(),
                    size: bytes.len() as u64,
                    blob: Some(blob.clone()),
                    refused: None,
                    content_id: Some(cid.clone()),
                });
                blobs.push(blob);
            }
            let f = self.add_follow_up(ctx, new)?;
            self.store().write("reference note images", |tx| {
                for blob in &blobs {
                    tx.add_blob_ref(blob, "follow_up", f.id.0)?;
                }
                Ok(())
            })?;
            Ok(f)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_images_become_placeholders_and_bad_base64_is_refused() {
        let (html, images) =
            pasted_images(r#"<p>see <img alt="x" src="data:image/png;base64,aGk="></p>"#).unwrap();
        assert_eq!(html, r#"<p>see <img alt="x" src="cid:pasted-1.png"></p>"#);
        assert_eq!(images.len(), 1);
        assert_eq!(images[0].bytes, b"hi");
        let err = pasted_images(r#"<img src="data:image/jpeg;base64,a=b">"#).unwrap_err();
        assert!(err.to_string().contains("base64"), "{err}");
    }
}
