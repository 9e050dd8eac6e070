//! The facade's chat operations (the work is in `crate::chat`;
//! `docs/chat.md` is the guide).
//!
//! A chat server (acting as `system`) reports arrivals and the customer's
//! messages and typing; agents' desktops (acting as the agent, through
//! [`Host::as_agent`]) set their state, accept or reject offers, write,
//! type and end chats, and subscribe to what they must show.

use std::sync::mpsc::Receiver;

use dossier_sdk::{ExpandMode, Interaction};

use super::Host;
use crate::chat::email_offers::{EmailOffers, EmailRouted};
use crate::chat::queues::ChatQueues;
use crate::chat::{
    AgentState, AgentStatus, Arrived, Chat, ChatFilter, ChatMessage, ChatPush, ChatState, Ended,
    LogCustomer, Returned, Routed, SavedLog, Sender, StateChange,
};
use crate::events::Actor;
use dossier_types::queues::{EmailOffer, Queue, QueueChannel};

/// A chat a visitor started ([`Host::start_visitor_chat`]).
#[derive(Debug, Clone)]
pub struct VisitorChat {
    /// The chat and the offer routing made for it, if an agent was free.
    pub arrived: Arrived,
    /// The secret the visitor presents on every later call; shown once.
    pub secret: String,
}
use crate::prelude::*;
use dossier_types::{Error, Result};

impl Host {
    /// A chat arrived: `interaction.queue` names its queue (one of
    /// `[chat.queues]`, else [`Error::UnknownQueue`]); the customer's name is
    /// `interaction.context["name"]`, with their email, IP address and the
    /// account or case they gave. The chat joins the queue's line and is
    /// offered at once if a member is ready and no older chat waits there:
    /// the offer runs `chat_offered`, then the screen-pop for the agent.
    pub fn chat_arrived(&self, interaction: Interaction) -> Result<Arrived> {
        self.rt.chat_arrived(&self.ctx()?, interaction)
    }

    /// Accepts the chat offered to the acting agent, before its deadline.
    pub fn accept_chat(&self, chat: i64) -> Result<Chat> {
        self.rt.accept_chat(&self.ctx()?, chat)
    }

    /// Rejects the chat offered to the acting agent. Needs `reject_chat`:
    /// without it the refusal is
    /// [`Error::PermissionDenied`](crate::Error::PermissionDenied) and the
    /// offer stands. A rejection puts the agent on break and offers the
    /// chat to the next agent; it keeps its place in line.
    pub fn reject_chat(&self, chat: i64) -> Result<Returned> {
        self.rt.reject_chat(&self.ctx()?, chat)
    }

    /// The acting agent writes in their active chat. At most
    /// [`MAX_MESSAGE_CHARS`](crate::MAX_MESSAGE_CHARS) characters: a longer
    /// text is refused with [`Error::MessageTooLong`], which gives the text
    /// back.
    pub fn chat_message(&self, chat: i64, text: impl Into<String>) -> Result<ChatMessage> {
        self.rt
            .chat_message(&self.ctx()?, chat, Sender::Agent, text.into(), None)
    }

    /// [`Host::chat_message`] with FAQ answers inserted by shortcut: each
    /// `/shortcut` naming an entry of the FAQ base becomes the entry's text
    /// ([`ExpandMode::Text`]) or link ([`ExpandMode::Link`]; its text when
    /// it has none), as [`Host::expand_faq`] does, before the length is
    /// checked (a refusal gives back the text as typed).
    pub fn chat_message_with_faq(
        &self,
        chat: i64,
        text: impl Into<String>,
        mode: ExpandMode,
    ) -> Result<ChatMessage> {
        self.rt
            .chat_message(&self.ctx()?, chat, Sender::Agent, text.into(), Some(mode))
    }

    /// The customer writes (the chat server calls this, as `system`), from
    /// arrival until the chat ends. Same length rule as agents.
    pub fn customer_message(&self, chat: i64, text: impl Into<String>) -> Result<ChatMessage> {
        self.rt
            .chat_message(&self.ctx()?, chat, Sender::Customer, text.into(), None)
    }

    /// The acting agent is typing in their active chat: the customer's
    /// subscribers ([`Host::subscribe_chat`]) are told. Never stored, never
    /// takes the write lock.
    pub fn agent_typing(&self, chat: i64) -> Result<()> {
        self.rt.chat_typing(&self.ctx()?, chat, Sender::Agent)
    }

    /// The customer is typing (as `system`): the agent's subscribers are
    /// told. Never stored, never takes the write lock.
    pub fn customer_typing(&self, chat: i64) -> Result<()> {
        self.rt.chat_typing(&self.ctx()?, chat, Sender::Customer)
    }

    /// A chat's transcript, in order, with sender and time. A chat logged
    /// to a case the acting agent may not see is hidden from them, like
    /// the case.
    pub fn chat_transcript(&self, chat: i64) -> Result<Vec<ChatMessage>> {
        self.check_chat_visible(&self.rt.chat(chat)?)?;
        self.rt.chat_transcript(chat)
    }

    /// Refuses with [`Error::Hidden`] when `chat` was logged to a case the
    /// acting agent may not see.
    fn check_chat_visible(&self, chat: &Chat) -> Result<()> {
        if let (Actor::Agent(login), Some(number)) = (&self.actor, chat.case_number) {
            match self.case(number) {
                Ok(_) => {}
                Err(Error::Hidden { .. }) => {
                    return Err(Error::Hidden {
                        what: format!("chat {}", chat.id),
                        login: login.clone(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Ends the acting agent's active chat with disposition `code` (one of
    /// `[dispositions.chat]`; required when it says `required = true`).
    /// In one transaction: `chat_ended` runs (hooks may change the
    /// transcript, or clear it so nothing is logged), the chat ends, and,
    /// with `[chat] auto_log` on and a customer the pop identified, the
    /// transcript becomes a new case of that customer with a `chat_log`
    /// follow-up and the disposition recorded on it. The capacity freed
    /// goes to the waiting chats of the agent's queues.
    pub fn end_chat(&self, chat: i64, code: Option<&str>, note: Option<String>) -> Result<Ended> {
        self.rt.end_chat(&self.ctx()?, chat, code, note)
    }

    /// Saves the log of an ended chat that was not logged at its end: the
    /// pop found no customer (the agent picks an existing one or creates
    /// one: `who`), or `[chat] auto_log` is off. `edited` replaces the
    /// transcript's text in the log (the stored transcript is unchanged);
    /// without it, the draft kept with [`Host::save_chat_log_draft`] does,
    /// when there is one. The disposition the chat ended with is recorded
    /// on the new case when the customer was unknown.
    pub fn save_chat_log(
        &self,
        chat: i64,
        who: LogCustomer,
        edited: Option<String>,
    ) -> Result<SavedLog> {
        self.rt.save_chat_log(&self.ctx()?, chat, who, edited)
    }

    /// Keeps `text`, the agent's edit of an ended chat's log, as a draft on
    /// the chat, to finish later: no customer is needed yet, and nothing
    /// is logged. A later draft replaces it; [`Host::save_chat_log`]
    /// without an `edited` text saves it, and clears it. Only the agent who
    /// handled the chat (or a holder of `manage_agents`), only while the
    /// chat has ended and its log is not saved; an empty text is refused.
    /// Returns the chat, its `log_draft` set.
    pub fn save_chat_log_draft(&self, chat: i64, text: impl Into<String>) -> Result<Chat> {
        self.rt.save_chat_log_draft(&self.ctx()?, chat, text.into())
    }

    /// Sets the acting agent's chat state (`system`, or an agent with
    /// `manage_agents`, may set anyone's with [`Host::set_agent_state`]).
    /// Becoming available offers them the waiting chats of their queues.
    pub fn set_chat_state(&self, state: AgentState) -> Result<(AgentStatus, Routed)> {
        let Actor::Agent(login) = &self.actor else {
            return Err(Error::Refused(
                "system has no chat state: set an agent's with set_agent_state".into(),
            ));
        };
        self.rt.set_chat_state(&self.ctx()?, login, state)
    }

    /// Sets `login`'s chat state: their own, or anyone's with `manage_agents`.
    pub fn set_agent_state(&self, login: &str, state: AgentState) -> Result<(AgentStatus, Routed)> {
        self.rt.set_chat_state(&self.ctx()?, login, state)
    }

    /// Every queue with its members, for an actor holding `manage_agents`
    /// (and the system); an agent gets the queues they are assigned to.
    pub fn queues(&self) -> Result<Vec<Queue>> {
        self.rt.queues(&self.ctx()?)
    }

    /// Queue `name` with its members, if the acting agent may see it
    /// (see [`Host::queues`]); else [`Error::UnknownQueue`].
    pub fn queue(&self, name: &str) -> Result<Queue> {
        self.rt.queue(&self.ctx()?, name)
    }

    /// Creates chat queue `name` (its capacity when given), or changes an
    /// existing one's capacity, and assigns `members` to it, switched on.
    /// Needs `manage_agents`. Routes the queue's waiting chats.
    pub fn add_queue(
        &self,
        name: &str,
        capacity: Option<u32>,
        members: &[String],
    ) -> Result<(Queue, Routed)> {
        self.rt
            .add_queue(&self.ctx()?, name, QueueChannel::Chat, capacity, members)
    }

    /// [`Host::add_queue`] for a queue of `channel`: an email queue holds
    /// new emails' cases, offered to its members one at a time (see
    /// [`Host::email_offers`]).
    pub fn add_queue_of(
        &self,
        name: &str,
        channel: QueueChannel,
        capacity: Option<u32>,
        members: &[String],
    ) -> Result<(Queue, Routed)> {
        self.rt
            .add_queue(&self.ctx()?, name, channel, capacity, members)
    }

    /// The acting agent's email offers: offered to them (until a
    /// deadline), or accepted and not done.
    pub fn email_offers(&self) -> Result<Vec<EmailOffer>> {
        self.rt.my_email_offers(&self.ctx()?)
    }

    /// The acting agent accepts email offer `id` before its deadline: it
    /// joins their workbin and the case becomes theirs.
    pub fn accept_email(&self, id: i64) -> Result<(EmailOffer, dossier_sdk::WorkbinItem)> {
        self.rt.accept_email(&self.ctx()?, id)
    }

    /// The acting agent rejects email offer `id` (needs `reject_chat`, as a
    /// chat's rejection): they go on break and the email goes to the next
    /// member. Returns the offers routing made next.
    pub fn reject_email(&self, id: i64) -> Result<EmailRouted> {
        self.rt.reject_email(&self.ctx()?, id)
    }

    /// Offers the waiting emails of every email queue to their members
    /// while someone qualifies (`Host::tick` does it too).
    pub fn route_email(&self) -> EmailRouted {
        self.rt.route_email(None)
    }

    /// Removes `members` from queue `name`, or the queue itself when
    /// `members` is empty (refused while chats wait in it). Needs
    /// `manage_agents`. Returns the queue as it is after.
    pub fn remove_queue(&self, name: &str, members: &[String]) -> Result<Option<Queue>> {
        self.rt.remove_queue(&self.ctx()?, name, members)
    }

    /// Switches the acting agent's membership of `queue` on (they get its
    /// chats again, and its waiting chats are routed) or off. Needs
    /// `manage_own_queues`, which supervisors and admins hold and an admin
    /// grants to agents; the agent must be assigned to the queue.
    pub fn join_queue(&self, queue: &str, joined: bool) -> Result<(Queue, Routed)> {
        let Actor::Agent(login) = &self.actor else {
            return Err(Error::Refused(
                "system is in no queue: switch an agent's with switch_queue".into(),
            ));
        };
        self.rt.switch_queue(&self.ctx()?, queue, login, joined)
    }

    /// Switches `login`'s membership of `queue` on or off: one's own with
    /// `manage_own_queues`, anyone's with `manage_agents`.
    pub fn switch_queue(&self, queue: &str, login: &str, joined: bool) -> Result<(Queue, Routed)> {
        self.rt.switch_queue(&self.ctx()?, queue, login, joined)
    }

    /// Where `login` stands for chat: state, busy, load, capacity, queues.
    pub fn chat_status(&self, login: &str) -> Result<AgentStatus> {
        self.rt.chat_status(login)
    }

    /// The chat status of every enabled agent.
    pub fn chat_statuses(&self) -> Result<Vec<AgentStatus>> {
        self.rt.chat_statuses()
    }

    /// `login`'s recorded state changes (busy and available again
    /// included), newest first, at most `limit`.
    pub fn chat_history(&self, login: &str, limit: u32) -> Result<Vec<StateChange>> {
        self.rt.chat_history(login, limit)
    }

    /// The soonest acceptance deadline of an offer still running, if any:
    /// an embedder's own loop calls [`Host::tick`] then.
    pub fn next_chat_deadline(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        self.rt.store().read(|tx| tx.next_chat_deadline())
    }

    /// One chat; hidden, like its case, when it was logged to a case the
    /// acting agent may not see.
    pub fn chat(&self, chat: i64) -> Result<Chat> {
        let found = self.rt.chat(chat)?;
        self.check_chat_visible(&found)?;
        Ok(found)
    }

    /// The chats matching `filter`, newest first, but for those logged to
    /// a case the acting agent may not see (left out by the store's
    /// query, as [`Host::chat`] hides them, so a page is full whenever
    /// more chats match).
    pub fn chats(&self, filter: &ChatFilter) -> Result<Vec<Chat>> {
        self.rt.list_chats(&self.ctx()?, filter)
    }

    /// An agent's chat worklist, newest first, at most `limit`: `agent`'s
    /// chats in `state`, or, without a state, those offered to them or
    /// active, and their ended chats still waiting for a customer to be
    /// logged to. `agent: None` lists every agent's (in `state`, or all).
    pub fn chat_worklist(
        &self,
        agent: Option<String>,
        state: Option<ChatState>,
        limit: u32,
    ) -> Result<Vec<Chat>> {
        let mine = agent.is_some();
        let filter = ChatFilter {
            agent,
            states: match state {
                Some(state) => vec![state],
                None if !mine => Vec::new(),
                None => vec![ChatState::Offered, ChatState::Active],
            },
            needs_customer: false,
            limit: Some(limit),
        };
        let mut chats = self.chats(&filter)?;
        if mine && state.is_none() {
            chats.extend(self.chats(&ChatFilter {
                needs_customer: true,
                states: Vec::new(),
                ..filter
            })?);
            chats.sort_by_key(|c| std::cmp::Reverse(c.id));
            chats.dedup_by_key(|c| c.id);
            chats.truncate(limit as usize);
        }
        Ok(chats)
    }

    /// A visitor starts a chat through the server's visitor endpoint:
    /// [`Host::chat_arrived`] as the chat server, then a secret only this
    /// visitor gets, which every later call of theirs presents
    /// ([`Host::visitor_chat`]). The store keeps only its hash.
    pub fn start_visitor_chat(&self, interaction: Interaction) -> Result<VisitorChat> {
        let arrived = self.as_chat_server()?.chat_arrived(interaction)?;
        let (secret, hash) = dossier_core::runtime::credentials::visitor_secret()?;
        self.rt.store().write("chat visitor secret", |tx| {
            tx.set_visitor_secret(arrived.chat, &hash)
        })?;
        Ok(VisitorChat { arrived, secret })
    }

    /// The chat whose visitor holds `secret`; [`Error::UnknownChat`] for a
    /// wrong secret, exactly as for a chat that does not exist.
    pub fn visitor_chat(&self, chat: i64, secret: &str) -> Result<Chat> {
        let hash = self.rt.store().read(|tx| tx.visitor_secret(chat))?;
        match hash {
            Some(hash) if dossier_core::runtime::credentials::secret_matches(secret, &hash) => {
                self.rt.chat(chat)
            }
            _ => Err(Error::UnknownChat { id: chat }),
        }
    }

    /// The same host acting as the chat server (`system`): what a chat
    /// front end calls the customer's side on (the CLI's `chat arrive` and
    /// `chat send --customer` stand in for one). Speaking for customers
    /// writes into any agent's chat, so an agent needs the `cti`
    /// permission, as connectors reporting interactions do
    /// ([`Error::PermissionDenied`](crate::Error::PermissionDenied) otherwise).
    pub fn as_chat_server(&self) -> Result<Host> {
        self.rt.require(
            &self.ctx()?,
            dossier_sdk::Permission::Cti,
            "speak for a chat's customer",
        )?;
        Ok(Host {
            actor: Actor::System,
            ..self.clone()
        })
    }

    /// A stream of what `agent`'s desktop must show, as it happens: offers
    /// (with the customer's name, email, IP address and the screen-pop),
    /// messages of their chats, the customer typing, timeouts, rejections,
    /// state changes, ends. Committed pushes come from the store's feed, in
    /// commit order, none lost for a subscriber that keeps up; a slow one
    /// gets them late (see `docs/chat.md`). Pushes committed by another
    /// process reach this one's subscribers at its next chat operation or
    /// [`Host::tick`]. Dropping the receiver ends the subscription.
    pub fn subscribe(&self, agent: &str) -> Result<Receiver<ChatPush>> {
        self.rt.agent(agent)?;
        self.rt
            .chats()
            .subscribers
            .subscribe(&self.rt, crate::chat::push::Who::Agent(agent.to_owned()))
    }

    /// A stream of what the customer's chat window must show: the agent
    /// joining, messages, the agent typing, the end. Same delivery as
    /// [`Host::subscribe`].
    pub fn subscribe_chat(&self, chat: i64) -> Result<Receiver<ChatPush>> {
        self.rt.chat(chat)?;
        self.rt
            .chats()
            .subscribers
            .subscribe(&self.rt, crate::chat::push::Who::Chat(chat))
    }
}
