//! One Rust source file, split into the parts the rules look at.
//!
//! The rules match patterns against code, so the lexer here produces a
//! *masked* copy of the file: every comment and the contents of every
//! string and character literal become spaces, newlines stay. The copy has
//! the same length and the same lines as the original, so an offset found
//! in it is an offset in the file, and a brace found in it is a real brace.
//! String literals are kept aside with their offsets, for the SQL rule.
//!
//! This is not a full Rust lexer: it knows line and (nested) block
//! comments, plain, byte, C and raw strings, character literals and
//! lifetimes, which is all the masking needs.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use crate::pattern;

/// A string literal: its contents as written (escapes not processed) and
/// the offset of the first byte of those contents in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    /// Offset of the contents' first byte (just after the opening quote).
    pub offset: usize,
    /// The contents, between the quotes, exactly as written.
    pub text: String,
}

/// A `mod name;` declaration, whose contents live in another file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModDecl {
    /// The module's name.
    pub name: String,
    /// Offset of the `mod` keyword.
    pub offset: usize,
    /// The value of a `#[path = "..."]` attribute on the declaration.
    pub path_attr: Option<String>,
    /// The inline modules (`mod a { ... }`) the declaration sits in,
    /// outermost first.
    pub inline_path: Vec<String>,
}

/// A lexed source file.
#[derive(Debug, Clone)]
pub struct Source {
    code: String,
    literals: Vec<Literal>,
    line_starts: Vec<usize>,
    test_regions: Vec<Range<usize>>,
}

impl Source {
    /// Lexes `text` and finds its `#[cfg(test)]` items.
    pub fn parse(text: &str) -> Source {
        let (code, literals) = mask(text);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let test_regions = find_test_regions(&code);
        Source {
            code,
            literals,
            line_starts,
            test_regions,
        }
    }

    /// The masked code: comments and literal contents replaced by spaces.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The string literals, in order.
    pub fn literals(&self) -> &[Literal] {
        &self.literals
    }

    /// The 1-based line the byte at `offset` is on.
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Whether `offset` is inside an item marked `#[cfg(test)]` (or the
    /// whole file is, by `#![cfg(test)]`).
    pub fn in_test(&self, offset: usize) -> bool {
        self.test_regions.iter().any(|r| r.contains(&offset))
    }

    /// The offset just past the bracket that closes the `{`, `(` or `[` at
    /// `open`.
    pub fn bracket_end(&self, open: usize) -> Option<usize> {
        matching_close(self.code.as_bytes(), open).map(|close| close + 1)
    }

    /// The out-of-line module declarations (`mod name;`) in the file.
    pub fn mod_decls(&self) -> Vec<ModDecl> {
        static MOD: LazyLock<Regex> =
            LazyLock::new(|| pattern(r"\bmod\s+(?:r#)?([A-Za-z_][A-Za-z0-9_]*)\s*([;{])"));
        static PATH_ATTR: LazyLock<Regex> = LazyLock::new(|| pattern(r#"#\s*\[\s*path\s*=\s*""#));

        let bytes = self.code.as_bytes();
        let mut inline: Vec<(String, Range<usize>)> = Vec::new();
        let mut decls = Vec::new();
        for caps in MOD.captures_iter(&self.code) {
            let (Some(whole), Some(name), Some(end)) = (caps.get(0), caps.get(1), caps.get(2))
            else {
                continue;
            };
            let name = name.as_str().to_owned();
            if end.as_str() == "{" {
                if let Some(close) = matching_close(bytes, end.start()) {
                    inline.push((name, whole.start()..close));
                }
                continue;
            }
            let offset = whole.start();
            let item_start = self.code[..offset]
                .rfind([';', '{', '}'])
                .map_or(0, |i| i + 1);
            let path_attr = PATH_ATTR
                .find(&self.code[item_start..offset])
                .and_then(|m| {
                    let contents = item_start + m.end();
                    self.literals.iter().find(|l| l.offset == contents)
                })
                .map(|l| l.text.clone());
            let inline_path = inline
                .iter()
                .filter(|(_, span)| span.contains(&offset))
                .map(|(name, _)| name.clone())
                .collect();
            decls.push(ModDecl {
                name,
                offset,
                path_attr,
                inline_path,
            });
        }
        decls
    }
}

/// Masks comments and literal contents, and collects the string literals.
fn mask(text: &str) -> (String, Vec<Literal>) {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut literals = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n);
                blank(&mut out, i..end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = block_comment_end(b, i);
                blank(&mut out, i..end);
                i = end;
            }
            b'"' => {
                let close = quoted_end(b, i + 1);
                keep_literal(text, &mut out, &mut literals, i + 1..close);
                i = close + 1;
            }
            b'\'' => match char_literal_end(b, i) {
                Some(close) => {
                    blank(&mut out, i + 1..close);
                    i = close + 1;
                }
                None => i += 1,
            },
            c if is_ident(c) => {
                if matches!(c, b'r' | b'b' | b'c')
                    && let Some(lit) = prefixed_literal(b, i)
                {
                    match lit {
                        Prefixed::Str { contents, next } => {
                            keep_literal(text, &mut out, &mut literals, contents);
                            i = next;
                        }
                        Prefixed::Char { contents, next } => {
                            blank(&mut out, contents);
                            i = next;
                        }
                    }
                } else {
                    // A whole identifier or number at once, so that a
                    // prefix letter inside one is never taken for a quote.
                    while i < b.len() && is_ident(b[i]) {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    let code = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (code, literals)
}

/// Records the literal whose contents span `contents`, and masks them.
fn keep_literal(text: &str, out: &mut [u8], literals: &mut Vec<Literal>, contents: Range<usize>) {
    let end = contents.end.min(text.len());
    literals.push(Literal {
        offset: contents.start,
        text: text.get(contents.start..end).unwrap_or("").to_owned(),
    });
    blank(out, contents);
}

/// Replaces every byte in `range` but newlines with a space.
fn blank(out: &mut [u8], range: Range<usize>) {
    let end = range.end.min(out.len());
    for c in out.iter_mut().take(end).skip(range.start) {
        if *c != b'\n' {
            *c = b' ';
        }
    }
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The offset just past the end of the block comment starting at `start`
/// (block comments nest in Rust).
fn block_comment_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The offset of the `"` closing a (non-raw) string whose contents start
/// at `start`; the end of the file if it never closes.
fn quoted_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// If the `'` at `start` opens a character literal, the offset of the `'`
/// closing it; `None` for a lifetime or a label.
fn char_literal_end(b: &[u8], start: usize) -> Option<usize> {
    let first = *b.get(start + 1)?;
    if first == b'\\' {
        // An escape: `'\n'`, `'\''`, `'\u{1F600}'`.
        let mut i = start + 3;
        while i < b.len() && i <= start + 12 {
            match b[i] {
                b'\'' => return Some(i),
                b'\n' => return None,
                _ => i += 1,
            }
        }
        return None;
    }
    if first == b'\'' || first == b'\n' {
        return None;
    }
    let width = match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    (b.get(start + 1 + width) == Some(&b'\'')).then_some(start + 1 + width)
}

/// A literal that starts with a prefix letter.
enum Prefixed {
    /// `b"..."`, `c"..."`, `r"..."`, `r#"..."#`, `br"..."`, `cr"..."`.
    Str { contents: Range<usize>, next: usize },
    /// `b'x'`.
    Char { contents: Range<usize>, next: usize },
}

/// Recognises a prefixed literal starting at `start`, if there is one.
fn prefixed_literal(b: &[u8], start: usize) -> Option<Prefixed> {
    let mut i = start;
    let kind = b[i];
    if kind == b'b' || kind == b'c' {
        i += 1;
    }
    let raw = b.get(i) == Some(&b'r');
    if raw {
        i += 1;
    } else if i == start {
        return None;
    }
    if raw {
        let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
        i += hashes;
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let open = i + 1;
        let mut j = open;
        while j < b.len() {
            if b[j] == b'"'
                && b[j + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|&&c| c == b'#')
                    .count()
                    == hashes
            {
                return Some(Prefixed::Str {
                    contents: open..j,
                    next: j + 1 + hashes,
                });
            }
            j += 1;
        }
        return Some(Prefixed::Str {
            contents: open..b.len(),
            next: b.len(),
        });
    }
    match b.get(i) {
        Some(b'"') => {
            let close = quoted_end(b, i + 1);
            Some(Prefixed::Str {
                contents: i + 1..close,
                next: close + 1,
            })
        }
        Some(b'\'') if kind == b'b' => {
            let close = char_literal_end(b, i)?;
            Some(Prefixed::Char {
                contents: i + 1..close,
                next: close + 1,
            })
        }
        _ => None,
    }
}

/// The offset of the bracket closing the one at `open` (`{`, `(` or `[`),
/// counting only brackets of that kind.
fn matching_close(b: &[u8], open: usize) -> Option<usize> {
    let (opener, closer) = match b.get(open)? {
        b'{' => (b'{', b'}'),
        b'(' => (b'(', b')'),
        b'[' => (b'[', b']'),
        _ => return None,
    };
    let mut depth = 0usize;
    for (i, &c) in b.iter().enumerate().skip(open) {
        if c == opener {
            depth += 1;
        } else if c == closer {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Keywords that start an item a `#[cfg(test)]` attribute can remove.
const ITEM_KEYWORDS: &[&str] = &[
    "pub",
    "mod",
    "fn",
    "impl",
    "struct",
    "enum",
    "union",
    "trait",
    "type",
    "use",
    "const",
    "static",
    "unsafe",
    "extern",
    "async",
    "macro_rules",
];

/// The spans of the items marked `#[cfg(test)]` (or `#[cfg(all(test,
/// ...))]`): from the attribute to the item's closing brace or semicolon.
/// `#![cfg(test)]` makes the whole file one span. An attribute on
/// something that is not an item (a field, an expression) is ignored.
fn find_test_regions(code: &str) -> Vec<Range<usize>> {
    static CFG: LazyLock<Regex> = LazyLock::new(|| pattern(r"#\s*(!?)\s*\[\s*cfg\s*\("));
    let b = code.as_bytes();
    let mut regions = Vec::new();
    for caps in CFG.captures_iter(code) {
        let (Some(whole), Some(bang)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let open = whole.end() - 1;
        let Some(close) = matching_close(b, open) else {
            continue;
        };
        let predicate: String = code[open + 1..close]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if !is_test_predicate(&predicate) {
            continue;
        }
        if !bang.as_str().is_empty() {
            regions.push(0..code.len());
            continue;
        }
        let Some(attr_end) = code[close..].find(']').map(|i| close + i + 1) else {
            continue;
        };
        if let Some(end) = item_end(b, attr_end) {
            regions.push(whole.start()..end);
        }
    }
    regions
}

/// Whether a `cfg` predicate (whitespace removed) holds only under test.
fn is_test_predicate(predicate: &str) -> bool {
    if predicate == "test" {
        return true;
    }
    let Some(args) = predicate
        .strip_prefix("all(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        return false;
    };
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in args.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                if &args[start..i] == "test" {
                    return true;
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    &args[start..] == "test"
}

/// Where the item starting after `from` ends (just past its closing brace
/// or semicolon), skipping further attributes; `None` if what follows is
/// not an item.
fn item_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'#') {
            let open = i + b[i..].iter().position(|&c| c == b'[')?;
            i = matching_close(b, open)? + 1;
        } else {
            break;
        }
    }
    let word_len = b[i..].iter().take_while(|&&c| is_ident(c)).count();
    let word = std::str::from_utf8(&b[i..i + word_len]).ok()?;
    if !ITEM_KEYWORDS.contains(&word) {
        return None;
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return Some(i + 1),
            b'{' if depth == 0 => return matching_close(b, i).map(|close| close + 1),
            b'}' if depth == 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}
