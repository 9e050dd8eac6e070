//! `dossier notify --audience … --cause …`: every notification says whom it
//! is for and what caused it.

use crate::util::{dossier, failure, json};

#[test]
fn notify_takes_the_audience_and_the_cause() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    assert!(dossier(d, &["init"]).status.success());
    let send = ["notify", "--to", "ann@example.com", "--subject", "Hi"];

    let plain = json(d, &send);
    assert_eq!(plain["audience"], "customer", "the default");
    assert_eq!(plain["cause"], "manual", "the default");

    let mut args = send.to_vec();
    args.extend(["--audience", "agent", "--cause", "reminder", "--case", "3"]);
    let n = json(d, &args);
    assert_eq!(n["audience"], "agent");
    assert_eq!(n["cause"], "reminder");
    assert_eq!(n["case_number"], 3);
    assert!(n.get("case").is_none(), "output uses the new name only");

    let mut args = send.to_vec();
    args.extend(["--audience", "robots"]);
    insta::assert_snapshot!(failure(d, &args), @r"
    $ dossier notify --to ann@example.com --subject Hi --audience robots
    exit 2: error: invalid value 'robots' for '--audience <AUDIENCE>'
      [possible values: customer, agent, internal]

    For more information, try '--help'.
    ");
}
