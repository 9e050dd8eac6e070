//! Email addresses: the one check every address the host stores, looks up
//! or sends to goes through.
//!
//! The syntax is RFC 5321/5322's `addr-spec` as the `email_address` crate
//! reads it (dot-atom or quoted local part, a domain of non-empty labels
//! that start and end with a letter or digit, or a bracketed IP literal),
//! with three rules of ours on top: the address is bare (no display name,
//! no angle brackets), its domain has at least one dot (no bare host names
//! such as `root@localhost`), and it has at most [`MAX_LEN`] characters,
//! the limit of an SMTP path.

use email_address::{EmailAddress, Options};

use crate::error::Error;

/// The longest address allowed, in characters (RFC 5321's path limit of
/// 256 octets, less the two angle brackets).
pub const MAX_LEN: usize = 254;

/// Why `address` (already trimmed) is not an address, or `None` when it is.
fn problem(address: &str) -> Option<String> {
    let length = address.chars().count();
    if length > MAX_LEN {
        return Some(format!("is longer than {MAX_LEN} characters ({length})"));
    }
    // Built through the crate's constructors, never by listing its fields:
    // a patch release that adds a field must not break the build.
    let options = Options::default()
        .with_minimum_sub_domains(2)
        .with_domain_literal()
        .without_display_text();
    let reason = match EmailAddress::parse_with_options(address, options) {
        Ok(_) => return None,
        Err(e) => describe(&e),
    };
    Some(format!(
        "has `{address}`, which is not an email address: {reason}"
    ))
}

/// The crate's error in our words, phrased to follow "not an email address:".
fn describe(e: &email_address::Error) -> &'static str {
    use email_address::Error as E;
    match e {
        E::MissingSeparator => "it has no `@`",
        E::LocalPartEmpty => "nothing comes before the `@`",
        E::LocalPartTooLong => "the part before the `@` is longer than 64 characters",
        E::DomainEmpty => "nothing comes after the `@`",
        E::DomainTooLong => "the domain is too long",
        E::SubDomainEmpty => "the domain has an empty label (a leading, trailing or doubled dot)",
        E::SubDomainTooLong => "a label of the domain is longer than 63 characters",
        E::DomainTooFew => "the domain has no dot",
        E::DomainInvalidSeparator => "a dot in the domain is misplaced",
        E::UnbalancedQuotes => "its quotes are unbalanced",
        E::InvalidComment => "it has a malformed comment",
        E::InvalidIPAddress => "the bracketed IP address is not valid",
        E::UnsupportedDomainLiteral => "the domain is a bracketed literal",
        E::UnsupportedDisplayName | E::MissingDisplayName | E::MissingEndBracket => {
            "give the bare address, without a display name or angle brackets"
        }
        // `InvalidCharacter`, and anything a later version of the crate adds.
        _ => "it has a character that is not allowed where it stands",
    }
}

/// Checks `raw` (surrounding blanks trimmed) and returns it with its case
/// kept, or the rule it breaks phrased to follow a field name: "has
/// \`a;b@c.com\`, which is not an email address: …", "is longer than 254
/// characters (255)". Callers that name the record and field wrap it in
/// their own error ([`Error::Validation`], [`Error::InvalidNotification`]).
pub fn check_rule(raw: &str) -> Result<&str, String> {
    let address = raw.trim();
    match problem(address) {
        None => Ok(address),
        Some(rule) => Err(rule),
    }
}

/// Checks `raw` like [`check_rule`], as a typed error naming `what` (the
/// option, argument or field the address came from): an
/// [`Error::InvalidInput`].
pub fn check(what: &str, raw: &str) -> Result<String, Error> {
    check_rule(raw)
        .map(str::to_owned)
        .map_err(|rule| Error::InvalidInput {
            what: what.to_owned(),
            message: rule,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_pass_unchanged() {
        for ok in [
            "ada@example.com",
            "Ada.Lovelace@Example.COM",
            "first.last+tag@mail.example.co.uk",
            "\"quoted local\"@example.com",
            "o'brien@example.ie",
            "x@[192.0.2.1]",
        ] {
            assert_eq!(check_rule(ok), Ok(ok), "{ok}");
        }
        assert_eq!(check_rule("  ada@example.com\n"), Ok("ada@example.com"));
    }

    #[test]
    fn malformed_addresses_are_refused_with_the_reason() {
        for (bad, reason) in [
            ("a;b@c.com", "character that is not allowed"),
            ("p@q..com", "empty label"),
            ("ada.example.com", "no `@`"),
            ("@example.com", "before the `@`"),
            ("ada@", "after the `@`"),
            ("ada@localhost", "no dot"),
            ("ada@example.com.", "empty label"),
            ("Ada <ada@example.com>", "bare address"),
            ("<ada@example.com>", "not allowed"),
            ("ada lovelace@example.com", "not allowed"),
            ("ada@exa mple.com", "not allowed"),
            ("ada@-example.com", "not allowed"),
            ("a\r\nBcc: x@y.com", "not allowed"),
        ] {
            let rule = check_rule(bad).expect_err(bad);
            assert!(rule.contains("not an email address"), "{bad}: {rule}");
            assert!(rule.contains(reason), "{bad}: {rule}");
        }
    }

    #[test]
    fn the_limit_is_254_characters() {
        // Labels of at most 63 characters, a local part of at most 64.
        let address = |n: usize| {
            format!(
                "{}@{}.{}.{}.com",
                "a".repeat(64),
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(n)
            )
        };
        assert_eq!(address(57).chars().count(), 254);
        assert!(check_rule(&address(57)).is_ok());
        assert_eq!(
            check_rule(&address(58)),
            Err("is longer than 254 characters (255)".to_owned())
        );
    }

    #[test]
    fn the_typed_error_names_where_the_address_came_from() {
        let e = check("--to", "a;b@c.com").expect_err("refused");
        assert_eq!(e.code(), "invalid_input");
        assert_eq!(
            e.to_string(),
            "--to: has `a;b@c.com`, which is not an email address: it has a character that is not allowed where it stands"
        );
        assert_eq!(
            check("--to", " ada@example.com ").expect("valid"),
            "ada@example.com"
        );
    }
}
