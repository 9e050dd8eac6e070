//! RFC 2047 encoded words as mail clients read them, before mail-parser
//! decodes them.
//!
//! mail-parser decodes each encoded word on its own, from bytes it reads as
//! text. Two kinds of real mail then come out wrong:
//!
//! - a multi-byte character split across two adjacent words of one
//!   charset (`=?utf-8?Q?=D0?= =?utf-8?Q?=BE?=`) becomes two replacement
//!   characters: adjacent words of one charset are joined into one (the
//!   blanks between encoded words are not text, RFC 2047 §6.2), so the
//!   bytes are decoded together;
//! - raw 8-bit bytes inside a `Q` word (`=?iso-8859-1?Q?Fr\xF6sche?=`, as
//!   old Eudora and Outlook wrote) were decoded twice, once with the
//!   header block's fallback charset and again with the word's: they are
//!   escaped as `=XX`, so only the word's charset decodes them.
//!
//! [`normalize`] rewrites a header block only when one of these applies.

/// One encoded word found in a header block.
struct Word<'a> {
    /// Where it starts (`=?`) and ends (after `?=`).
    start: usize,
    end: usize,
    charset: &'a [u8],
    /// The payload as `Q` text, 8-bit bytes escaped (a `B` payload
    /// decoded and re-encoded).
    q: Vec<u8>,
    /// Whether the word as written differs from `=?charset?Q?q?=`.
    changed: bool,
}

/// The encoded word starting at `at` (`=?`), if one does.
fn word_at(block: &[u8], at: usize) -> Option<Word<'_>> {
    let rest = block.get(at..)?.strip_prefix(b"=?")?;
    let charset_len = rest.iter().position(|&b| b == b'?')?;
    let charset = &rest[..charset_len];
    if charset.is_empty() || charset.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let after = &rest[charset_len + 1..];
    let (&encoding, after) = after.split_first()?;
    let after = after.strip_prefix(b"?")?;
    let payload_len = after.windows(2).position(|w| w == b"?=")?;
    let payload = &after[..payload_len];
    if payload
        .iter()
        .any(|&b| b == b'\r' || b == b'\n' || b == b' ' || b == b'\t')
    {
        return None;
    }
    let end = at + 2 + charset_len + 1 + 1 + 1 + payload_len + 2;
    let (q, changed) = match encoding {
        b'Q' | b'q' => {
            let mut q = Vec::with_capacity(payload.len());
            let mut changed = encoding == b'q';
            for &b in payload {
                if b >= 0x80 {
                    q.extend_from_slice(format!("={b:02X}").as_bytes());
                    changed = true;
                } else {
                    q.push(b);
                }
            }
            (q, changed)
        }
        b'B' | b'b' => {
            let bytes = mail_parser::decoders::base64::base64_decode(payload)?;
            (q_encode(&bytes), true)
        }
        _ => return None,
    };
    Some(Word {
        start: at,
        end,
        charset,
        q,
        changed,
    })
}

/// `bytes` as a `Q` payload: letters and digits as they are, every other
/// byte `=XX`.
fn q_encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() {
            out.push(b);
        } else {
            out.extend_from_slice(format!("={b:02X}").as_bytes());
        }
    }
    out
}

/// `block` with adjacent encoded words of one charset joined and raw 8-bit
/// bytes in `Q` words escaped; `None` when neither applies.
pub(super) fn normalize(block: &[u8]) -> Option<Vec<u8>> {
    if !block.windows(2).any(|w| w == b"=?") {
        return None;
    }
    let mut out = Vec::with_capacity(block.len());
    let mut copied = 0;
    let mut changed = false;
    let mut at = 0;
    while let Some(found) = block
        .get(at..)
        .and_then(|r| r.windows(2).position(|w| w == b"=?"))
    {
        let start = at + found;
        let Some(first) = word_at(block, start) else {
            at = start + 2;
            continue;
        };
        // The words that follow it, separated by blanks only (folding
        // included), in the same charset.
        let mut run = vec![first];
        while let Some(last) = run.last() {
            let gap_end = last.end
                + block[last.end..]
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    .count();
            let next = (gap_end > last.end)
                .then(|| word_at(block, gap_end))
                .flatten()
                .filter(|w| w.charset.eq_ignore_ascii_case(last.charset));
            match next {
                Some(w) => run.push(w),
                None => break,
            }
        }
        let (Some(head), Some(tail)) = (run.first(), run.last()) else {
            break;
        };
        if run.len() > 1 || head.changed {
            out.extend_from_slice(&block[copied..head.start]);
            out.extend_from_slice(b"=?");
            out.extend_from_slice(head.charset);
            out.extend_from_slice(b"?Q?");
            for w in &run {
                out.extend_from_slice(&w.q);
            }
            out.extend_from_slice(b"?=");
            copied = tail.end;
            changed = true;
        }
        at = tail.end;
    }
    if !changed {
        return None;
    }
    out.extend_from_slice(&block[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use proptest::prelude::*;

    /// Pieces encoded words are made of, and bytes that break them.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"=?".to_vec()),
            Just(b"?=".to_vec()),
            Just(b"?Q?".to_vec()),
            Just(b"?B?".to_vec()),
            Just(b"utf-8".to_vec()),
            Just(b"=C3=A9".to_vec()),
            Just(b"w6k=".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\r\n ".to_vec()),
            prop::collection::vec(any::<u8>(), 0..4),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_only_rewrites_encoded_words(
            pieces in prop::collection::vec(piece(), 0..40)
        ) {
            let block: Vec<u8> = pieces.concat();
            if let Some(out) = normalize(&block) {
                // What it writes is ASCII where it rewrote, and it rewrites
                // only when there was an encoded word.
                prop_assert!(block.windows(2).any(|w| w == b"=?"));
                prop_assert!(out.windows(2).any(|w| w == b"=?"));
            }
        }
    }

    fn check(input: &[u8], expected: Option<&[u8]>) {
        assert_eq!(normalize(input).as_deref(), expected, "{input:?}");
    }

    #[test]
    fn words_are_joined_escaped_or_left_alone() {
        check(b"Subject: plain\r\n", None);
        check(b"Subject: =?utf-8?Q?caf=C3=A9?=\r\n", None);
        check(
            b"Subject: =?utf-8?Q?=D0?= =?UTF-8?Q?=BE?=\r\n",
            Some(b"Subject: =?utf-8?Q?=D0=BE?=\r\n"),
        );
        check(
            b"Subject: =?utf-8?Q?a?=\r\n =?utf-8?B?w6k=?= x\r\n",
            Some(b"Subject: =?utf-8?Q?a=C3=A9?= x\r\n"),
        );
        check(
            b"Subject: =?iso-8859-1?Q?Fr\xF6sche?=\r\n",
            Some(b"Subject: =?iso-8859-1?Q?Fr=F6sche?=\r\n"),
        );
        // Different charsets stay apart; text between words keeps them apart.
        check(b"Subject: =?utf-8?Q?a?= =?koi8-r?Q?b?=\r\n", None);
        check(b"Subject: =?utf-8?Q?a?= and =?utf-8?Q?b?=\r\n", None);
        // Not encoded words.
        check(b"Subject: =? not one ?= =?\r\n", None);
    }
}
