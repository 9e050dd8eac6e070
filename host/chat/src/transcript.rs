//! A chat's messages and typing, its end (the `chat_ended` step), and its
//! log saved as a case.
//!
//! Messages are stored in order (the transcript is append-only, like
//! follow-ups: the store refuses `UPDATE` and `DELETE` on it) with sender
//! and time, at most [`MAX_MESSAGE_CHARS`] characters each; a longer one is
//! refused with [`Error::MessageTooLong`], which carries the text back. An
//! agent may insert FAQ answers by shortcut: `/shortcut` tokens naming an
//! entry of the FAQ base are replaced by its text or link before the
//! length is checked.
//! Typing indicators are read-only: a check on a reader, then straight to
//! the subscribers.
//!
//! Ending runs `chat_ended` in the transaction that ends the chat and
//! writes its log: with `[chat] auto_log` on and a customer the pop
//! identified, the transcript (as the hooks left it) becomes a new case of
//! that customer with a `chat_log` follow-up, and the disposition code is
//! recorded on it (the `disposition` hooks run too). For a customer the pop
//! did not identify, the transcript is kept until the agent picks or creates
//! the customer, possibly editing it first (`Host::save_chat_log`); an
//! edited log may be kept as a draft on the chat meanwhile
//! (`Host::save_chat_log_draft`), which saving the log then uses.

use std::sync::Arc;

use dossier_sdk::{
    ChatEvent, CustomerId, Event, EventKind, ExpandMode, FollowUpKind, Interaction, NewCase,
    NewFollowUp, Permission,
};

use super::push::feed;
use super::states::note_load;
use super::{
    Chat, ChatMessage, ChatPush, ChatState, Ended, LogCustomer, LogState, MAX_MESSAGE_CHARS,
    SavedLog, Sender,
};
use crate::prelude::*;
use dossier_core::config::DispositionCode;
use dossier_core::events::{Actor, Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_interact::prelude::*;
use dossier_interact::{disposition_code, finish_interaction};
use dossier_store::ChatEnd;
use dossier_types::{Error, Result};

/// Refuses what may not be sent as a chat message. `sent` is the text as it
/// would be stored (FAQ answers inserted), `typed` what the agent typed,
/// which the error gives back.
fn check_text(sent: String, typed: String) -> Result<String> {
    let chars = sent.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(Error::MessageTooLong {
            chars,
            max: MAX_MESSAGE_CHARS,
            text: typed,
        });
    }
    if sent.trim().is_empty() {
        return Err(Error::Refused("a chat message cannot be empty".into()));
    }
    Ok(sent)
}

/// Who speaks: the agent on the chat (checked), or the customer (only the
/// chat server, acting as `system`, speaks for them). Returns the author.
fn speaker(ctx: &Ctx, chat: &Chat, from: Sender) -> Result<String> {
    match from {
        Sender::Agent => {
            let login = match ctx.actor() {
                Actor::Agent(login) => login.clone(),
                Actor::System => chat.agent.clone().unwrap_or_default(),
            };
            if chat.state != ChatState::Active || chat.agent.as_deref() != Some(login.as_str()) {
                return Err(Error::Refused(format!(
                    "{} cannot write in chat {}: it is {}{}",
                    if login.is_empty() { "nobody" } else { &login },
                    chat.id,
                    chat.state,
                    match (&chat.agent, chat.state) {
                        (Some(agent), ChatState::Active) => format!(", handled by {agent}"),
                        (_, ChatState::Offered) => ", not accepted yet".to_owned(),
                        _ => String::new(),
                    }
                )));
            }
            Ok(login)
        }
        Sender::Customer => {
            if let Actor::Agent(login) = ctx.actor() {
                return Err(Error::Refused(format!(
                    "agent {login} cannot speak for the customer of chat {}: the chat server does, as system",
                    chat.id
                )));
            }
            if chat.state == ChatState::Ended {
                return Err(Error::Refused(format!("chat {} has ended", chat.id)));
            }
            Ok(chat.visitor_name().unwrap_or("customer").to_owned())
        }
    }
}

/// The transcript as text: a header, then one line per message.
fn render(rt: &Runtime, chat: &Chat, messages: &[ChatMessage]) -> String {
    let zone = rt.config().time.time_zone();
    let mut text = format!("Chat {} in queue {}", chat.id, chat.queue);
    let who = match (chat.visitor_name(), &chat.interaction.email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(name), None) => Some(name.to_owned()),
        (None, Some(email)) => Some(email.clone()),
        (None, None) => None,
    };
    if let Some(who) = who {
        text.push_str(&format!(" with {who}"));
    }
    if let Some(ip) = &chat.interaction.ip {
        text.push_str(&format!(" (IP {ip})"));
    }
    if let Some(agent) = &chat.agent {
        text.push_str(&format!(", handled by {agent}"));
    }
    text.push_str(&format!(
        ", from {}.\n",
        dossier_core::time::show_seconds(chat.arrived_at, &zone)
    ));
    for m in messages {
        let shown = dossier_core::time::show_seconds(m.at, &zone);
        let clock = shown.get(11..19).unwrap_or(&shown);
        let role = match m.sender {
            Sender::Customer => "customer",
            Sender::Agent => "agent",
        };
        text.push_str(&format!("[{clock}] {} ({role}): {}\n", m.author, m.text));
    }
    text
}

/// The `chat_ended` step.
struct EndStep {
    id: i64,
    login: String,
    code: Option<DispositionCode>,
    note: Option<String>,
    chat: Option<Chat>,
}

impl Step for EndStep {
    type Out = Ended;

    fn kind(&self) -> EventKind {
        EventKind::ChatEnded
    }

    fn label(&self) -> &str {
        "chat end"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, _ctx: &Ctx) -> Result<Option<Event>> {
        let id = self.id;
        let (chat, messages) = rt.store().read(|tx| {
            let chat = tx.chat(id)?.ok_or(Error::UnknownChat { id })?;
            let messages = tx.chat_messages(id)?;
            Ok((chat, messages))
        })?;
        if chat.state != ChatState::Active || chat.agent.as_deref() != Some(self.login.as_str()) {
            return Err(Error::Refused(format!(
                "{} cannot end chat {id}: it is {}{}",
                self.login,
                chat.state,
                match &chat.agent {
                    Some(agent) if chat.state == ChatState::Active =>
                        format!(", handled by {agent}"),
                    _ => String::new(),
                }
            )));
        }
        let transcript = render(rt, &chat, &messages);
        let event = Event::ChatEnded(ChatEvent {
            chat: id,
            interaction: chat.interaction.clone(),
            agent: Some(self.login.clone()),
            transcript: Some(transcript),
        });
        self.chat = Some(chat);
        Ok(Some(event))
    }

    fn recheck(
        &mut self,
        _rt: &Arc<Runtime>,
        _ctx: &Ctx,
        built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let (Event::ChatEnded(ended), Event::ChatEnded(built)) = (&*event, built) else {
            return Err(Error::Refused(
                "a chat_ended hook replaced the event".into(),
            ));
        };
        if ended.chat != built.chat
            || ended.interaction != built.interaction
            || ended.agent != built.agent
        {
            return Err(Error::Refused(
                "a chat_ended hook may change only `transcript`, the text that is logged".into(),
            ));
        }
        Ok(())
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Ended> {
        let (Some(Event::ChatEnded(ended)), Some(chat)) = (event, self.chat) else {
            return Err(Error::Refused(
                "internal error: a chat end lost its event".into(),
            ));
        };
        let id = self.id;
        let login = self.login.as_str();
        let config = &rt.config().chat;
        let transcript = ended.transcript;
        let log = match (&transcript, chat.customer) {
            (None, _) => LogState::NotLogged,
            (Some(_), _) if !config.auto_log => LogState::NotLogged,
            (Some(_), Some(_)) => LogState::Saved,
            (Some(_), None) => LogState::NeedsCustomer,
        };
        let now = rt.now();
        let code = self.code.as_ref().map(|c| c.code.as_str());
        rt.store().write("chat end", |tx| {
            let end = ChatEnd {
                agent: login,
                now,
                disposition: code,
                note: self.note.as_deref(),
                log: if log == LogState::Saved {
                    LogState::NeedsCustomer
                } else {
                    log
                },
                log_text: transcript.as_deref(),
            };
            if !tx.chat_end(id, &end)? {
                return Err(Error::Refused(format!("chat {id} is no longer active")));
            }
            let row = tx.chat_agent_finish(login, now)?;
            note_load(rt, tx, row.active + row.pending + 1, &row, now)
        })?;
        let saved = match (log, chat.customer, &transcript) {
            (LogState::Saved, Some(customer), Some(text)) => Some(save_log(
                rt,
                ctx,
                &chat,
                login,
                customer,
                text.clone(),
                code,
                self.note.clone(),
            )?),
            _ => {
                // Nothing is logged now: the disposition hooks still run,
                // on no case (a log saved later gets it when the customer
                // was unknown: see `save_chat_log`).
                if let (Some(code), true) = (code, log == LogState::NotLogged) {
                    let interaction = Interaction {
                        case_number: None,
                        agent: Some(login.to_owned()),
                        ..chat.interaction.clone()
                    };
                    rt.dispose(ctx, interaction, code, self.note.clone())?;
                }
                None
            }
        };
        rt.store().write("chat end", |tx| {
            feed(
                tx,
                Some(login),
                Some(id),
                &ChatPush::Ended {
                    chat: id,
                    agent: Some(login.to_owned()),
                    case_number: saved.as_ref().map(|s| s.case.number),
                },
                now,
            )
        })?;
        let chat = rt
            .store()
            .read(|tx| tx.chat(id))?
            .ok_or(Error::UnknownChat { id })?;
        Ok(Ended {
            chat,
            transcript: transcript.unwrap_or_default(),
            log: saved,
            routed: Default::default(),
        })
    }
}

/// Saves `text` as a new case of `customer` with a `chat_log` follow-up,
/// records the disposition `code` on it, and marks the chat's log saved.
#[allow(clippy::too_many_arguments)]
fn save_log(
    rt: &Arc<Runtime>,
    ctx: &Ctx,
    chat: &Chat,
    agent: &str,
    customer: CustomerId,
    text: String,
    code: Option<&str>,
    note: Option<String>,
) -> Result<SavedLog> {
    let zone = rt.config().time.time_zone();
    let who = chat
        .visitor_name()
        .map(str::to_owned)
        .or_else(|| chat.interaction.email.clone())
        .unwrap_or_else(|| "the customer".to_owned());
    let mut description = format!(
        "Chat {} in queue {} with {who}, {}, handled by {agent}.",
        chat.id,
        chat.queue,
        dossier_core::time::show(chat.arrived_at, &zone)
    );
    if let Some(named) = chat.interaction.case_number {
        description.push_str(&format!(" The customer named case {named}."));
    }
    let case = rt.open_case(
        ctx,
        NewCase {
            description,
            owner: Some(agent.to_owned()),
            ..NewCase::new(customer, format!("Chat {} with {who}", chat.id))
        },
    )?;
    let follow_up = rt.add_follow_up(
        ctx,
        NewFollowUp {
            kind: FollowUpKind::ChatLog,
            ..NewFollowUp::note(case.number, agent, text)
        },
    )?;
    let disposed = match code {
        Some(code) => {
            let interaction = Interaction {
                case_number: Some(case.number),
                agent: Some(agent.to_owned()),
                ..chat.interaction.clone()
            };
            Some(rt.dispose(ctx, interaction, code, note)?)
        }
        None => None,
    };
    let saved = rt.store().write("chat log", |tx| {
        tx.chat_log_saved(chat.id, case.number, customer)
    })?;
    if !saved {
        return Err(Error::Refused(format!(
            "the log of chat {} was saved meanwhile",
            chat.id
        )));
    }
    let case = disposed
        .as_ref()
        .and_then(|d| d.case.clone())
        .unwrap_or(case);
    Ok(SavedLog {
        case,
        follow_up,
        disposed,
    })
}

/// Refuses to work on the log of `chat` (`what`, for the message) unless
/// the chat ended and its log is not saved yet, and the acting agent is
/// the one who handled it or holds `manage_agents`. Returns that agent.
fn check_log_open(rt: &Runtime, ctx: &Ctx, chat: &Chat, what: &str) -> Result<String> {
    let id = chat.id;
    match (chat.log, chat.case_number) {
        (LogState::Saved, Some(case)) => {
            return Err(Error::Refused(format!(
                "the log of chat {id} is already saved as case {case}"
            )));
        }
        (LogState::Pending, _) => {
            return Err(Error::Refused(format!(
                "chat {id} has not ended: end it first"
            )));
        }
        _ => {}
    }
    let agent = chat.agent.clone().unwrap_or_default();
    if let Actor::Agent(login) = ctx.actor()
        && *login != agent
    {
        rt.require(
            ctx,
            Permission::ManageAgents,
            &format!("{what} of chat {id}, which {agent} handled"),
        )?;
    }
    Ok(agent)
}

/// Chat messages, typing, ends and saved logs, on the runtime.
pub trait ChatTranscripts {
    /// Sends a message in chat `id`: see `Host::chat_message`.
    fn chat_message(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        from: Sender,
        text: String,
        faq: Option<ExpandMode>,
    ) -> Result<ChatMessage>;

    /// Tells the other side of chat `id` that `from` is typing: a read and
    /// the subscribers, never a write.
    fn chat_typing(&self, ctx: &Ctx, id: i64, from: Sender) -> Result<()>;

    /// A chat's transcript, in order.
    fn chat_transcript(&self, id: i64) -> Result<Vec<ChatMessage>>;

    /// Ends chat `id`: see `Host::end_chat`.
    fn end_chat(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        code: Option<&str>,
        note: Option<String>,
    ) -> Result<Ended>;

    /// Keeps `text` as the draft of the log of ended chat `id`, to finish
    /// later: see `Host::save_chat_log_draft`.
    fn save_chat_log_draft(&self, ctx: &Ctx, id: i64, text: String) -> Result<Chat>;

    /// Saves the log of an ended chat whose log was not saved: see
    /// `Host::save_chat_log`.
    fn save_chat_log(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        who: LogCustomer,
        edited: Option<String>,
    ) -> Result<SavedLog>;
}

impl ChatTranscripts for Runtime {
    fn chat_message(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        from: Sender,
        text: String,
        faq: Option<ExpandMode>,
    ) -> Result<ChatMessage> {
        // FAQ answers by shortcut (`/refund`), from the FAQ base, read on a
        // reader before the write.
        let sent = match faq {
            Some(mode) => self.expand_shortcuts(&text, mode)?,
            None => text.clone(),
        };
        let text = check_text(sent, text)?;
        let now = self.now();
        let message = self.store().write("chat message", |tx| {
            let chat = tx.chat(id)?.ok_or(Error::UnknownChat { id })?;
            let author = speaker(ctx, &chat, from)?;
            let message = tx.insert_chat_message(id, from, &author, &text, now)?;
            feed(
                tx,
                chat.agent.as_deref(),
                Some(id),
                &ChatPush::Message {
                    message: message.clone(),
                },
                now,
            )?;
            Ok(message)
        })?;
        self.chat_pump();
        Ok(message)
    }

    fn chat_typing(&self, ctx: &Ctx, id: i64, from: Sender) -> Result<()> {
        let chat = self.chat(id)?;
        speaker(ctx, &chat, from)?;
        self.chats().subscribers.typing(&chat, from);
        Ok(())
    }

    fn chat_transcript(&self, id: i64) -> Result<Vec<ChatMessage>> {
        self.chat(id)?;
        self.store().read(|tx| tx.chat_messages(id))
    }

    fn end_chat(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        code: Option<&str>,
        note: Option<String>,
    ) -> Result<Ended> {
        let chat = self.chat(id)?;
        let login = match ctx.actor() {
            Actor::Agent(login) => login.clone(),
            Actor::System => chat.agent.clone().ok_or_else(|| {
                Error::Refused(format!("chat {id} is {}: nobody handles it", chat.state))
            })?,
        };
        let code = match code {
            Some(code) => Some(disposition_code(
                self.config(),
                dossier_sdk::Channel::Chat,
                code,
            )?),
            None => {
                finish_interaction(self.config(), &chat.interaction)?;
                None
            }
        };
        let note = note.filter(|n| !n.trim().is_empty());
        let mut ended = self.run(
            ctx,
            EndStep {
                id,
                login: login.clone(),
                code,
                note,
                chat: None,
            },
        )?;
        let view = super::queues::view(self)?;
        ended.routed = self.route_queues(ctx, view.members.queues_of(&login));
        self.chat_pump();
        Ok(ended)
    }

    fn save_chat_log_draft(&self, ctx: &Ctx, id: i64, text: String) -> Result<Chat> {
        let chat = self.chat(id)?;
        check_log_open(self, ctx, &chat, "keep a draft of the log")?;
        if text.trim().is_empty() {
            return Err(Error::Refused("an edited chat log cannot be empty".into()));
        }
        let kept = self.store().write("chat log draft", |tx| {
            tx.set_chat_log_draft(id, Some(&text))
        })?;
        if !kept {
            return Err(Error::Refused(format!(
                "the log of chat {id} was saved meanwhile"
            )));
        }
        self.chat(id)
    }

    fn save_chat_log(
        self: &Arc<Self>,
        ctx: &Ctx,
        id: i64,
        who: LogCustomer,
        edited: Option<String>,
    ) -> Result<SavedLog> {
        let chat = self.chat(id)?;
        let agent = check_log_open(self, ctx, &chat, "save the log")?;
        let text = match edited.or_else(|| chat.log_draft.clone()) {
            Some(text) if text.trim().is_empty() => {
                return Err(Error::Refused("an edited chat log cannot be empty".into()));
            }
            Some(text) => text,
            None => match self.store().read(|tx| tx.chat_log_text(id))? {
                Some(text) => text,
                None => {
                    let messages = self.chat_transcript(id)?;
                    render(self, &chat, &messages)
                }
            },
        };
        // The disposition was kept for the case when the customer was unknown.
        let code = match chat.log {
            LogState::NeedsCustomer => chat.disposition.clone(),
            _ => None,
        };
        let note = chat.note.clone();
        self.transaction("save chat log", || {
            let customer = match &who {
                LogCustomer::Popped => chat.customer.ok_or_else(|| {
                    Error::Refused(format!(
                        "the pop of chat {id} found no customer: pick one or create one"
                    ))
                })?,
                LogCustomer::Existing(customer) => self.customer(ctx, *customer)?.id,
                LogCustomer::New(new) => self.create_customer(ctx, (**new).clone())?.id,
            };
            save_log(
                self,
                ctx,
                &chat,
                &agent,
                customer,
                text.clone(),
                code.as_deref(),
                note.clone(),
            )
        })
    }
}
