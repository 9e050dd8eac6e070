//! Dispositions: the outcome code an interaction ends with.
//!
//! Codes are configured per channel in `[dispositions.<channel>]`, with a
//! label, whether the code closes the case, and whether the channel requires
//! a code at all. Recording one runs the `disposition` hooks and the writes
//! that follow from it in one transaction: a veto leaves nothing behind.

use std::sync::Arc;

use dossier_sdk::{
    Case, Channel, Direction, Disposition, Event, EventKind, FollowUp, FollowUpKind, Interaction,
    NewFollowUp, ObjectKind,
};
use serde::Serialize;

use dossier_core::config::{ChannelDispositions, Config, DispositionCode};
use dossier_core::events::{Ctx, Step};
use dossier_core::runtime::Runtime;
use dossier_types::{Error, Result};

/// What `Host::dispose` did.
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

/// The `disposition` step: one write transaction for the hooks, the
/// case's `last_disposition` and closing, and the `system` follow-up.
struct Dispose {
    start: Option<(Interaction, DispositionCode, Option<String>)>,
    def: Option<DispositionCode>,
}

impl Step for Dispose {
    type Out = Disposed;

    fn kind(&self) -> EventKind {
        EventKind::Disposition
    }

    fn label(&self) -> &str {
        "disposition"
    }

    fn writes(&self) -> bool {
        true
    }

    fn built_in(&mut self, rt: &Arc<Runtime>, _ctx: &Ctx) -> Result<Option<Event>> {
        let (interaction, def, note) = self
            .start
            .take()
            .ok_or_else(|| Error::Refused("internal error: a disposition ran twice".into()))?;
        let case = interaction.case_number;
        if let Some(number) = case
            && !rt.store().read(|tx| tx.case_exists(number))?
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
        self.def = Some(def);
        Ok(Some(event))
    }

    fn recheck(
        &mut self,
        rt: &Arc<Runtime>,
        _ctx: &Ctx,
        _built: &Event,
        event: &mut Event,
    ) -> Result<()> {
        let Event::Disposition(d) = event else {
            return Err(Error::Refused(
                "a disposition hook replaced the event".into(),
            ));
        };
        // A hook may change the code (or the channel): it must still be
        // one the channel accepts.
        self.def = Some(disposition_code(
            rt.config(),
            d.interaction.channel,
            &d.code,
        )?);
        if let Some(number) = d.case_number
            && !rt.store().read(|tx| tx.case_exists(number))?
        {
            return Err(Error::invalid(
                ObjectKind::Case,
                "case",
                format!("refers to missing case #{number} (set by a disposition hook)"),
            ));
        }
        Ok(())
    }

    fn finish(self, rt: &Arc<Runtime>, ctx: &Ctx, event: Option<Event>) -> Result<Disposed> {
        let (Some(Event::Disposition(d)), Some(def)) = (event, self.def) else {
            return Err(Error::Refused(
                "internal error: a disposition lost its event".into(),
            ));
        };
        let Some(number) = d.case_number else {
            return Ok(Disposed {
                disposition: d,
                case: None,
                follow_up: None,
            });
        };
        let closing = rt.config().case.closing_status().to_owned();
        let mut closed_now = false;
        let case = rt.modify_case(ctx, number, "record disposition", |c| {
            c.last_disposition = Some(d.code.clone());
            if d.close_case && rt.config().case.is_open(&c.status) {
                c.status = closing;
                closed_now = true;
            }
            Ok(())
        })?;
        let follow_up = rt.add_follow_up(
            ctx,
            NewFollowUp {
                kind: FollowUpKind::System,
                ..NewFollowUp::note(number, "system", describe(&d, &def, &case, closed_now))
            },
        )?;
        Ok(Disposed {
            disposition: d,
            case: Some(case),
            follow_up: Some(follow_up),
        })
    }
}

/// The settings of `channel` (empty when not configured).
pub fn dispositions(config: &Config, channel: Channel) -> ChannelDispositions {
    config
        .dispositions
        .get(channel.as_str())
        .cloned()
        .unwrap_or_default()
}

/// The configured code `code` of `channel`, or
/// [`Error::UnknownDisposition`] listing the codes the channel accepts.
pub fn disposition_code(config: &Config, channel: Channel, code: &str) -> Result<DispositionCode> {
    let settings = config.dispositions.get(channel.as_str());
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

/// Dispositions, on the runtime.
pub trait Dispositions {
    /// Ends `interaction` with disposition `code`: see
    /// `Host::dispose`.
    fn dispose(
        self: &Arc<Self>,
        ctx: &Ctx,
        interaction: Interaction,
        code: &str,
        note: Option<String>,
    ) -> Result<Disposed>;
}

impl Dispositions for Runtime {
    fn dispose(
        self: &Arc<Self>,
        ctx: &Ctx,
        interaction: Interaction,
        code: &str,
        note: Option<String>,
    ) -> Result<Disposed> {
        let def = disposition_code(self.config(), interaction.channel, code)?;
        let note = note.filter(|n| !n.trim().is_empty());
        self.run(
            ctx,
            Dispose {
                start: Some((interaction, def, note)),
                def: None,
            },
        )
    }
}

/// Refused with [`Error::DispositionRequired`] (listing the valid codes)
/// when the channel's `[dispositions.<channel>]` says `required = true`.
pub fn finish_interaction(config: &Config, interaction: &Interaction) -> Result<()> {
    let settings = dispositions(config, interaction.channel);
    if settings.required {
        return Err(Error::DispositionRequired {
            channel: interaction.channel,
            valid: settings.codes.into_iter().map(|c| c.code).collect(),
        });
    }
    Ok(())
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
