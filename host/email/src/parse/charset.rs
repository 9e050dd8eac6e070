//! Decoding text whose bytes are not UTF-8 and whose charset nobody declared
//! where it applies: raw 8-bit header bytes (legal only since RFC 6532, and
//! then only as UTF-8) and text bodies without a `charset` parameter.
//!
//! The declared charset is tried first (for headers, the charset the message
//! declares for its body: a mailer that writes raw 8-bit headers writes them
//! in the charset it writes the body in). When there is none, or it does not
//! decode the bytes cleanly, chardetng guesses from the bytes, with the
//! sender's top-level domain as a hint (it tells KOI8-R from Windows-1251 on
//! short Russian text, for instance). encoding_rs decodes.
//!
//! Callers only come here with bytes that failed UTF-8 validation, so valid
//! UTF-8 (nearly all mail) never pays for detection.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::Encoding;

/// Text decoded by [`decode_legacy`], with how its charset was chosen.
#[derive(Debug)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The charset used, as its WHATWG name (`windows-1251`).
    pub charset: &'static str,
    /// Whether the charset was guessed rather than declared.
    pub guessed: bool,
}

/// Decodes `bytes`, which are not valid UTF-8, as legacy 8-bit text.
///
/// `declared` is a charset label the message gives (used when encoding_rs
/// knows it, it is not UTF-8, and it decodes every byte); `tld` is the
/// sender's top-level domain, a hint for the guess. The result never
/// contains U+FFFD unless the bytes are invalid in every candidate.
/// `guessed` is the message's one guess ([`guess`] over all its
/// undeclared 8-bit text), used instead of guessing from `bytes` alone, so
/// that a subject and a body are not read in two different charsets.
pub fn decode_legacy(
    bytes: &[u8],
    declared: Option<&str>,
    tld: Option<&str>,
    guessed: Option<&'static Encoding>,
) -> Decoded {
    if let Some(encoding) = declared.and_then(|label| usable(label.trim().as_bytes()))
        && let Some(text) = encoding.decode_without_bom_handling_and_without_replacement(bytes)
    {
        return Decoded {
            text: text.into_owned(),
            charset: encoding.name(),
            guessed: false,
        };
    }
    let encoding = guessed.unwrap_or_else(|| guess(bytes, tld));
    let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text: text.into_owned(),
        charset: encoding.name(),
        guessed: true,
    }
}

/// The encoding for `label` when it can decode 8-bit header or body bytes:
/// known, ASCII-compatible (so the ASCII structure of headers survives), and
/// not UTF-8 (which these bytes already failed).
fn usable(label: &[u8]) -> Option<&'static Encoding> {
    let encoding = Encoding::for_label_no_replacement(label)?;
    (encoding != encoding_rs::UTF_8 && encoding.is_ascii_compatible()).then_some(encoding)
}

/// chardetng's guess for `bytes`, never UTF-8 (they are not valid UTF-8).
pub fn guess(bytes: &[u8], tld: Option<&str>) -> &'static Encoding {
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Allow);
    detector.feed(bytes, true);
    let tld = tld.and_then(clean_tld);
    detector.guess(tld.as_deref().map(str::as_bytes), Utf8Detection::Deny)
}

/// The top-level domain as chardetng takes it (lower-case ASCII letters,
/// digits and hyphens; it panics on upper case, dots or non-ASCII), or
/// `None` when the label has anything else.
fn clean_tld(tld: &str) -> Option<String> {
    let tld = tld.trim().to_ascii_lowercase();
    (!tld.is_empty()
        && tld
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    .then_some(tld)
}

/// The top-level domain of an address (`ru` for `ivan@mail.example.ru`).
pub fn tld_of(address: &str) -> Option<&str> {
    let domain = address.rsplit_once('@')?.1;
    let tld = domain.trim_end_matches('>').rsplit('.').next()?;
    (!tld.is_empty()).then_some(tld)
}

/// `bytes`, which are not valid UTF-8, read as UTF-8 with a few stray
/// bytes, when they are that: at least one valid multi-byte sequence, and
/// fewer invalid bytes than valid multi-byte sequences. Each stray byte is
/// decoded on its own as Windows-1252 (what a stray 8-bit byte in Western
/// mail nearly always is), so one bad byte does not make the whole text be
/// read in another charset. `None` when the bytes are mostly not UTF-8.
pub fn utf8_with_strays(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len() + 8);
    let mut rest = bytes;
    let (mut multibyte, mut strays) = (0usize, 0usize);
    loop {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(text) => (text, None),
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                let bad_len = e.error_len().unwrap_or(after.len());
                // `valid_up_to` bytes are valid UTF-8.
                (
                    std::str::from_utf8(valid).unwrap_or_default(),
                    Some(&after[..bad_len]),
                )
            }
        };
        multibyte += valid.chars().filter(|c| !c.is_ascii()).count();
        out.push_str(valid);
        let Some(bad) = bad else { break };
        strays += bad.len();
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bad);
        out.push_str(&text);
        rest = &rest[valid.len() + bad.len()..];
    }
    (multibyte > 0 && strays < multibyte).then_some(out)
}

/// Whether `label` names US-ASCII (which mailers write on text that is
/// really UTF-8 or a legacy charset).
pub fn is_ascii_label(label: &str) -> bool {
    ["us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"]
        .iter()
        .any(|l| label.trim().eq_ignore_ascii_case(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_charset_wins_when_it_decodes() {
        // "Привет" in KOI8-R.
        let d = decode_legacy(b"\xf0\xd2\xc9\xd7\xc5\xd4", Some("koi8-r"), None, None);
        assert_eq!(d.text, "Привет");
        assert_eq!(d.charset, "KOI8-R");
        assert!(!d.guessed);
    }

    #[test]
    fn utf8_or_unknown_declared_charset_falls_back_to_the_guess() {
        let latin1 = b"Gr\xfc\xdfe aus K\xf6ln";
        for declared in [
            Some("utf-8"),
            Some("x-no-such-charset"),
            Some("utf-16"),
            None,
        ] {
            let d = decode_legacy(latin1, declared, Some("de"), None);
            assert_eq!(d.text, "Grüße aus Köln", "declared {declared:?}");
            assert!(d.guessed);
        }
    }

    #[test]
    fn the_tld_hint_is_cleaned_and_never_panics() {
        for tld in ["RU", "r.u", "ру", "", " ", "com"] {
            let d = decode_legacy(b"\xf0\xd2\xc9\xd7\xc5\xd4", None, Some(tld), None);
            assert!(!d.text.is_empty());
        }
        assert_eq!(tld_of("ivan@mail.example.ru"), Some("ru"));
        assert_eq!(tld_of("nobody"), None);
    }
}
