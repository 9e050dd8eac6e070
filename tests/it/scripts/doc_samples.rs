//! The error samples in docs/scripting.md are real: each one marked
//! `<!-- sample: FILE HOOK -->` is followed by a `rhai` block (the script)
//! and a `text` block (the error), and this test runs the script and
//! compares what Dossier prints with the text, byte for byte.

use super::{Env, ada, open_case};

const GUIDE: &str = include_str!("../../../docs/scripting.md");

/// Each sample: the script's file name, the hook, the script, the error.
fn samples() -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut rest = GUIDE;
    while let Some(at) = rest.find("<!-- sample: ") {
        rest = &rest[at + "<!-- sample: ".len()..];
        let (head, after) = rest.split_once(" -->").expect("sample marker closed");
        let (file, hook) = head.split_once(' ').expect("sample names file and hook");
        let block = |text: &str, lang: &str| -> (String, usize) {
            let open = format!("```{lang}\n");
            let start = text.find(&open).expect("sample block") + open.len();
            let len = text[start..].find("```").expect("block closed");
            (text[start..start + len].to_owned(), start + len + 3)
        };
        let (script, used) = block(after, "rhai");
        let (error, _) = block(&after[used..], "text");
        out.push((file.to_owned(), hook.to_owned(), script, error));
    }
    out
}

#[test]
fn the_guides_error_samples_are_what_dossier_prints() {
    let samples = samples();
    assert!(samples.len() >= 2, "the guide has its samples");
    let mut wrong = Vec::new();
    for (file, hook, script, expected) in samples {
        let name = file.trim_start_matches("scripts/");
        let env = Env::new("", &[(name, script.as_str())]);
        let host = env.host();
        let err = match hook.as_str() {
            "before_save_case" => {
                let customer = ada(&host);
                open_case(&host, &customer, "Printer").expect_err("the sample fails")
            }
            "on_screen_pop" => host
                .screen_pop(dossier_sdk::Interaction::new(dossier_sdk::Channel::Phone))
                .expect_err("the sample fails"),
            other => panic!("no way to run a {other} sample yet"),
        };
        let actual = format!("{err}\n");
        if actual != expected {
            wrong.push(format!(
                "{file}: the guide says\n{expected}Dossier prints\n{actual}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "docs/scripting.md is out of date:\n{}",
        wrong.join("\n")
    );
}
