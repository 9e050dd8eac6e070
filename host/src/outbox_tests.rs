//! The outbox through the facade: an entry queued before deliveries were
//! kept per handler is split and delivered to each.

use std::sync::Mutex;

use dossier_sdk::{NewCustomer, Outcome};

use std::sync::Arc;

use dossier_sdk::{Event, Record, SaveEvent, SaveOp};

use crate::events::Ctx;
use crate::events::Handler;
use crate::{Config, Host};
use crate::{Error, Result};

struct Seen(&'static str, Arc<Mutex<Vec<String>>>);

impl Handler for Seen {
    fn name(&self) -> &str {
        self.0
    }
    fn handles(&self, event: &Event) -> bool {
        matches!(event, Event::AfterSave(_))
    }
    fn handle(&self, ctx: &mut Ctx, _event: &mut Event) -> Result<Outcome> {
        let key = ctx.idempotency_key().unwrap_or_default();
        self.1
            .lock()
            .map_err(|_| Error::Refused("poisoned".into()))?
            .push(format!("{} {key}", self.0));
        Ok(Outcome::Continue)
    }
}

#[test]
fn a_delivery_for_every_handler_is_split_and_delivered_to_each() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let host = Host::builder(Config::default())
        .in_memory()
        .handler(Arc::new(Seen("a", seen.clone())))
        .handler(Arc::new(Seen("b", seen.clone())))
        .open()
        .expect("host");
    let ada = host
        .create_customer(NewCustomer {
            account: "AC-1".into(),
            name: "Ada".into(),
            ..Default::default()
        })
        .expect("customer");
    seen.lock().expect("lock").clear();
    // An entry as step 2 of the migrations leaves one queued earlier.
    let rt = host.runtime();
    let event = dossier_store::to_json(&Event::AfterSave(SaveEvent::new(
        SaveOp::Update,
        Record::Customer(ada),
    )));
    let now = rt.now();
    rt.store()
        .write("old entry", |tx| {
            tx.outbox_enqueue(
                100,
                "old-key",
                &event,
                0,
                "[]",
                "{\"actor\":\"system\"}",
                now,
                &["*"],
            )
        })
        .expect("queued");
    assert_eq!(host.deliver_outbox().expect("delivered"), 2);
    assert_eq!(
        *seen.lock().expect("lock"),
        vec!["a old-key".to_owned(), "b old-key".to_owned()]
    );
    assert!(host.pending_outbox().expect("outbox").is_empty());
}
