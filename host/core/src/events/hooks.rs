//! The hook names of every event, in one fixed order: what scripts define,
//! what a handler's writes are marked with, and what `script docs` lists.

use dossier_sdk::{Event, Record};

/// Every hook a script can define, in a fixed order (bit `i` of a hook mask
/// is `HOOKS[i]`): [`dossier_sdk::events::hook_names`] as a const array, which
/// a test keeps equal to it.
pub const HOOKS: [&str; 17] = [
    "before_save_customer",
    "before_save_case",
    "before_save_follow_up",
    "before_save_task",
    "after_save_customer",
    "after_save_case",
    "after_save_follow_up",
    "after_save_task",
    "on_screen_pop",
    "on_disposition",
    "on_notification",
    "on_email_received",
    "on_email_held",
    "on_chat_offered",
    "on_chat_ended",
    "on_task_reminder",
    "on_directory_changed",
];

/// The index in [`HOOKS`] of the hook for `event`, without allocating
/// (unlike [`Event::hook_name`], which it agrees with).
pub fn hook_index(event: &Event) -> usize {
    let object = |r: &Record| match r {
        Record::Customer(_) => 0,
        Record::Case(_) => 1,
        Record::FollowUp(_) => 2,
        Record::Task(_) => 3,
    };
    match event {
        Event::BeforeSave(e) => object(&e.record),
        Event::AfterSave(e) => 4 + object(&e.record),
        Event::ScreenPop(_) => 8,
        Event::Disposition(_) => 9,
        Event::Notification(_) => 10,
        Event::EmailReceived(_) => 11,
        Event::EmailHeld(_) => 12,
        Event::ChatOffered(_) => 13,
        Event::ChatEnded(_) => 14,
        Event::TaskReminder(_) => 15,
        Event::DirectoryChanged(_) => 16,
    }
}
