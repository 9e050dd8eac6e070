//! Every script in `bad/` must end with a clean admin-facing error within
//! its limits, and nothing written. The rendered error is snapshotted.

use super::{Env, ada, all_cases, all_tasks, open_case};

#[test]
fn bad_scripts_fail_cleanly() {
    insta::glob!("bad/*.rhai", |path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_owned();
        let text = std::fs::read_to_string(path).expect("read bad script");
        // Leading `//!` lines are config for this script (tighter limits).
        let extra: String = text
            .lines()
            .map_while(|l| l.strip_prefix("//!"))
            .map(|l| format!("{}\n", l.trim()))
            .collect();
        let env = Env::new(&extra, &[(name.as_str(), text.as_str())]);
        let rendered = match env.open() {
            // Compile errors stop the host from opening.
            Err(e) => format!("at open: {e}"),
            Ok(host) => {
                let customer = ada(&host);
                let started = std::time::Instant::now();
                let result = open_case(&host, &customer, "Broken printer");
                let took = started.elapsed();
                // The snapshot shows which limit stopped the script; this
                // bound only catches a script that no limit stopped.
                assert!(took < crate::util::PATIENCE, "{name} took {took:?}");
                assert!(all_cases(&host).is_empty(), "{name}: a case was written");
                assert!(all_tasks(&host).is_empty(), "{name}: a task was written");
                match result {
                    Err(e) => format!("at save: {e}"),
                    Ok(case) => panic!("{name} did not fail: {case:?}"),
                }
            }
        };
        insta::assert_snapshot!(rendered);
    });
}
