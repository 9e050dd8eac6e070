//! Numbered migrations, keyed on `PRAGMA user_version`, run on open inside
//! one transaction. Append new steps; never edit a released one.

use super::db;
use rusqlite::Connection;

use dossier_types::{Error, Result};

const STEPS: &[&str] = &[
    // 1: the object hierarchy, custom field bookkeeping, the outbox.
    r#"
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '{}',
    custom      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX customers_name ON customers(name COLLATE NOCASE);

CREATE TABLE customer_phones (
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    label       TEXT NOT NULL,
    number      TEXT NOT NULL,
    PRIMARY KEY (customer_id, position)
) WITHOUT ROWID;
CREATE INDEX customer_phones_number ON customer_phones(number);

CREATE TABLE customer_emails (
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    label       TEXT NOT NULL,
    address     TEXT NOT NULL,
    PRIMARY KEY (customer_id, position)
) WITHOUT ROWID;
CREATE INDEX customer_emails_address ON customer_emails(address);

CREATE TABLE cases (
    number           INTEGER PRIMARY KEY,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    subject          TEXT NOT NULL,
    description      TEXT NOT NULL,
    status           TEXT NOT NULL,
    is_open          INTEGER NOT NULL,
    visibility       TEXT NOT NULL,
    severity         TEXT NOT NULL,
    priority         TEXT NOT NULL,
    owner            TEXT,
    grp              TEXT,
    last_disposition TEXT,
    thread_token     TEXT UNIQUE,
    custom           TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX cases_customer ON cases(customer_id, is_open, number);
CREATE INDEX cases_owner ON cases(owner, is_open) WHERE owner IS NOT NULL;

CREATE TABLE follow_ups (
    id          INTEGER PRIMARY KEY,
    case_number INTEGER NOT NULL REFERENCES cases(number),
    kind        TEXT NOT NULL,
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    html        TEXT,
    email       TEXT,
    message_id  TEXT,
    attachments TEXT NOT NULL DEFAULT '[]',
    custom      TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
CREATE INDEX follow_ups_case ON follow_ups(case_number, id);
CREATE UNIQUE INDEX follow_ups_message_id ON follow_ups(message_id) WHERE message_id IS NOT NULL;
CREATE TRIGGER follow_ups_append_only_update BEFORE UPDATE ON follow_ups
BEGIN
    SELECT RAISE(ABORT, 'follow-ups are append-only: UPDATE refused');
END;
CREATE TRIGGER follow_ups_append_only_delete BEFORE DELETE ON follow_ups
BEGIN
    SELECT RAISE(ABORT, 'follow-ups are append-only: DELETE refused');
END;

CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    customer_id      INTEGER REFERENCES customers(id),
    case_number      INTEGER REFERENCES cases(number),
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    reminder_minutes INTEGER,
    remind_at        TEXT,
    reminded_at      TEXT,
    status           TEXT NOT NULL,
    assignee         TEXT,
    custom           TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX tasks_due_reminders ON tasks(remind_at)
    WHERE remind_at IS NOT NULL AND reminded_at IS NULL AND status = 'planned';
CREATE INDEX tasks_case ON tasks(case_number);
CREATE INDEX tasks_customer ON tasks(customer_id);
CREATE INDEX tasks_assignee ON tasks(assignee, status);

CREATE TABLE field_defs (
    object  TEXT NOT NULL,
    name    TEXT NOT NULL,
    type    TEXT NOT NULL,
    choices TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (object, name)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    event           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_pending ON outbox(next_attempt_at) WHERE delivered_at IS NULL;
"#,
    // 2: one outbox delivery per (event, handler); causal depth and chain
    // stored with what carries work forward (outbox entries, hook-planned tasks).
    r#"
CREATE TABLE outbox_deliveries (
    id              INTEGER PRIMARY KEY,
    entry_id        INTEGER NOT NULL REFERENCES outbox(id),
    handler         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at    TEXT,
    dead_at         TEXT,
    last_error      TEXT,
    UNIQUE (entry_id, handler)
);
CREATE INDEX outbox_deliveries_due ON outbox_deliveries(next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
-- Entries queued before this step go to every handler that wants them
-- when they are next due: `*` is split per handler at delivery.
INSERT INTO outbox_deliveries (entry_id, handler, attempts, next_attempt_at, last_error)
    SELECT id, '*', attempts, next_attempt_at, last_error FROM outbox WHERE delivered_at IS NULL;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN delivered_at;
ALTER TABLE outbox DROP COLUMN last_error;
ALTER TABLE outbox ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN chain TEXT NOT NULL DEFAULT '[]';
ALTER TABLE outbox ADD COLUMN actor TEXT NOT NULL DEFAULT '{"actor":"system"}';
ALTER TABLE tasks ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN chain TEXT NOT NULL DEFAULT '[]';
"#,
    // 3: follow-ups are immutable against `INSERT OR REPLACE` too: REPLACE
    // deletes the old row without firing delete triggers, so refuse any
    // insert that would collide with an existing id or Message-ID.
    r#"
CREATE TRIGGER follow_ups_append_only_replace BEFORE INSERT ON follow_ups
WHEN EXISTS (SELECT 1 FROM follow_ups WHERE id = NEW.id)
  OR (NEW.message_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM follow_ups WHERE message_id = NEW.message_id))
BEGIN
    SELECT RAISE(ABORT, 'follow-ups are append-only: an insert may not replace one');
END;
"#,
    // 4: agents and groups.
    r#"
CREATE TABLE agents (
    login        TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email        TEXT,
    role         TEXT NOT NULL,
    overrides    TEXT NOT NULL DEFAULT '{}',
    disabled     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE groups (
    name       TEXT PRIMARY KEY,
    email      TEXT,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE agent_groups (
    login TEXT NOT NULL REFERENCES agents(login),
    name  TEXT NOT NULL REFERENCES groups(name),
    PRIMARY KEY (login, name)
) WITHOUT ROWID;
CREATE INDEX agent_groups_name ON agent_groups(name, login);
"#,
    // 5: full-text search over case subjects and descriptions, follow-up
    // bodies, and customers' names, accounts and email addresses; kept in
    // step by triggers in the same transaction as each write. A row's rowid
    // is its record's id times 4 plus its kind (1 case, 2 follow-up,
    // 3 customer), so a trigger finds it without a scan.
    r#"
CREATE VIRTUAL TABLE search_index USING fts5(
    text, kind UNINDEXED, ref UNINDEXED, case_number UNINDEXED, customer_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    SELECT number * 4 + 1, subject || ' ' || description, 'case', number, number, customer_id
    FROM cases;
INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    SELECT f.id * 4 + 2, f.body, 'follow_up', f.id, f.case_number, c.customer_id
    FROM follow_ups f JOIN cases c ON c.number = f.case_number;
INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    SELECT id * 4 + 3, name || ' ' || account || ' ' || coalesce(
        (SELECT group_concat(address, ' ') FROM customer_emails WHERE customer_id = customers.id), ''),
        'customer', id, NULL, id
    FROM customers;

CREATE TRIGGER search_case_insert AFTER INSERT ON cases BEGIN
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    VALUES (new.number * 4 + 1, new.subject || ' ' || new.description, 'case', new.number,
            new.number, new.customer_id);
END;
CREATE TRIGGER search_case_update AFTER UPDATE OF subject, description, customer_id ON cases BEGIN
    DELETE FROM search_index WHERE rowid = old.number * 4 + 1;
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    VALUES (new.number * 4 + 1, new.subject || ' ' || new.description, 'case', new.number,
            new.number, new.customer_id);
END;
CREATE TRIGGER search_follow_up_insert AFTER INSERT ON follow_ups BEGIN
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    VALUES (new.id * 4 + 2, new.body, 'follow_up', new.id, new.case_number,
            (SELECT customer_id FROM cases WHERE number = new.case_number));
END;
CREATE TRIGGER search_customer_insert AFTER INSERT ON customers BEGIN
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    VALUES (new.id * 4 + 3, new.name || ' ' || new.account, 'customer', new.id, NULL, new.id);
END;
CREATE TRIGGER search_customer_update AFTER UPDATE OF name, account ON customers BEGIN
    DELETE FROM search_index WHERE rowid = old.id * 4 + 3;
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    VALUES (new.id * 4 + 3, new.name || ' ' || new.account || ' ' || coalesce(
        (SELECT group_concat(address, ' ') FROM customer_emails WHERE customer_id = new.id), ''),
        'customer', new.id, NULL, new.id);
END;
CREATE TRIGGER search_email_insert AFTER INSERT ON customer_emails BEGIN
    DELETE FROM search_index WHERE rowid = new.customer_id * 4 + 3;
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    SELECT id * 4 + 3, name || ' ' || account || ' ' || coalesce(
        (SELECT group_concat(address, ' ') FROM customer_emails WHERE customer_id = id), ''),
        'customer', id, NULL, id
    FROM customers WHERE id = new.customer_id;
END;
CREATE TRIGGER search_email_delete AFTER DELETE ON customer_emails BEGIN
    DELETE FROM search_index WHERE rowid = old.customer_id * 4 + 3;
    INSERT INTO search_index (rowid, text, kind, ref, case_number, customer_id)
    SELECT id * 4 + 3, name || ' ' || account || ' ' || coalesce(
        (SELECT group_concat(address, ' ') FROM customer_emails WHERE customer_id = id), ''),
        'customer', id, NULL, id
    FROM customers WHERE id = old.customer_id;
END;
"#,
    // 6: the email channel. Which blobs rows reference (for `gc`); every
    // email ingested, by its key (Message-ID, or the hash of its bytes),
    // with the follow-up it became or why it was dropped, so ingesting it
    // again does nothing; the agents' workbins.
    r#"
CREATE TABLE blob_refs (
    blob     TEXT NOT NULL,
    owner    TEXT NOT NULL,
    owner_id INTEGER NOT NULL,
    PRIMARY KEY (blob, owner, owner_id)
) WITHOUT ROWID;

CREATE TABLE inbound_emails (
    key          TEXT PRIMARY KEY,
    follow_up_id INTEGER REFERENCES follow_ups(id),
    sender       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    dropped      TEXT,
    received_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE workbin (
    id           INTEGER PRIMARY KEY,
    agent        TEXT,
    grp          TEXT,
    case_number  INTEGER NOT NULL REFERENCES cases(number),
    follow_up_id INTEGER REFERENCES follow_ups(id),
    reason       TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    done_at      TEXT,
    done_by      TEXT,
    CHECK (agent IS NOT NULL OR grp IS NOT NULL)
);
CREATE INDEX workbin_agent ON workbin(agent, id) WHERE done_at IS NULL;
CREATE INDEX workbin_group ON workbin(grp, id) WHERE done_at IS NULL;
CREATE UNIQUE INDEX workbin_once ON workbin(coalesce(agent, ''), coalesce(grp, ''), follow_up_id)
    WHERE done_at IS NULL AND follow_up_id IS NOT NULL;
"#,
    // 7: drafts (outbound emails being written: editable, unlike
    // follow-ups), and workbin entries that are drafts.
    r#"
CREATE TABLE drafts (
    id           INTEGER PRIMARY KEY,
    agent        TEXT NOT NULL,
    case_number  INTEGER NOT NULL REFERENCES cases(number),
    kind         TEXT NOT NULL,
    answers      INTEGER REFERENCES follow_ups(id),
    content      TEXT NOT NULL,
    state        TEXT NOT NULL,
    follow_up_id INTEGER REFERENCES follow_ups(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX drafts_agent ON drafts(agent, state, id);
ALTER TABLE workbin ADD COLUMN draft_id INTEGER REFERENCES drafts(id);
"#,
    // 8: QA review of drafts: the reviewer's last remarks, and every step.
    r#"
ALTER TABLE drafts ADD COLUMN remarks TEXT;
CREATE TABLE draft_reviews (
    id       INTEGER PRIMARY KEY,
    draft_id INTEGER NOT NULL REFERENCES drafts(id),
    step     TEXT NOT NULL,
    by_whom  TEXT NOT NULL,
    at       TEXT NOT NULL,
    remarks  TEXT
);
CREATE INDEX draft_reviews_draft ON draft_reviews(draft_id, id);
CREATE INDEX drafts_state ON drafts(state, id);
"#,
    // 9: the FAQ base, searched through its own FTS5 index (external
    // content over title and body, kept in step by triggers), and the
    // signatures of agents and groups (at most one default per owner).
    r#"
CREATE TABLE faq_entries (
    id         INTEGER PRIMARY KEY,
    shortcut   TEXT NOT NULL UNIQUE COLLATE NOCASE,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE VIRTUAL TABLE faq_index USING fts5(
    title, body, content = 'faq_entries', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER faq_index_insert AFTER INSERT ON faq_entries BEGIN
    INSERT INTO faq_index (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER faq_index_delete AFTER DELETE ON faq_entries BEGIN
    INSERT INTO faq_index (faq_index, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER faq_index_update AFTER UPDATE OF title, body ON faq_entries BEGIN
    INSERT INTO faq_index (faq_index, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO faq_index (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TABLE signatures (
    id         INTEGER PRIMARY KEY,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('agent', 'group')),
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    text       TEXT NOT NULL,
    html       TEXT,
    is_default INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (owner_kind, owner, name)
);
CREATE UNIQUE INDEX signatures_one_default ON signatures(owner_kind, owner) WHERE is_default;
"#,
    // 10: chat. Agents' loads and states (each change to a row takes the next
    // `rev`, so a routing cache asks for what changed since it last looked)
    // and their history; chats with their offer, deadline and log; the
    // transcript (append-only, like follow-ups); the push feed.
    r#"
CREATE TABLE chat_agents (
    login       TEXT PRIMARY KEY REFERENCES agents(login),
    state       TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 0 CHECK (active >= 0),
    pending     INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    idle_since  TEXT NOT NULL,
    state_since TEXT NOT NULL,
    reason      TEXT,
    rev         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX chat_agents_rev ON chat_agents(rev);

CREATE TABLE chat_agent_log (
    id     INTEGER PRIMARY KEY,
    login  TEXT NOT NULL,
    state  TEXT NOT NULL,
    reason TEXT,
    at     TEXT NOT NULL
);
CREATE INDEX chat_agent_log_login ON chat_agent_log(login, id);

CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,
    queue       TEXT NOT NULL,
    state       TEXT NOT NULL,
    interaction TEXT NOT NULL,
    arrived_at  TEXT NOT NULL,
    agent       TEXT,
    offered_at  TEXT,
    deadline    TEXT,
    accepted_at TEXT,
    ended_at    TEXT,
    offers      INTEGER NOT NULL DEFAULT 0,
    pop         TEXT,
    customer_id INTEGER,
    disposition TEXT,
    note        TEXT,
    log         TEXT NOT NULL DEFAULT 'pending',
    log_text    TEXT,
    case_number INTEGER REFERENCES cases(number)
);
CREATE INDEX chats_waiting ON chats(queue, arrived_at, id) WHERE state = 'waiting';
CREATE INDEX chats_deadline ON chats(deadline) WHERE state = 'offered';
CREATE INDEX chats_agent ON chats(agent, id) WHERE agent IS NOT NULL;
CREATE INDEX chats_needs_customer ON chats(agent, id) WHERE log = 'needs_customer';

CREATE TABLE chat_messages (
    id     INTEGER PRIMARY KEY,
    chat   INTEGER NOT NULL REFERENCES chats(id),
    sender TEXT NOT NULL,
    author TEXT NOT NULL,
    text   TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX chat_messages_chat ON chat_messages(chat, id);
CREATE TRIGGER chat_messages_append_only_update BEFORE UPDATE ON chat_messages
BEGIN
    SELECT RAISE(ABORT, 'chat transcripts are append-only: UPDATE refused');
END;
CREATE TRIGGER chat_messages_append_only_delete BEFORE DELETE ON chat_messages
BEGIN
    SELECT RAISE(ABORT, 'chat transcripts are append-only: DELETE refused');
END;

CREATE TABLE chat_feed (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    agent TEXT,
    chat  INTEGER,
    push  TEXT NOT NULL,
    at    TEXT NOT NULL
);
CREATE INDEX chat_feed_at ON chat_feed(at);
"#,
    // 11: a customer's open cases, visibility condition included, answered
    // from the index alone (a screen-pop as an agent read every open case's
    // row to learn whether it was private).
    r#"
DROP INDEX cases_customer;
CREATE INDEX cases_customer ON cases(customer_id, is_open, number, visibility, owner, grp);
"#,
    // 12: the hook that wrote a follow-up or task, when one did.
    r#"
ALTER TABLE follow_ups ADD COLUMN via TEXT;
ALTER TABLE tasks ADD COLUMN via TEXT;
"#,
    // 13: search_index is written once per changed record per transaction.
    // The triggers of step 5 rewrote a customer's row for the customer and
    // again for each of its email rows, and FTS5 flushed its pending terms
    // at every statement savepoint between them; now triggers only note
    // which records changed (`search_dirty`, kind as in the rowid: 1 case,
    // 2 follow-up, 3 customer) and the store rewrites their rows in one
    // statement just before the transaction commits (`search_sync.rs`).
    // A case moved to another customer now takes its follow-ups' rows
    // along, and a deleted customer or case leaves no row behind. The index
    // is rebuilt from the records (every record noted, then the sync that
    // ends every migration run).
    r#"
DROP TRIGGER search_case_insert;
DROP TRIGGER search_case_update;
DROP TRIGGER search_follow_up_insert;
DROP TRIGGER search_customer_insert;
DROP TRIGGER search_customer_update;
DROP TRIGGER search_email_insert;
DROP TRIGGER search_email_delete;

CREATE TABLE search_dirty (
    kind INTEGER NOT NULL,
    id   INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TRIGGER search_dirty_case_insert AFTER INSERT ON cases BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 1, new.number
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 1 AND id = new.number);
END;
CREATE TRIGGER search_dirty_case_update AFTER UPDATE OF subject, description, customer_id ON cases
WHEN old.subject IS NOT new.subject OR old.description IS NOT new.description
  OR old.customer_id IS NOT new.customer_id
BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 1, new.number
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 1 AND id = new.number);
END;
CREATE TRIGGER search_dirty_case_moved AFTER UPDATE OF customer_id ON cases
WHEN old.customer_id IS NOT new.customer_id
BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 2, f.id FROM follow_ups f
    WHERE f.case_number = new.number
      AND NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 2 AND id = f.id);
END;
CREATE TRIGGER search_dirty_case_delete AFTER DELETE ON cases BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 1, old.number
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 1 AND id = old.number);
END;
CREATE TRIGGER search_dirty_follow_up_insert AFTER INSERT ON follow_ups BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 2, new.id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 2 AND id = new.id);
END;
CREATE TRIGGER search_dirty_customer_insert AFTER INSERT ON customers BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, new.id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = new.id);
END;
CREATE TRIGGER search_dirty_customer_update AFTER UPDATE OF name, account ON customers
WHEN old.name IS NOT new.name OR old.account IS NOT new.account
BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, new.id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = new.id);
END;
CREATE TRIGGER search_dirty_customer_delete AFTER DELETE ON customers BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, old.id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = old.id);
END;
CREATE TRIGGER search_dirty_email_insert AFTER INSERT ON customer_emails BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, new.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = new.customer_id);
END;
CREATE TRIGGER search_dirty_email_update AFTER UPDATE OF customer_id, address ON customer_emails
BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, old.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = old.customer_id);
    INSERT INTO search_dirty (kind, id) SELECT 3, new.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = new.customer_id);
END;
CREATE TRIGGER search_dirty_email_delete AFTER DELETE ON customer_emails BEGIN
    INSERT INTO search_dirty (kind, id) SELECT 3, old.customer_id
    WHERE NOT EXISTS (SELECT 1 FROM search_dirty WHERE kind = 3 AND id = old.customer_id);
END;

DROP TABLE search_index;
CREATE VIRTUAL TABLE search_index USING fts5(
    text, kind UNINDEXED, ref UNINDEXED, case_number UNINDEXED, customer_id UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- FTS5 keeps a connection's pending terms in a hash table whose slot array
-- grows with the most terms it ever held and never shrinks, and every
-- flush walks and clears all of it: after one big write (an import batch,
-- this rebuild) each small commit on that connection paid ~100 us. Pending
-- terms are written out at 32 KiB, so the table stays a few thousand slots.
INSERT INTO search_index (search_index, rank) VALUES ('hashsize', 32768);
INSERT INTO search_dirty (kind, id)
    SELECT 1, number FROM cases
    UNION ALL SELECT 2, id FROM follow_ups
    UNION ALL SELECT 3, id FROM customers;
"#,
    // 14: what agents sign in to the server with. Hashes only: an argon2id
    // PHC string per password; SHA-256 of each API token's and session's
    // secret (random, 256 bits, so a fast hash is enough). A token is
    // revoked by time, not deleted, so `agent token list` shows it.
    r#"
CREATE TABLE agent_passwords (
    login   TEXT PRIMARY KEY REFERENCES agents(login) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    set_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    login       TEXT NOT NULL REFERENCES agents(login) ON DELETE CASCADE,
    hash        TEXT NOT NULL UNIQUE,
    label       TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    revoked_at  TEXT
);
CREATE INDEX api_tokens_login ON api_tokens(login);

CREATE TABLE sessions (
    hash        TEXT PRIMARY KEY,
    login       TEXT NOT NULL REFERENCES agents(login) ON DELETE CASCADE,
    csrf_hash   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_login ON sessions(login);
CREATE INDEX sessions_expires ON sessions(expires_at);
"#,
    // 15: the chat feed becomes the store's event log: everything an
    // agent's screen (or a chat visitor's window) must be told, written in
    // the transaction that made the change, read in commit order by `seq`.
    // `kind` names the event (the chat pushes' tag); `data` is its JSON.
    // Per-agent and per-chat reads (a stream catching up) use their own
    // index. A visitor's chat keeps the SHA-256 of the secret the visitor
    // endpoint gave at its start.
    r#"
ALTER TABLE chat_feed RENAME TO event_log;
ALTER TABLE event_log RENAME COLUMN push TO data;
ALTER TABLE event_log ADD COLUMN kind TEXT NOT NULL DEFAULT '';
UPDATE event_log SET kind = coalesce(json_extract(data, '$.push'), '');
DROP INDEX chat_feed_at;
CREATE INDEX event_log_at ON event_log(at);
CREATE INDEX event_log_agent ON event_log(agent, seq) WHERE agent IS NOT NULL;
CREATE INDEX event_log_chat ON event_log(chat, seq) WHERE chat IS NOT NULL;

ALTER TABLE chats ADD COLUMN visitor_secret TEXT;

-- Workbin changes and review decisions are logged by triggers, so no
-- code path that changes a workbin or decides a review can forget to.
-- A group's item is told to each member. No subject and no reason (a
-- reason may quote one) in the event: the screen rereads its workbin,
-- which applies the viewer.
CREATE TRIGGER event_workbin_added AFTER INSERT ON workbin BEGIN
    INSERT INTO event_log (agent, chat, kind, data, at)
    SELECT who, NULL, 'workbin',
        json_object('change', 'added', 'item', new.id, 'case', new.case_number,
                    'group', new.grp, 'draft', new.draft_id),
        new.added_at
    FROM (SELECT new.agent AS who WHERE new.agent IS NOT NULL
          UNION SELECT login FROM agent_groups WHERE name = new.grp AND new.agent IS NULL);
END;
CREATE TRIGGER event_workbin_done AFTER UPDATE OF done_at ON workbin
WHEN old.done_at IS NULL AND new.done_at IS NOT NULL BEGIN
    INSERT INTO event_log (agent, chat, kind, data, at)
    SELECT who, NULL, 'workbin',
        json_object('change', 'done', 'item', new.id, 'case', new.case_number,
                    'group', new.grp, 'by', new.done_by, 'draft', new.draft_id),
        new.done_at
    FROM (SELECT new.agent AS who WHERE new.agent IS NOT NULL
          UNION SELECT login FROM agent_groups WHERE name = new.grp AND new.agent IS NULL);
END;
CREATE TRIGGER event_review_decided AFTER INSERT ON draft_reviews
WHEN new.step IN ('approved', 'rejected', 'edited') BEGIN
    INSERT INTO event_log (agent, chat, kind, data, at)
    SELECT d.agent, NULL, 'review',
        json_object('draft', new.draft_id, 'decision', new.step, 'by', new.by_whom,
                    'remarks', new.remarks, 'case', d.case_number),
        new.at
    FROM drafts d WHERE d.id = new.draft_id;
END;
"#,
    // 16: chat transcripts are immutable against `INSERT OR REPLACE` too,
    // as follow-ups are since step 3: REPLACE deletes the old row without
    // firing delete triggers, so refuse an insert whose id is taken.
    r#"
CREATE TRIGGER chat_messages_append_only_replace BEFORE INSERT ON chat_messages
WHEN EXISTS (SELECT 1 FROM chat_messages WHERE id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'chat transcripts are append-only: an insert may not replace a message');
END;
"#,
    // 17: outbox claims as leases per delivery. A claim writes a fresh
    // holder token and how long it holds; only that holder renews it or
    // records the outcome. `sending_at` is set just before the handler (or
    // SMTP DATA) runs, so a delivery found still sending when it is claimed
    // again was interrupted and may already have gone out: the new attempt
    // counts a possible duplicate.
    r#"
ALTER TABLE outbox_deliveries ADD COLUMN lease_holder TEXT;
ALTER TABLE outbox_deliveries ADD COLUMN lease_until TEXT;
ALTER TABLE outbox_deliveries ADD COLUMN sending_at TEXT;
ALTER TABLE outbox_deliveries ADD COLUMN possible_duplicates INTEGER NOT NULL DEFAULT 0;
"#,
    // 18: queues kept in the store. `dossier.toml` gives the initial ones
    // (`source = 'config'`, applied when the config's queues change);
    // admins add and remove others; each member's `joined` switch is the
    // agent's own (`dossier queue join|leave`) and survives a config
    // change. A member need not be an agent yet (the config may name one
    // before `agent add`). Every change bumps `queue_rev`'s one row, by
    // trigger, so a routing cache knows when to rebuild. `settings` keeps
    // small values the store owns (the fingerprint of the config's queues
    // last applied).
    r#"
CREATE TABLE queues (
    name       TEXT PRIMARY KEY,
    channel    TEXT NOT NULL CHECK (channel IN ('chat', 'email')),
    capacity   INTEGER CHECK (capacity BETWEEN 1 AND 100),
    source     TEXT NOT NULL CHECK (source IN ('config', 'admin')),
    created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE queue_members (
    queue      TEXT NOT NULL REFERENCES queues(name) ON DELETE CASCADE,
    login      TEXT NOT NULL,
    joined     INTEGER NOT NULL DEFAULT 1 CHECK (joined IN (0, 1)),
    source     TEXT NOT NULL CHECK (source IN ('config', 'admin')),
    changed_at TEXT NOT NULL,
    PRIMARY KEY (queue, login)
) WITHOUT ROWID;
CREATE INDEX queue_members_login ON queue_members(login);

CREATE TABLE queue_rev (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO queue_rev (id, rev) VALUES (1, 0);
CREATE TRIGGER queue_rev_queue_insert AFTER INSERT ON queues
BEGIN UPDATE queue_rev SET rev = rev + 1; END;
CREATE TRIGGER queue_rev_queue_update AFTER UPDATE ON queues
BEGIN UPDATE queue_rev SET rev = rev + 1; END;
CREATE TRIGGER queue_rev_queue_delete AFTER DELETE ON queues
BEGIN UPDATE queue_rev SET rev = rev + 1; END;
CREATE TRIGGER queue_rev_member_insert AFTER INSERT ON queue_members
BEGIN UPDATE queue_rev SET rev = rev + 1; END;
CREATE TRIGGER queue_rev_member_update AFTER UPDATE ON queue_members
BEGIN UPDATE queue_rev SET rev = rev + 1; END;
CREATE TRIGGER queue_rev_member_delete AFTER DELETE ON queue_members
BEGIN UPDATE queue_rev SET rev = rev + 1; END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- A new email's case in an email queue: waiting, offered to one member
-- until a deadline, accepted (its workbin item counts against the agent's
-- email capacity) and done when that item is done (by trigger, so no path
-- that finishes a workbin item can forget). Offers and returns are
-- conditional writes, as chats' are.
CREATE TABLE email_offers (
    id           INTEGER PRIMARY KEY,
    queue        TEXT NOT NULL,
    case_number  INTEGER NOT NULL REFERENCES cases(number),
    follow_up_id INTEGER REFERENCES follow_ups(id),
    subject      TEXT NOT NULL,
    sender       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'offered', 'accepted', 'done')),
    arrived_at   TEXT NOT NULL,
    agent        TEXT,
    offered_at   TEXT,
    deadline     TEXT,
    accepted_at  TEXT,
    done_at      TEXT,
    offers       INTEGER NOT NULL DEFAULT 0,
    workbin_id   INTEGER REFERENCES workbin(id)
);
CREATE INDEX email_offers_waiting ON email_offers(queue, arrived_at, id) WHERE state = 'waiting';
CREATE INDEX email_offers_open ON email_offers(agent, state) WHERE state IN ('offered', 'accepted');
CREATE INDEX email_offers_agent ON email_offers(agent, id) WHERE agent IS NOT NULL;
CREATE INDEX email_offers_deadline ON email_offers(deadline) WHERE state = 'offered';
CREATE TRIGGER email_offer_done AFTER UPDATE OF done_at ON workbin
WHEN old.done_at IS NULL AND new.done_at IS NOT NULL BEGIN
    UPDATE email_offers SET state = 'done', done_at = new.done_at
    WHERE workbin_id = new.id AND state = 'accepted';
END;
"#,
    // 19: held mail. An inbound email that cannot be stored (a hook vetoed
    // its case or customer, a rule refused it, it is over the size limit)
    // is kept whole, with why, until an admin releases or discards it. One
    // row per message still held: holding it again updates the reason.
    r#"
CREATE TABLE held_emails (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    source TEXT NOT NULL,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,
    held_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'released', 'discarded')),
    closed_by TEXT,
    closed_at TEXT
);
CREATE UNIQUE INDEX held_emails_waiting ON held_emails(key) WHERE state = 'held';
"#,
    // 20: an email queue's pick orders members by their last email
    // activity (`max(coalesce(done_at, offered_at))` of their offers): read
    // from this index's last entry per agent instead of every offer the
    // agent ever had, which made each pick grow with the day's history.
    r#"
CREATE INDEX email_offers_last ON email_offers(agent, coalesce(done_at, offered_at))
    WHERE agent IS NOT NULL;
"#,
    // 21: each agent's email load in one row, kept by triggers on the
    // offers' state, so an email queue's pick walks one index in the order
    // it wants (fewest open items, then idle longest, then login) and stops
    // at the first member who qualifies, instead of counting every member's
    // offers. `last` is the agent's latest email activity: an offer made to
    // them (kept even if they reject it or let it expire, so an agent who
    // was just offered one is not "idle longest") or an item done; '' for
    // none, which sorts first.
    r#"
CREATE TABLE email_load (
    login TEXT PRIMARY KEY,
    open  INTEGER NOT NULL DEFAULT 0 CHECK (open >= 0),
    last  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX email_load_pick ON email_load(open, last, login);
INSERT INTO email_load (login, open, last)
SELECT who.login,
    (SELECT count(*) FROM email_offers o
     WHERE o.agent = who.login AND o.state IN ('offered', 'accepted')),
    coalesce((SELECT max(coalesce(o.done_at, o.offered_at)) FROM email_offers o
              WHERE o.agent = who.login), '')
FROM (SELECT login FROM queue_members
      UNION SELECT agent FROM email_offers WHERE agent IS NOT NULL) AS who;
DROP INDEX email_offers_last;
CREATE TRIGGER email_load_member AFTER INSERT ON queue_members BEGIN
    INSERT OR IGNORE INTO email_load (login) VALUES (new.login);
END;
CREATE TRIGGER email_load_offered AFTER UPDATE OF state ON email_offers
WHEN old.state = 'waiting' AND new.state = 'offered' BEGIN
    INSERT INTO email_load (login, open, last) VALUES (new.agent, 1, new.offered_at)
    ON CONFLICT (login) DO UPDATE SET open = open + 1, last = max(last, excluded.last);
END;
CREATE TRIGGER email_load_returned AFTER UPDATE OF state ON email_offers
WHEN old.state = 'offered' AND new.state = 'waiting' BEGIN
    UPDATE email_load SET open = open - 1 WHERE login = old.agent;
END;
CREATE TRIGGER email_load_done AFTER UPDATE OF state ON email_offers
WHEN old.state IN ('offered', 'accepted') AND new.state = 'done' BEGIN
    UPDATE email_load SET open = open - 1, last = max(last, coalesce(new.done_at, ''))
    WHERE login = old.agent;
END;
"#,
    // 22: an ended chat's log, edited by its agent and kept as a draft to
    // finish later (`Host::save_chat_log_draft`); cleared when the log is
    // saved as a case.
    r#"
ALTER TABLE chats ADD COLUMN log_draft TEXT;
"#,
    // 23: an FAQ entry's sanitized HTML version, when it was written in
    // rich text (`[email] rich_text`); `body` stays its text version.
    r#"
ALTER TABLE faq_entries ADD COLUMN html TEXT;
"#,
];

/// The schema version this build writes.
pub fn latest() -> i64 {
    STEPS.len() as i64
}

/// Brings the file to the schema version this build writes (refusing a
/// newer one).
pub fn run(conn: &Connection) -> Result<()> {
    run_steps(conn, STEPS, super::search_sync::sync)
}

/// Brings the file to version `version` only, as an older build left it.
#[cfg(test)]
pub fn run_to(conn: &Connection, version: usize) -> Result<()> {
    run_steps(conn, &STEPS[..version], |_| Ok(()))
}

/// Brings the file up to `steps.len()`, all steps and then `finish` in one
/// transaction. `finish` (the search index's sync, which steps that
/// rebuild the index rely on) runs against the latest schema, whichever
/// step the file started from.
fn run_steps(
    conn: &Connection,
    steps: &[&str],
    finish: fn(&Connection) -> Result<()>,
) -> Result<()> {
    let latest = steps.len() as i64;
    let current: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    if current > latest {
        return Err(Error::SchemaTooNew {
            found: current,
            supported: latest,
        });
    }
    if current == latest {
        return Ok(());
    }
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db)?;
    let result = (|| -> Result<()> {
        for (i, step) in steps.iter().enumerate().skip(current as usize) {
            conn.execute_batch(step).map_err(db)?;
            conn.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(db)?;
        }
        finish(conn)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(db)?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_pending_before_step_2_go_to_every_handler() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(STEPS[0]).expect("step 1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO outbox (idempotency_key, event, created_at, attempts, next_attempt_at, delivered_at, last_error)
             VALUES ('case:1:create:t', '{}', 't0', 2, 't1', NULL, 'webhook down'),
                    ('case:2:create:t', '{}', 't0', 1, 't1', 't2', NULL);",
        )
        .expect("old rows");
        run(&conn).expect("migrated");
        let rows: Vec<(i64, String, u32, Option<String>)> = conn
            .prepare("SELECT entry_id, handler, attempts, last_error FROM outbox_deliveries")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(
            rows,
            vec![(1, "*".to_owned(), 2, Some("webhook down".to_owned()))]
        );
        let depth: u32 = conn
            .query_row("SELECT depth FROM outbox WHERE id = 1", [], |r| r.get(0))
            .expect("new column");
        assert_eq!(depth, 0);
    }

    #[test]
    fn a_chat_message_is_never_replaced_updated_or_deleted() {
        let conn = Connection::open_in_memory().expect("db");
        run(&conn).expect("migrated");
        conn.execute_batch(
            "INSERT INTO chats (id, queue, state, interaction, arrived_at)
                 VALUES (1, 'web', 'ended', '{}', 't0');
             INSERT INTO chat_messages (id, chat, sender, author, text, at)
                 VALUES (1, 1, 'customer', 'Ann', 'my card was charged twice', 't1');",
        )
        .expect("a chat and its first message");
        let attempts = [
            "INSERT OR REPLACE INTO chat_messages (id, chat, sender, author, text, at)
                 VALUES (1, 1, 'customer', 'Ann', 'all is well', 't1')",
            "REPLACE INTO chat_messages (id, chat, sender, author, text, at)
                 VALUES (1, 1, 'customer', 'Ann', 'all is well', 't1')",
            "INSERT INTO chat_messages (id, chat, sender, author, text, at)
                 VALUES (1, 1, 'customer', 'Ann', 'all is well', 't1')
                 ON CONFLICT (id) DO UPDATE SET text = excluded.text",
            "UPDATE chat_messages SET text = 'all is well' WHERE id = 1",
            "DELETE FROM chat_messages WHERE id = 1",
        ];
        for sql in attempts {
            let err = conn.execute(sql, []).expect_err(sql);
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
        let text: String = conn
            .query_row("SELECT text FROM chat_messages WHERE id = 1", [], |r| {
                r.get(0)
            })
            .expect("the message");
        assert_eq!(text, "my card was charged twice");
        conn.execute(
            "INSERT INTO chat_messages (id, chat, sender, author, text, at)
                 VALUES (2, 1, 'agent', 'bob', 'refunded', 't2')",
            [],
        )
        .expect("a new message is appended as before");
    }

    #[test]
    fn each_agents_email_load_is_counted_at_step_21_and_kept_by_triggers_after() {
        let conn = Connection::open_in_memory().expect("db");
        run_to(&conn, 20).expect("version 20");
        // Offers name cases this test does not make.
        conn.pragma_update(None, "foreign_keys", false)
            .expect("pragma");
        conn.execute_batch(
            "INSERT INTO queues (name, channel, source, created_at) VALUES ('billing', 'email', 'config', 't0');
             INSERT INTO queue_members (queue, login, source, changed_at) VALUES
                 ('billing', 'ann', 'config', 't0'), ('billing', 'bob', 'config', 't0'),
                 ('billing', 'cy', 'config', 't0');
             INSERT INTO email_offers (id, queue, case_number, subject, sender, state, arrived_at,
                                       agent, offered_at, done_at) VALUES
                 (1, 'billing', 1, 's', 'x', 'accepted', 't1', 'ann', 't2', NULL),
                 (2, 'billing', 2, 's', 'x', 'done', 't1', 'ann', 't3', 't7'),
                 (3, 'billing', 3, 's', 'x', 'offered', 't1', 'bob', 't4', NULL),
                 (4, 'billing', 4, 's', 'x', 'waiting', 't1', NULL, NULL, NULL);",
        )
        .expect("queues and offers of version 20");
        run(&conn).expect("migrated");
        let load = |conn: &Connection| -> Vec<(String, i64, String)> {
            conn.prepare("SELECT login, open, last FROM email_load ORDER BY open, last, login")
                .expect("query")
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        let row = |login: &str, open: i64, last: &str| (login.to_owned(), open, last.to_owned());
        assert_eq!(
            load(&conn),
            vec![row("cy", 0, ""), row("bob", 1, "t4"), row("ann", 1, "t7")],
            "counted from the offers, in the pick's order"
        );
        conn.execute_batch(
            "INSERT INTO queue_members (queue, login, source, changed_at)
                 VALUES ('billing', 'di', 'admin', 't8');
             UPDATE email_offers SET state = 'offered', agent = 'cy', offered_at = 't8' WHERE id = 4;",
        )
        .expect("a new member, an offer to cy");
        assert_eq!(
            load(&conn),
            vec![
                row("di", 0, ""),
                row("bob", 1, "t4"),
                row("ann", 1, "t7"),
                row("cy", 1, "t8")
            ]
        );
        conn.execute_batch(
            "UPDATE email_offers SET state = 'waiting', agent = NULL WHERE id = 4;
             UPDATE email_offers SET state = 'done', done_at = 't9' WHERE id = 1;",
        )
        .expect("cy lets it go, ann finishes hers");
        assert_eq!(
            load(&conn),
            vec![
                row("di", 0, ""),
                row("cy", 0, "t8"),
                row("ann", 0, "t9"),
                row("bob", 1, "t4")
            ],
            "a returned offer frees the load and still counts as activity"
        );
    }

    #[test]
    fn a_failed_migration_rolls_back_every_step_of_the_run() {
        let conn = Connection::open_in_memory().expect("db");
        run_steps(&conn, &STEPS[..1], |_| Ok(())).expect("version 1");
        let broken = [
            STEPS[0],
            STEPS[1],
            "CREATE TABLE half_done (x); SELECT no_such_function();",
        ];
        let err = run_steps(&conn, &broken, |_| Ok(())).expect_err("step 3 fails");
        assert!(err.to_string().contains("no_such_function"), "{err}");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, 1, "step 2 was rolled back with step 3");
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('outbox_deliveries', 'half_done')",
                [],
                |r| r.get(0),
            )
            .expect("tables");
        assert_eq!(tables, 0);
        assert!(conn.is_autocommit(), "no transaction left open");
    }
}
