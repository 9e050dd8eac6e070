//! Error codes: stable, unique, and every one documented for embedders.

use dossier_host::Error;

#[test]
fn every_error_code_is_unique_and_listed_in_the_embedding_guide() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/embedding.md"),
    )
    .expect("docs/embedding.md");
    let mut seen = std::collections::BTreeSet::new();
    for code in Error::CODES {
        assert!(seen.insert(code), "code `{code}` is used twice");
        assert!(
            guide.contains(&format!("| `{code}` |")),
            "docs/embedding.md does not list error code `{code}`"
        );
    }
    assert_eq!(Error::Refused("x".into()).code(), "refused");
    assert_eq!(
        Error::ChainTooDeep {
            limit: 16,
            chain: Vec::new()
        }
        .code(),
        "chain_too_deep"
    );
}
