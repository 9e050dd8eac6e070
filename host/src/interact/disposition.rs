//! Dispositions: the outcome code an interaction ends with.
//!
//! Codes are configured per channel in `[dispositions.<channel>]`, with a
//! label, whether the code closes the case, and whether the channel requires
//! a code at all. Recording one runs the `disposition` hooks and the writes
//! that follow from it in one transaction: a veto leaves nothing behind.

use dossier_sdk::{
    Case, Channel, Direction, Disposition, Event, FollowUp, FollowUpKind, Interaction, NewFollowUp,
    ObjectKind,
};
use serde::Serialize;

use crate::config::{ChannelDispositions, DispositionCode};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::store;

/// What [`Host::dispose`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disposed {
    /// The disposition as the hooks left it.
    pub disposition: Disposition,
    /// The case it was recorded on, as saved (with `last_disposition` set and,
    /// for a closing code, closed); `None` when the interaction had no case.
    pub case: Option<Case>,
    /// The `system` follow-up recording it on the case.
    pub follow_up: Option<FollowUp>,
}

impl Host {
    /// The disposition settings of `channel` (empty when not configured).
    pub fn dispositions(&self, channel: Channel) -> ChannelDispositions {
        self.config()
            .dispositions
            .get(channel.as_str())
            .cloned()
            .unwrap_or_default()
    }

    /// The configured code `code` of `channel`, or
    /// [`Error::UnknownDisposition`] listing the codes the channel accepts.
    pub fn disposition_code(&self, channel: Channel, code: &str) -> Result<DispositionCode> {
        let settings = self.config().dispositions.get(channel.as_str());
        let codes = settings.map(|s| s.codes.as_slice()).unwrap_or_default();
        codes
            .iter()
            .find(|c| c.code == code)
            .cloned()
            .ok_or_else(|| Error::UnknownDisposition {
                channel,
                code: code.to_owned(),
                valid: codes.iter().map(|c| c.code.clone()).collect(),
            })
    }

    /// Ends `interaction` with disposition `code` and the agent's `note`.
    ///
    /// Validates the code against the channel's configured codes, then, in
    /// one write transaction: fires `disposition` (hooks may create a task,
    /// add a follow-up, change the case, change `close_case`, or veto), checks
    /// the code again if a hook changed it, and, when there is a case,
    /// records the code as the case's `last_disposition`, closes the case if
    /// `close_case` is set, and appends a `system` follow-up saying so. A
    /// veto or any failure rolls all of it back.
    pub fn dispose(
        &self,
        interaction: Interaction,
        code: &str,
        note: Option<String>,
    ) -> Result<Disposed> {
        let def = self.disposition_code(interaction.channel, code)?;
        let note = note.filter(|n| !n.trim().is_empty());
        self.transaction("disposition", |host| {
            let (case, channel) = (interaction.case_number, interaction.channel);
            if let Some(number) = case
                && !host.store().read(|conn| store::case_exists(conn, number))?
            {
                return Err(Error::not_found(ObjectKind::Case, format!("#{number}")));
            }
            let event = Event::Disposition(Disposition {
                interaction,
                code: def.code.clone(),
                note,
                case_number: case,
                close_case: def.closes_case,
            });
            let d = match host.fire(event)? {
                Event::Disposition(d) => d,
                other => {
                    return Err(Error::Refused(format!(
                        "a disposition hook replaced the event with a {} event",
                        other.kind()
                    )));
                }
            };
            let def = if d.code == def.code && d.interaction.channel == channel {
                def
            } else {
                host.disposition_code(d.interaction.channel, &d.code)?
            };
            let Some(number) = d.case_number else {
                return Ok(Disposed {
                    disposition: d,
                    case: None,
                    follow_up: None,
                });
            };
            let closing = host.config().case.closing_status().to_owned();
            let mut closed_now = false;
            let case = host.modify_case(number, "record disposition", |c| {
                c.last_disposition = Some(d.code.clone());
                if d.close_case && host.config().case.is_open(&c.status) {
                    c.status = closing;
                    closed_now = true;
                }
                Ok(())
            })?;
            let follow_up = host.add_follow_up(NewFollowUp {
                kind: FollowUpKind::System,
                ..NewFollowUp::note(number, "system", describe(&d, &def, &case, closed_now))
            })?;
            Ok(Disposed {
                disposition: d,
                case: Some(case),
                follow_up: Some(follow_up),
            })
        })
    }

    /// Ends `interaction` without a disposition code. Refused with
    /// [`Error::DispositionRequired`] (listing the valid codes) when the
    /// channel's `[dispositions.<channel>]` says `required = true`; otherwise
    /// there is nothing to record.
    pub fn finish_interaction(&self, interaction: &Interaction) -> Result<()> {
        let settings = self.dispositions(interaction.channel);
        if settings.required {
            return Err(Error::DispositionRequired {
                channel: interaction.channel,
                valid: settings.codes.into_iter().map(|c| c.code).collect(),
            });
        }
        Ok(())
    }
}

/// The body of the `system` follow-up.
fn describe(d: &Disposition, def: &DispositionCode, case: &Case, closed_now: bool) -> String {
    let label = def.label.as_deref().unwrap_or(&def.code);
    let direction = match d.interaction.direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    };
    let mut body = format!(
        "Disposition `{}` ({label}) for an {direction} {} interaction",
        d.code, d.interaction.channel
    );
    if let Some(agent) = d.interaction.agent.as_deref().filter(|a| !a.is_empty()) {
        body.push_str(&format!(" handled by {agent}"));
    }
    body.push('.');
    if closed_now {
        body.push_str(&format!(
            " The code closes the case: its status is now {}.",
            case.status
        ));
    } else if d.close_case {
        body.push_str(&format!(" The case was already {}.", case.status));
    }
    if let Some(note) = &d.note {
        body.push_str("\nNote: ");
        body.push_str(note);
    }
    body
}
