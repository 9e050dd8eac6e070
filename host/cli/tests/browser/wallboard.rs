//! The supervisor's wallboard in headless Chromium: live from its event
//! stream, never reloaded.

use std::time::{Duration, Instant};

use serde_json::json;

use super::rig::{Rig, axe, enabled, screenshot, sign_in, turn, wait_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallboard_shows_a_state_change_and_a_waiting_chat_within_a_second() {
    if !enabled("wallboard journey") {
        return;
    }
    let _turn = turn().await;
    let rig = Rig::new();
    let boss = rig.browser().await;
    sign_in(&boss, &rig, "boss").await;
    boss.goto(&rig.url("/wallboard"))
        .await
        .expect("the wallboard loads");
    wait_text(&boss, "#agents table", "ann").await;
    wait_text(&boss, "#queues table", "support").await;
    boss.execute("window.notReloaded = true;", vec![])
        .await
        .expect("marked");
    let violations = axe(&boss).await;
    assert!(violations.is_empty(), "the wallboard: {violations:#?}");

    // An agent goes on break: the wallboard shows it within a second.
    let started = Instant::now();
    let (status, body) = rig.api(
        "PUT",
        "/api/v1/agents/ann/chat-state",
        Some(json!({"state": "break"})),
    );
    assert_eq!(status, 200, "{body}");
    wait_text(&boss, "#agents table", "break").await;
    let shown = started.elapsed();
    eprintln!("the state change showed after {shown:?}");
    assert!(
        shown <= Duration::from_secs(1),
        "the state change showed after {shown:?}"
    );

    // A chat nobody can take waits: the wallboard shows it within a second.
    let started = Instant::now();
    let (status, body) = rig.api(
        "POST",
        "/api/v1/visitor/chats",
        Some(json!({"queue": "support", "name": "Ada", "message": "Anyone there?"})),
    );
    assert_eq!(status, 201, "{body}");
    wait_text(&boss, "#tile-waiting", "1").await;
    let shown = started.elapsed();
    eprintln!("the waiting chat showed after {shown:?}");
    assert!(
        shown <= Duration::from_secs(1),
        "the waiting chat showed after {shown:?}"
    );
    let row = wait_text(&boss, "#queues table", "support").await;
    assert!(row.contains("support\tchat\t1"), "the queue's line: {row}");
    screenshot(&boss, "wallboard").await;
    let still = boss
        .execute("return window.notReloaded === true;", vec![])
        .await
        .expect("read");
    assert_eq!(still, json!(true), "the page was never reloaded");

    // A plain agent is refused.
    let ann = rig.browser().await;
    sign_in(&ann, &rig, "ann").await;
    ann.goto(&rig.url("/wallboard")).await.expect("loads");
    wait_text(&ann, "#wallboard-problem", "supervisors and admins").await;
    boss.close().await.expect("closed");
    ann.close().await.expect("closed");
}
