//! Specifications of the segmenter on small hand-made channels.

use super::*;

fn msg(id: &str, author: &str, minute: i64, text: &str) -> ChatMessage {
    ChatMessage::new(id, author, 1_700_000_000 + minute * 60, text)
}

fn reply(id: &str, author: &str, minute: i64, text: &str, parent: &str) -> ChatMessage {
    ChatMessage {
        thread_parent: Some(parent.to_string()),
        ..msg(id, author, minute, text)
    }
}

/// The discussions as sorted lists of ids, for order-independent comparison.
fn groups(discussions: &[Discussion]) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = discussions
        .iter()
        .map(|d| {
            let mut ids: Vec<&str> = d.message_ids.iter().map(String::as_str).collect();
            ids.sort();
            ids
        })
        .collect();
    out.sort();
    out
}

fn together(discussions: &[Discussion], a: &str, b: &str) -> bool {
    discussions
        .iter()
        .any(|d| d.message_ids.iter().any(|m| m == a) && d.message_ids.iter().any(|m| m == b))
}

#[test]
fn a_thread_stays_together_whatever_it_says() {
    let messages = vec![
        msg(
            "1",
            "ann",
            0,
            "The deploy pipeline is red again since this morning",
        ),
        msg("2", "bob", 1, "Lunch at the Thai place today?"),
        reply("3", "cat", 2, "Lunch sounds great, count me in", "1"),
        msg("4", "dan", 3, "Has anyone seen the new office plants?"),
        reply("5", "bob", 40, "Fixed, it was an expired token", "1"),
    ];
    let discussions = segment(&messages);
    assert!(together(&discussions, "1", "3"));
    assert!(together(&discussions, "1", "5"));
    assert!(
        !together(&discussions, "2", "3"),
        "a thread reply never joins the channel stream"
    );
}

#[test]
fn replies_whose_parent_is_outside_the_window_still_form_one_discussion() {
    let messages = vec![
        reply("10", "ann", 0, "agreed", "1"),
        msg("11", "bob", 1, "unrelated channel message about tea"),
        reply("12", "cat", 90, "me too", "1"),
    ];
    let discussions = segment(&messages);
    assert!(together(&discussions, "10", "12"));
    assert!(!together(&discussions, "10", "11"));
}

#[test]
fn two_interleaved_conversations_with_addressee_cues_are_separated() {
    let messages = vec![
        msg(
            "1",
            "alice",
            0,
            "my wifi drops every few minutes on the new laptop",
        ),
        msg(
            "2",
            "carol",
            0,
            "how do I make grub boot windows by default?",
        ),
        msg("3", "bob", 1, "alice: which wifi chipset is it?"),
        msg(
            "4",
            "dave",
            1,
            "carol: edit GRUB_DEFAULT in /etc/default/grub",
        ),
        msg("5", "alice", 2, "bob: an intel one, iwlwifi"),
        msg("6", "carol", 2, "dave: then run update-grub?"),
        msg(
            "7",
            "bob",
            3,
            "alice: try disabling power saving for iwlwifi",
        ),
        msg("8", "dave", 3, "carol: yes, then reboot"),
    ];
    let discussions = segment(&messages);
    assert_eq!(
        groups(&discussions),
        vec![vec!["1", "3", "5", "7"], vec!["2", "4", "6", "8"]]
    );
}

#[test]
fn a_long_silence_splits_a_discussion() {
    let messages = vec![
        msg("1", "ann", 0, "the staging database is slow today"),
        msg("2", "bob", 1, "ann: probably the nightly vacuum"),
        msg("3", "ann", 2, "makes sense"),
        // Five hours later, the same people talk about something else.
        msg("4", "ann", 300, "anyone up for the conference in May?"),
        msg("5", "bob", 301, "ann: yes, I booked already"),
    ];
    let discussions = segment(&messages);
    assert_eq!(
        groups(&discussions),
        vec![vec!["1", "2", "3"], vec!["4", "5"]]
    );
    assert_eq!(discussions[0].start, 1_700_000_000);
    assert_eq!(discussions[0].end, 1_700_000_000 + 120);
}

#[test]
fn shared_vocabulary_joins_messages_without_any_other_cue() {
    let messages = vec![
        msg(
            "1",
            "ann",
            0,
            "the kubernetes ingress certificate expired overnight",
        ),
        msg("2", "bob", 1, "what's everyone doing for lunch"),
        msg("3", "cat", 2, "does the sandwich shop still do soup"),
        msg(
            "4",
            "dan",
            3,
            "renewing the ingress certificate for kubernetes now",
        ),
    ];
    let discussions = segment(&messages);
    assert!(together(&discussions, "1", "4"));
    assert!(!together(&discussions, "1", "2"));
}

#[test]
fn explicit_mentions_and_display_names_are_addressee_cues() {
    let mut question = msg("1", "U1", 0, "who owns the billing service?");
    question.author_name = Some("Ann Lee".to_string());
    let mut noise = msg("2", "U2", 0, "coffee machine is broken");
    noise.author_name = Some("Bob".to_string());
    let mut answer = msg("3", "U3", 1, "that would be me");
    answer.mentions = vec!["U1".to_string()];
    let by_name = msg("4", "U4", 1, "Ann Lee: and I help on weekends");
    let discussions = segment(&[question, noise, answer, by_name]);
    assert!(together(&discussions, "1", "3"));
    assert!(together(&discussions, "1", "4"));
    assert!(!together(&discussions, "2", "3"));
}

#[test]
fn every_message_is_in_exactly_one_discussion_in_time_order() {
    // Input out of time order: the output is still chronological.
    let messages = vec![
        msg("b", "bob", 5, "second"),
        msg("a", "ann", 0, "first"),
        msg("c", "cat", 500, "much later"),
    ];
    let discussions = segment(&messages);
    let mut all: Vec<&str> = discussions
        .iter()
        .flat_map(|d| d.message_ids.iter().map(String::as_str))
        .collect();
    all.sort();
    assert_eq!(all, vec!["a", "b", "c"]);
    assert!(discussions.windows(2).all(|w| w[0].start <= w[1].start));
    for d in &discussions {
        assert!(d.start <= d.end);
    }
    assert!(segment(&[]).is_empty());
}

#[test]
fn slack_messages_convert_without_slack_knowledge() {
    let parent = Message {
        team_id: "T".into(),
        channel_id: "C".into(),
        ts: "1700000000.000100".into(),
        thread_ts: Some("1700000000.000100".into()),
        user_id: Some("U1".into()),
        user_name: Some("ann".into()),
        text: "release notes draft is up".into(),
        posted_at: 1_700_000_000,
    };
    let reply = Message {
        ts: "1700000100.000200".into(),
        posted_at: 1_700_000_100,
        user_id: Some("U2".into()),
        user_name: None,
        text: "looks good".into(),
        ..parent.clone()
    };
    let a = ChatMessage::from(&parent);
    let b = ChatMessage::from(&reply);
    assert_eq!(
        a.thread_parent, None,
        "a thread parent is a channel message"
    );
    assert_eq!(b.thread_parent.as_deref(), Some("1700000000.000100"));
    assert_eq!(
        (a.author.as_str(), a.author_name.as_deref()),
        ("U1", Some("ann"))
    );
    assert_eq!(segment(&[a, b]).len(), 1);
}

#[test]
fn look_back_is_bounded() {
    // With a look-back of 2 messages, a message cannot reach 3 messages back (except its own
    // author's last message).
    let params = SegmentParams {
        max_lookback: 2,
        ..SegmentParams::default()
    };
    let messages = vec![
        msg("1", "ann", 0, "postgres replication lag alert fired"),
        msg("2", "bob", 0, "x"),
        msg("3", "cat", 0, "y"),
        msg("4", "dan", 0, "postgres replication lag is back to normal"),
    ];
    let links = Segmenter::new(params).links(&messages);
    assert_ne!(links[3], Some(0));
}
