//! `dossier demo --serve`: the demo store served to browsers, with calls
//! and chats arriving on their own, so a newcomer sees the agent desktop
//! and the chat widget at work in one command.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dossier_host::{AgentState, ChatFilter, ChatState, Host, Result};
use dossier_sdk::{Channel, Interaction};

use super::Out;
use super::demo::DemoArgs;

/// The demo's agents who sign in to the desktop.
const LOGINS: [&str; 3] = ["agent.smith", "agent.jones", "agent.lee"];

/// The chat queue the widget writes to (the story's).
const QUEUE: &str = super::demo::CHAT_QUEUE;

/// Who calls: the demo's customers, and a number nobody has.
const CALLERS: [&str; 3] = ["+33 6 12 34 56 78", "+1 212 555 0100", "+33 1 98 76 54 32"];

/// Who writes in the chat: name, email, first words.
const VISITORS: [(&str, &str, &str); 3] = [
    (
        "Marie Curie",
        "marie@example.org",
        "Hello, I cannot sign in to my account.",
    ),
    (
        "Alan Turing",
        "alan@example.org",
        "Is there news about my invoice?",
    ),
    (
        "Hedy Lamarr",
        "hedy@example.net",
        "Do you deliver to Vienna?",
    ),
];

/// At most this many generated chats wait in line at once.
const MAX_WAITING: usize = 2;

/// Serves the demo store `host` (the story has run) until Ctrl-C.
pub(crate) fn serve(host: Host, args: &DemoArgs, out: &Out) -> Result<()> {
    let members: Vec<String> = LOGINS[..2].iter().map(|l| (*l).to_owned()).collect();
    host.add_queue(QUEUE, None, &members)?;
    let password = dossier_host::generate_password()?;
    for login in LOGINS {
        host.set_password(login, &password)?;
        // Everyone starts offline: an agent receives chats once they say
        // they are ready in the desktop.
        host.set_agent_state(login, AgentState::Offline)?;
    }
    let config = host.config().clone();
    let options = super::serve::options_for(&config, args.listen)?;
    let _lock =
        dossier_server::lock::ServeLock::acquire(&config.store_path(), &args.listen.to_string())
            .map_err(|e| dossier_host::Error::Refused(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let generator = {
        let (host, stop, every) = (host.clone(), stop.clone(), Duration::from_secs(args.every));
        std::thread::Builder::new()
            .name("demo-arrivals".into())
            .spawn(move || arrivals(&host, every, &stop))
            .map_err(|e| {
                dossier_host::Error::Refused(format!("cannot start the demo's arrivals: {e}"))
            })?
    };
    let mut said = Ok(());
    let served = super::serve::serve_until_stopped(host, options, |server| {
        let base = format!(
            "{}://{}",
            if server.is_tls() { "https" } else { "http" },
            server.local_addr()
        );
        said = out.say(format!(
            "\n== The demo, served\n\
             Open {base}/ in a browser and sign in as agent.smith or agent.jones (agents) \
             or agent.lee (a supervisor), password: {password}\n\
             The chat widget a customer sees: {base}/chat/widget?queue={QUEUE}\n\
             Every {every} s a call pops on agent.smith's desktop, or a customer starts a chat \
             in queue `{QUEUE}`: choose Available in the desktop to receive chats.\n\
             Ctrl-C stops.",
            every = args.every
        ));
    });
    stop.store(true, Ordering::Relaxed);
    let _ = generator.join();
    said?;
    served
}

/// Every `every`, a call pops on agent.smith's desktop or a chat arrives
/// in the queue (when fewer than [`MAX_WAITING`] wait), until `stop`.
fn arrivals(host: &Host, every: Duration, stop: &AtomicBool) {
    let mut next = Instant::now() + every;
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        next += every;
        let result = if turn.is_multiple_of(2) {
            chat_arrives(host, turn / 2)
        } else {
            call_arrives(host, turn / 2)
        };
        if let Err(e) = result {
            note!("demo: an arrival failed: {e}");
        }
        turn += 1;
    }
}

fn chat_arrives(host: &Host, n: usize) -> Result<()> {
    let waiting = host
        .chats(&ChatFilter {
            states: vec![ChatState::Waiting],
            ..Default::default()
        })?
        .len();
    if waiting >= MAX_WAITING {
        return Ok(());
    }
    let (name, email, words) = VISITORS[n % VISITORS.len()];
    let mut interaction = Interaction::new(Channel::Chat);
    interaction.queue = Some(QUEUE.to_owned());
    interaction.email = Some(email.to_owned());
    interaction.ip = Some(format!("203.0.113.{}", 10 + n % 200));
    interaction.context.insert("name".into(), name.to_owned());
    let server = host.as_chat_server()?;
    let arrived = server.chat_arrived(interaction)?;
    server.customer_message(arrived.chat, words)?;
    Ok(())
}

fn call_arrives(host: &Host, n: usize) -> Result<()> {
    let mut interaction = Interaction::new(Channel::Phone);
    interaction.caller = Some(CALLERS[n % CALLERS.len()].to_owned());
    host.push_pop(LOGINS[0], interaction)?;
    Ok(())
}
