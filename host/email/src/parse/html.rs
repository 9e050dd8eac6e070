//! HTML bodies: sanitized with ammonia before anything keeps or reads them,
//! and turned into text with html2text when the message has no text part.

use std::sync::LazyLock;

/// The sanitizer: ammonia's defaults (no scripts, styles, event handlers,
/// forms or frames; links get `rel="noopener noreferrer"`), plus the `cid:`
/// scheme so inline images can still name the attachment they show.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder.add_url_schemes(["cid"]);
    // A title is the page's, not the message's: its text is dropped too.
    builder.add_clean_content_tags(["title"]);
    builder
});

/// Width text made from HTML is wrapped to, as a mail client wraps text.
const TEXT_WIDTH: usize = 78;

/// `html` with everything unsafe to show removed.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

/// The charset an HTML document declares in a `<meta charset="…">` or
/// `<meta http-equiv="Content-Type" content="text/html; charset=…">` in
/// its first 4 KB, as written (a label for encoding_rs to look up).
pub fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = bytes[..bytes.len().min(4096)].to_ascii_lowercase();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|at| from + at)
    };
    let mut from = 0;
    while let Some(start) = find(&head, b"<meta", from) {
        let end = find(&head, b">", start).unwrap_or(head.len());
        let tag = &head[start..end];
        if let Some(at) = find(tag, b"charset=", 0) {
            let value: String = tag[at + b"charset=".len()..]
                .iter()
                .skip_while(|&&b| b == b'"' || b == b'\'' || b == b' ')
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'))
                .map(|&b| char::from(b))
                .collect();
            if !value.is_empty() {
                return Some(value);
            }
        }
        from = end;
    }
    None
}

/// The deepest nesting of elements sanitized: the sanitizer's tree builder
/// takes time quadratic in the depth (20,000 nested `<div>` took 4.5 s), so
/// deeper HTML is not sanitized at all. Real mail nests a few dozen deep.
pub const MAX_NESTING: usize = 1000;

/// Elements that hold no content, and elements an HTML parser closes by
/// itself when the next one starts: neither nests.
const NOT_NESTING: [&str; 22] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "td", "th", "tr", "option", "dt", "dd",
];

/// How deep `html`'s elements nest, counting open and close tags in one
/// pass (linear in its length), stopping once past `limit`.
pub fn nesting_depth(html: &str, limit: usize) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while let Some(at) = bytes
        .get(i..)
        .and_then(|r| r.iter().position(|&b| b == b'<'))
    {
        i += at + 1;
        match bytes.get(i) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(b) if b.is_ascii_alphabetic() => {
                let name_len = bytes[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
                let name = &html[i..i + name_len];
                let end = bytes[i..].iter().position(|&b| b == b'>').map(|e| i + e);
                let self_closing = end.is_some_and(|e| e > 0 && bytes[e - 1] == b'/');
                if !self_closing && !NOT_NESTING.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    depth += 1;
                    deepest = deepest.max(depth);
                    if deepest > limit {
                        return deepest;
                    }
                }
                if let Some(e) = end {
                    i = e + 1;
                }
            }
            _ => {}
        }
    }
    deepest
}

/// Readable text from already sanitized HTML: paragraphs, lists and quotes
/// kept, links as numbered footnotes, entities decoded, wrapped at 78
/// columns.
pub fn to_text(sanitized: &str) -> String {
    // Raw mode reads a table cell after cell: mail layouts are tables, and
    // drawn as grids they would be unreadable. No bold or italic markers.
    let text = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .raw_mode(true)
        .allow_width_overflow()
        .string_from_read(sanitized.as_bytes(), TEXT_WIDTH)
        // html2text fails only on I/O from a byte slice (never) or a layout
        // too narrow (allowed above); mail-parser's own converter is the
        // fallback so a message never loses its text.
        .unwrap_or_else(|_| mail_parser::decoders::html::html_to_text(sanitized));
    trim_lines(&text)
}

/// Trailing spaces removed from every line and blank lines at the end dropped.
fn trim_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let end = out.trim_end().len();
    out.truncate(end);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed_and_cid_images_kept() {
        let clean = sanitize(
            r#"<p onclick="steal()">Hi<script>alert(1)</script></p><img src="cid:logo@x"><a href="javascript:x()">x</a>"#,
        );
        assert!(!clean.contains("script"), "{clean}");
        assert!(!clean.contains("onclick"), "{clean}");
        assert!(!clean.contains("javascript"), "{clean}");
        assert!(clean.contains(r#"src="cid:logo@x""#), "{clean}");
    }

    #[test]
    fn a_meta_charset_is_found_in_either_form() {
        assert_eq!(
            meta_charset(b"<html><head><META charset=\"Windows-1251\">").as_deref(),
            Some("windows-1251")
        );
        assert_eq!(
            meta_charset(b"<meta http-equiv=Content-Type content='text/html; charset=koi8-r'><p>x")
                .as_deref(),
            Some("koi8-r")
        );
        assert_eq!(meta_charset(b"<p>charset=utf-8</p>"), None);
    }

    #[test]
    fn nesting_is_counted_in_one_pass_and_stops_past_the_limit() {
        assert_eq!(nesting_depth("<div><p>a<p>b<br><img src=x/></div>", 10), 1);
        assert_eq!(
            nesting_depth("<div><span><b>x</b></span></div><i>y</i>", 10),
            3
        );
        assert_eq!(nesting_depth("a < b and c<d", 10), 1);
        let deep = "<div>".repeat(50_000);
        assert_eq!(nesting_depth(&deep, 1000), 1001);
    }

    #[test]
    fn text_decodes_entities_and_keeps_paragraphs() {
        let text = to_text(&sanitize(
            "<p>Caf&eacute; &amp; cr&egrave;me</p><p>Second&nbsp;line</p>",
        ));
        assert_eq!(text, "Café & crème\n\nSecond\u{a0}line");
    }
}
