//! Which capacity applies: `[chat] capacity` (6 by default), an agent's
//! `[chat.agents.<login>] capacity`, a queue's `[chat.queues.<name>]
//! capacity`. When an agent and their queue both set one, the lower
//! applies; when one of them does, that one; otherwise the default. A
//! pending offer counts toward it like an accepted chat.

use dossier_core::config::ChatConfig;

/// The capacity of an agent whose own setting is `own` in a queue whose
/// setting is `queue`.
pub fn combine(own: Option<u32>, queue: Option<u32>, default: u32) -> u32 {
    match (own, queue) {
        (Some(a), Some(q)) => a.min(q),
        (Some(a), None) => a,
        (None, Some(q)) => q,
        (None, None) => default,
    }
}

/// The capacity of `login` for chats of `queue`.
pub fn limit(config: &ChatConfig, login: &str, queue: &str) -> u32 {
    combine(
        own(config, login),
        config.queues.get(queue).and_then(|q| q.capacity),
        config.capacity,
    )
}

/// The agent's own setting, if any.
pub fn own(config: &ChatConfig, login: &str) -> Option<u32> {
    config.agents.get(login).and_then(|a| a.capacity)
}

/// Who is in which queue, and each member's highest capacity among them,
/// computed once from the config (a lookup per offer, not a scan of every
/// queue's members).
#[derive(Debug, Default)]
pub struct Membership {
    of: std::collections::HashMap<String, (Vec<String>, u32)>,
    /// `[chat] capacity`, for agents in no queue.
    default: u32,
    own: std::collections::HashMap<String, u32>,
}

impl Membership {
    pub fn new(config: &ChatConfig) -> Membership {
        let mut of: std::collections::HashMap<String, (Vec<String>, u32)> =
            std::collections::HashMap::new();
        for (name, queue) in &config.queues {
            for member in &queue.members {
                let entry = of.entry(member.clone()).or_default();
                entry.0.push(name.clone());
                entry.1 = entry.1.max(limit(config, member, name));
            }
        }
        Membership {
            of,
            default: config.capacity,
            own: config
                .agents
                .iter()
                .filter_map(|(login, a)| a.capacity.map(|c| (login.clone(), c)))
                .collect(),
        }
    }

    /// The most chats `login` may have at once: the highest capacity among
    /// their queues (their own or the default when they are in none). At
    /// that load an available agent is busy.
    pub fn most(&self, login: &str) -> u32 {
        match self.of.get(login) {
            Some((_, most)) => *most,
            None => self.own.get(login).copied().unwrap_or(self.default),
        }
    }

    /// The queues `login` is a member of, by name.
    pub fn queues_of(&self, login: &str) -> &[String] {
        self.of
            .get(login)
            .map_or(&[], |(queues, _)| queues.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_of_agent_and_queue_applies_when_both_are_set() {
        assert_eq!(combine(None, None, 6), 6);
        assert_eq!(combine(Some(3), None, 6), 3);
        assert_eq!(combine(None, Some(9), 6), 9);
        assert_eq!(combine(Some(3), Some(2), 6), 2);
        assert_eq!(combine(Some(3), Some(4), 6), 3);
    }
}
