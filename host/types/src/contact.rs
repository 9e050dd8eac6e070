//! Phone numbers and email addresses: how they are normalized before they are
//! stored or looked up.

use phonenumber::Mode;

/// Normalizes a phone number to E.164 (`+33123456789`), reading numbers
/// without a country code as numbers of `region`.
pub fn normalize_phone(raw: &str, region: &str) -> Result<String, String> {
    let region = region.parse::<phonenumber::country::Id>().ok();
    let number = phonenumber::parse(region, raw)
        .map_err(|e| format!("has `{raw}`, which is not a phone number ({e})"))?;
    if !number.is_valid() {
        return Err(format!(
            "has `{raw}`, which is not a valid phone number for its country"
        ));
    }
    Ok(number.format().mode(Mode::E164).to_string())
}

/// `address` lower-cased, without the `+tag` of its local part
/// (`Support+Case-7@Example.com` is `support@example.com`): how our own
/// addresses are recognised in every form they take.
pub fn address_without_tag(address: &str) -> String {
    let address = address.trim().to_lowercase();
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(base, _)| base);
            format!("{local}@{domain}")
        }
        None => address,
    }
}

/// Lower-cases and checks an email address with
/// [`crate::address::check_rule`] (the `email_address` crate's
/// syntax, a domain with a dot, at most 254 characters), and
/// returns the address as it is stored and looked up, or the rule it
/// breaks phrased to follow a field name.
pub fn normalize_email(raw: &str) -> Result<String, String> {
    crate::address::check_rule(&raw.trim().to_lowercase()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_e164() {
        assert_eq!(
            normalize_phone("+33 1 23 45 67 89", "FR").as_deref(),
            Ok("+33123456789")
        );
        assert_eq!(
            normalize_phone("01 23 45 67 89", "FR").as_deref(),
            Ok("+33123456789")
        );
        assert_eq!(
            normalize_phone("+1 212 555 0100", "FR").as_deref(),
            Ok("+12125550100")
        );
        assert!(normalize_phone("hello", "FR").is_err());
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalize_email("Ada@Example.com").as_deref(),
            Ok("ada@example.com")
        );
        assert!(normalize_email("ada.example.com").is_err());
        assert!(normalize_email("a@b").is_err());
        assert!(normalize_email("a;b@c.com").is_err());
        assert!(normalize_email("p@q..com").is_err());
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(normalize_email(&long).unwrap_err().contains("254"));
    }
}
