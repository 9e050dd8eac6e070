//! The chat channel's rows: agents' loads and states (with their history),
//! chats and their offers and deadlines, transcripts, and the push feed.
//!
//! The claims are conditional writes, so that whatever any cache believes,
//! the store never lets an agent go past the capacity the caller names, nor
//! offers one chat twice.

use chrono::{DateTime, Utc};
use dossier_sdk::{CaseNumber, CustomerId};

use dossier_types::Result;
use dossier_types::chat::{
    AgentState, Chat, ChatFilter, ChatMessage, LogState, Sender, StateChange,
};

/// An agent's chat row. Agents who never set a chat state have none (they
/// are logged out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAgentRow {
    /// The agent.
    pub login: String,
    /// Their chat state.
    pub state: AgentState,
    /// Chats they are handling.
    pub active: u32,
    /// Offers they have not answered yet.
    pub pending: u32,
    /// When their last chat ended (or they became available): the longest-idle rule.
    pub idle_since: DateTime<Utc>,
    /// When their state last changed.
    pub state_since: DateTime<Utc>,
    /// Why it changed, when not by the agent (a missed offer, a reject).
    pub reason: Option<String>,
    /// The store's change counter when the row last changed: every change
    /// to any agent's row takes the next value, so a cache asks for the
    /// rows changed since the last value it saw.
    pub rev: i64,
}

/// How an ended chat's row is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEnd<'a> {
    /// The agent who ends it.
    pub agent: &'a str,
    /// When.
    pub now: DateTime<Utc>,
    /// The disposition code given.
    pub disposition: Option<&'a str>,
    /// The agent's note.
    pub note: Option<&'a str>,
    /// What becomes of its log.
    pub log: LogState,
    /// The transcript as the hooks left it, kept until the log is saved.
    pub log_text: Option<&'a str>,
}

/// Chat routing state, transcripts and the push feed.
pub trait ChatTx {
    /// One agent's chat row.
    fn chat_agent(&self, login: &str) -> Result<Option<ChatAgentRow>>;

    /// Every chat row changed after `rev`, oldest change first (all of them
    /// for `rev` 0).
    fn chat_agents_since(&self, rev: i64) -> Result<Vec<ChatAgentRow>>;

    /// Sets an agent's state (creating their row), records the change, and
    /// restarts their idle time when they become available. Returns the row.
    fn chat_agent_set_state(
        &self,
        login: &str,
        state: AgentState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<ChatAgentRow>;

    /// Counts one more pending offer for an agent, only if they are an
    /// enabled agent, available, and below `capacity` (active + pending);
    /// their idle time restarts. Returns the row as claimed, or `None` when
    /// the condition does not hold.
    fn chat_agent_claim(
        &self,
        login: &str,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<ChatAgentRow>>;

    /// One pending offer fewer; one active chat more when `accepted`.
    fn chat_agent_settle(&self, login: &str, accepted: bool) -> Result<ChatAgentRow>;

    /// One active chat fewer (it ended); their idle time restarts.
    fn chat_agent_finish(&self, login: &str, now: DateTime<Utc>) -> Result<ChatAgentRow>;

    /// Records a change of state the host derived (`busy`, and `available`
    /// again below capacity) without changing the row.
    fn chat_agent_log(
        &self,
        login: &str,
        state: &str,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// An agent's recorded changes, newest first, at most `limit`.
    fn chat_agent_history(&self, login: &str, limit: u32) -> Result<Vec<StateChange>>;

    /// Writes a new waiting chat; returns its id.
    fn insert_chat(&self, queue: &str, interaction: &str, now: DateTime<Utc>) -> Result<i64>;

    /// One chat.
    fn chat(&self, id: i64) -> Result<Option<Chat>>;

    /// The waiting chat of `queue` that arrived first (and its arrival),
    /// leaving out the ids in `skip`.
    fn oldest_waiting(&self, queue: &str, skip: &[i64]) -> Result<Option<(DateTime<Utc>, i64)>>;

    /// Offers a waiting chat to `agent` until `deadline`. False when the
    /// chat is no longer waiting (someone else offered it).
    fn chat_claim_offer(
        &self,
        id: i64,
        agent: &str,
        interaction: &str,
        now: DateTime<Utc>,
        deadline: DateTime<Utc>,
    ) -> Result<bool>;

    /// Moves an offer from one agent to another (a `chat_offered` hook chose).
    fn chat_move_offer(&self, id: i64, from: &str, to: &str, interaction: &str) -> Result<bool>;

    /// Records what the offer popped and the customer it identified.
    fn chat_set_pop(&self, id: i64, pop: &str, customer: Option<CustomerId>) -> Result<()>;

    /// Accepts an offered chat: only if it is offered to `agent` and the
    /// deadline is after `now`.
    fn chat_accept(&self, id: i64, agent: &str, now: DateTime<Utc>) -> Result<bool>;

    /// Puts an offered chat back in line (keeping its arrival time): only
    /// if it is offered to `agent`, and, when `due_at` is given (a missed
    /// deadline), only if its deadline is at or before it.
    fn chat_return(&self, id: i64, agent: &str, due_at: Option<DateTime<Utc>>) -> Result<bool>;

    /// Ends an active chat of `end.agent`. False when it is not one.
    fn chat_end(&self, id: i64, end: &ChatEnd<'_>) -> Result<bool>;

    /// Records that the log was saved as `case` for `customer`: only if it
    /// was not saved yet.
    fn chat_log_saved(&self, id: i64, case: CaseNumber, customer: CustomerId) -> Result<bool>;

    /// The transcript text kept for a log not saved yet.
    fn chat_log_text(&self, id: i64) -> Result<Option<String>>;

    /// Keeps `text` as the draft of chat `id`'s log (`None` clears it):
    /// only while the chat has ended and its log is not saved; false
    /// otherwise.
    fn set_chat_log_draft(&self, id: i64, text: Option<&str>) -> Result<bool>;

    /// Ids of offered chats whose deadline is at or before `now`, soonest first.
    fn due_chat_offers(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<i64>>;

    /// The soonest deadline of an offered chat.
    fn next_chat_deadline(&self) -> Result<Option<DateTime<Utc>>>;

    /// Keeps the hash of the secret a chat's visitor was given.
    fn set_visitor_secret(&self, id: i64, hash: &str) -> Result<()>;

    /// The hash of the secret a chat's visitor was given, if any.
    fn visitor_secret(&self, id: i64) -> Result<Option<String>>;

    /// Chats matching `filter`, newest first.
    fn list_chats(&self, filter: &ChatFilter, viewer: &crate::Viewer) -> Result<Vec<Chat>>;

    /// Appends a message to a chat's transcript.
    fn insert_chat_message(
        &self,
        chat: i64,
        sender: Sender,
        author: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<ChatMessage>;

    /// A chat's transcript, in order.
    fn chat_messages(&self, chat: i64) -> Result<Vec<ChatMessage>>;
}
