//! Block Kit: how chief's domain results look in Slack. Pure functions from domain structs to
//! Block Kit JSON, parsed into slack-morphism's block types at the edge (which validates the shape).
//!
//! Slack's limits are enforced here: at most 50 blocks a message and 3,000 characters a section.

use serde_json::{Value, json};
use slack_morphism::prelude::SlackBlock;

use crate::model::domain::{Briefing, BriefingStory, Explanation, SourceLink};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_CHARS: usize = 3000;

/// `action_id`s of chief's buttons, read back by the interaction handler.
pub mod actions {
    pub const MORE_LIKE_THIS: &str = "story_more";
    pub const LESS_LIKE_THIS: &str = "story_less";
    pub const STORY_MENU: &str = "story_menu";
    pub const TRY_AGAIN: &str = "explain_retry";
    pub const BRIEFING_NOW: &str = "home_briefing_now";
    pub const SET_TIME: &str = "home_set_time";
    pub const SET_MUTES: &str = "home_set_mutes";
    pub const TOGGLE_PAUSE: &str = "home_toggle_pause";
    pub const SET_LANGUAGE: &str = "home_set_language";
}

/// Cuts text to `max` characters on a character boundary, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)}]})
}

fn source_line(sources: &[SourceLink]) -> String {
    let links: Vec<String> = sources
        .iter()
        .take(8)
        .map(|s| {
            let label = s
                .channel_name
                .as_deref()
                .map(|n| format!("#{n}"))
                .unwrap_or_else(|| format!("<#{}>", s.channel));
            format!("<{}|{}>", s.permalink, escape(&label))
        })
        .collect();
    format!("Sources: {}", links.join(" · "))
}

fn story_blocks(story: &BriefingStory) -> Vec<Value> {
    let value = |action: &str| json!({"story": story.id, "action": action}).to_string();
    let mut options = Vec::new();
    let mut channels: Vec<&SourceLink> = Vec::new();
    for source in &story.sources {
        if !channels.iter().any(|c| c.channel == source.channel) {
            channels.push(source);
        }
    }
    for source in channels.iter().take(5) {
        let name = source
            .channel_name
            .clone()
            .unwrap_or_else(|| source.channel.clone());
        options.push(json!({
            "text": {"type": "plain_text", "text": clip(&format!("Mute #{name}"), 75)},
            "value": json!({"mute": source.channel}).to_string()
        }));
    }
    let mut actions = vec![
        json!({"type": "button", "action_id": actions::MORE_LIKE_THIS,
               "text": {"type": "plain_text", "text": "More like this"}, "value": value("more")}),
        json!({"type": "button", "action_id": actions::LESS_LIKE_THIS,
               "text": {"type": "plain_text", "text": "Less like this"}, "value": value("less")}),
    ];
    if !options.is_empty() {
        actions.push(
            json!({"type": "overflow", "action_id": actions::STORY_MENU, "options": options}),
        );
    }
    vec![
        section(&format!(
            "*{}*\n{}",
            escape(&story.title),
            escape(&story.summary)
        )),
        context(&format!(
            "{}\n_{}_",
            source_line(&story.sources),
            escape(&story.why)
        )),
        json!({"type": "actions", "block_id": format!("story:{}", story.id), "elements": actions}),
    ]
}

/// The briefing DM: a header with the date, then per story its text, sources, why, and feedback.
pub fn briefing_blocks(briefing: &Briefing) -> Vec<Value> {
    let mut blocks = vec![json!({"type": "header", "text": {"type": "plain_text",
        "text": clip(&format!("Your briefing for {}", briefing.date), 150)}})];
    if briefing.stories.is_empty() {
        blocks.push(section("Nothing needs you today. Enjoy the quiet."));
    }
    for (i, story) in briefing.stories.iter().enumerate() {
        if i > 0 {
            blocks.push(json!({"type": "divider"}));
        }
        blocks.extend(story_blocks(story));
    }
    blocks.truncate(MAX_BLOCKS);
    blocks
}

/// The notification text of a briefing (shown where blocks are not, e.g. push notifications).
pub fn briefing_text(briefing: &Briefing) -> String {
    if briefing.stories.is_empty() {
        return format!(
            "Your briefing for {}: nothing needs you today.",
            briefing.date
        );
    }
    let titles: Vec<&str> = briefing.stories.iter().map(|s| s.title.as_str()).collect();
    clip(
        &format!("Your briefing for {}: {}", briefing.date, titles.join("; ")),
        3000,
    )
}

/// Blocks of an explanation.
pub fn explanation_blocks(explanation: &Explanation) -> Vec<Value> {
    let mut blocks: Vec<Value> = explanation
        .paragraphs
        .iter()
        .map(|p| section(&escape(p)))
        .collect();
    if !explanation.sources.is_empty() {
        blocks.push(context(&source_line(&explanation.sources)));
    }
    blocks.truncate(MAX_BLOCKS);
    blocks
}

/// A modal: the shell of click-to-context's views.
pub fn modal(title: &str, blocks: Vec<Value>, private_metadata: &str) -> Value {
    json!({
        "type": "modal",
        "callback_id": "explain_in_context",
        "title": {"type": "plain_text", "text": clip(title, 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "private_metadata": clip(private_metadata, 3000),
        "blocks": blocks,
    })
}

/// The first view of click-to-context, opened within Slack's 3-second `trigger_id` window.
pub fn loading_modal(private_metadata: &str) -> Value {
    modal(
        "Explain in context",
        vec![section(
            ":hourglass_flowing_sand: Reading the conversation…",
        )],
        private_metadata,
    )
}

/// One sentence saying what went wrong, and a way to try again.
pub fn failure_blocks(sentence: &str, retry_value: &str) -> Vec<Value> {
    vec![
        section(&escape(sentence)),
        json!({"type": "actions", "elements": [{"type": "button", "action_id": actions::TRY_AGAIN,
            "text": {"type": "plain_text", "text": "Try again"}, "value": clip(retry_value, 2000)}]}),
    ]
}

/// Help (and the answer to an unknown `/chief` command).
pub fn help_blocks(help_markdown: &str, error: Option<&str>) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(error) = error {
        blocks.push(section(&format!(":warning: {}", escape(error))));
    }
    blocks.push(section(help_markdown));
    blocks
}

/// What the App Home shows of a user's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HomeSettings {
    /// `HH:MM` when fixed, `None` when learned ("auto").
    pub time: Option<String>,
    /// The delivery days as a person reads them ("Mon, Tue, Wed, Thu, Fri").
    pub days: String,
    /// Muted channel ids.
    pub muted: Vec<String>,
    pub paused: bool,
    /// The language set (`fr`), `None` when it follows the Slack locale.
    pub language: Option<String>,
    /// The user's top interests, strongest first.
    pub interests: Vec<String>,
}

/// Most blocks of a Home view (Slack's limit for Home tabs).
pub const MAX_HOME_BLOCKS: usize = 100;

/// The App Home tab: an optional notice, the latest briefing, the settings as controls (time
/// picker, muted-channel multi-select, pause/resume, "Brief me now") and usage hints.
pub fn home_view(
    briefing: Option<&Briefing>,
    settings: &HomeSettings,
    notice: Option<&str>,
) -> Value {
    let mut blocks =
        vec![json!({"type": "header", "text": {"type": "plain_text", "text": "chief"}})];
    if let Some(notice) = notice {
        blocks.push(section(&format!(":information_source: {}", escape(notice))));
    }
    if settings.paused {
        blocks.push(section(":double_vertical_bar: Your briefings are paused."));
    }
    match briefing {
        Some(b) => {
            let mut shown = briefing_blocks(b);
            shown.truncate(MAX_HOME_BLOCKS - 16);
            blocks.extend(shown);
        }
        None => blocks.push(section(
            "*Your briefing*\nNo briefing yet. It arrives as a direct message on your next delivery day, or press *Brief me now*.",
        )),
    }
    blocks.push(json!({"type": "divider"}));
    blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": "Settings"}}));

    let time_text = match &settings.time {
        Some(t) => format!("*Delivery time:* {t} your time"),
        None => "*Delivery time:* auto, when you usually start your day".to_string(),
    };
    let mut picker = json!({"type": "timepicker", "action_id": actions::SET_TIME,
        "placeholder": {"type": "plain_text", "text": "Pick a time"}});
    if let Some(t) = &settings.time {
        picker["initial_time"] = json!(t);
    }
    blocks.push(json!({"type": "section", "block_id": "home_time",
        "text": {"type": "mrkdwn", "text": time_text}, "accessory": picker}));
    if settings.time.is_some() {
        blocks.push(
            json!({"type": "actions", "block_id": "home_time_auto", "elements": [
            {"type": "button", "action_id": actions::SET_TIME, "value": "auto",
             "text": {"type": "plain_text", "text": "Use when I usually start"}}]}),
        );
    }
    blocks.push(section(&format!(
        "*Delivery days:* {}\nChange them with `/chief days mon-fri`.",
        escape(&settings.days)
    )));
    // The language: every supported one, and "Automatic" (the Slack locale).
    let option = |value: &str, label: &str| json!({"text": {"type": "plain_text", "text": label}, "value": value});
    let automatic = option(
        crate::model::settings::LANGUAGE_AUTO,
        "Automatic (your Slack language)",
    );
    let mut options = vec![automatic.clone()];
    options.extend(
        crate::model::settings::LANGUAGES
            .iter()
            .map(|(code, name)| option(code, name)),
    );
    let initial = settings
        .language
        .as_deref()
        .and_then(|l| {
            let primary = l.split(['-', '_']).next().unwrap_or(l).to_lowercase();
            options
                .iter()
                .find(|o| o["value"] == primary.as_str())
                .cloned()
        })
        .unwrap_or(automatic);
    blocks.push(json!({"type": "section", "block_id": "home_language",
        "text": {"type": "mrkdwn",
                 "text": "*Language:* what your briefings and explanations are written in."},
        "accessory": {"type": "static_select", "action_id": actions::SET_LANGUAGE,
            "placeholder": {"type": "plain_text", "text": "Language"},
            "options": options, "initial_option": initial}}));
    blocks.push(section("*Muted channels:* left out of your briefings."));
    let mut mutes = json!({"type": "multi_channels_select", "action_id": actions::SET_MUTES,
        "placeholder": {"type": "plain_text", "text": "Channels to leave out"}});
    if !settings.muted.is_empty() {
        mutes["initial_channels"] = json!(settings.muted);
    }
    blocks.push(json!({"type": "actions", "block_id": "home_mutes", "elements": [mutes]}));
    let (pause_text, pause_value) = if settings.paused {
        ("Resume briefings", "resume")
    } else {
        ("Pause briefings", "pause")
    };
    blocks.push(json!({"type": "actions", "block_id": "home_buttons", "elements": [
        {"type": "button", "action_id": actions::BRIEFING_NOW, "style": "primary", "value": "now",
         "text": {"type": "plain_text", "text": "Brief me now"}},
        {"type": "button", "action_id": actions::TOGGLE_PAUSE, "value": pause_value,
         "text": {"type": "plain_text", "text": pause_text}},
    ]}));
    if !settings.interests.is_empty() {
        blocks.push(context(&format!(
            "What I think you care about: {}. `/chief interests` shows the scores.",
            escape(&settings.interests.join(", "))
        )));
    }
    blocks.push(json!({"type": "divider"}));
    blocks.push(context(
        "*Explain in context:* on any message, open ⋮ (More actions) → *Explain in context*.\n\
         *More like this / Less like this* under a briefing story teach me what matters to you.\n\
         `/chief help` lists every command.",
    ));
    blocks.truncate(MAX_HOME_BLOCKS);
    json!({"type": "home", "blocks": blocks})
}

/// Adds the "Your team" section (what the org chart holds about the person, one fact a line)
/// to a Home view, while the view stays within Slack's block limit.
pub fn append_team(view: &mut Value, lines: &[String]) {
    let Some(blocks) = view.get_mut("blocks").and_then(Value::as_array_mut) else {
        return;
    };
    if lines.is_empty() || blocks.len() + 3 > MAX_HOME_BLOCKS {
        return;
    }
    blocks.push(json!({"type": "header", "text": {"type": "plain_text", "text": "Your team"}}));
    let text: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    blocks.push(section(&truncate_chars(&text.join("\n"), 2_900)));
    blocks.push(context(
        "Inferred from who you reply to, mention, react to and work with. Not right? \
         `/chief team set <team name>` (or `/chief team reset`).",
    ));
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Parses Block Kit JSON into slack-morphism's types; an invalid shape is a bug, reported as such.
pub fn to_slack(blocks: &[Value]) -> Result<Vec<SlackBlock>, serde_json::Error> {
    blocks
        .iter()
        .map(|b| serde_json::from_value(b.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::domain::permalink;

    fn story(id: &str) -> BriefingStory {
        BriefingStory {
            id: id.into(),
            title: "Release <v2> slips".into(),
            summary: "You asked for a date; Ana says Friday.".into(),
            why: "you reacted to this topic".into(),
            topics: vec!["release".into()],
            sources: vec![SourceLink {
                channel: "C1".into(),
                channel_name: Some("eng".into()),
                ts: "1700000000.000100".into(),
                permalink: permalink("https://acme.slack.com", "C1", "1700000000.000100", None),
            }],
        }
    }

    #[test]
    fn a_briefing_renders_valid_blocks_with_feedback_and_sources() {
        let briefing = Briefing {
            team_id: "T1".into(),
            user_id: "U1".into(),
            date: "2026-11-23".into(),
            stories: vec![story("s1"), story("s2")],
        };
        let blocks = briefing_blocks(&briefing);
        let parsed = to_slack(&blocks).expect("slack-morphism accepts the blocks");
        assert_eq!(parsed.len(), blocks.len());
        let text = serde_json::to_string(&blocks).unwrap();
        assert!(text.contains("https://acme.slack.com/archives/C1/p1700000000000100"));
        assert!(text.contains("More like this") && text.contains("Less like this"));
        assert!(text.contains("Mute #eng"));
        assert!(
            text.contains("Release &lt;v2&gt; slips"),
            "mrkdwn is escaped"
        );
        assert!(briefing_text(&briefing).contains("Release <v2> slips"));
    }

    #[test]
    fn limits_hold_for_huge_inputs() {
        let mut huge = story("s");
        huge.summary = "x".repeat(10_000);
        let briefing = Briefing {
            team_id: "T".into(),
            user_id: "U".into(),
            date: "d".into(),
            stories: vec![huge; 30],
        };
        let blocks = briefing_blocks(&briefing);
        assert!(blocks.len() <= MAX_BLOCKS);
        for b in &blocks {
            if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
                assert!(t.chars().count() <= MAX_SECTION_CHARS);
            }
        }
        to_slack(&blocks).unwrap();
    }

    #[test]
    fn modals_and_failures_are_valid() {
        let view: slack_morphism::prelude::SlackView =
            serde_json::from_value(loading_modal("{}")).expect("a valid modal");
        assert!(matches!(view, slack_morphism::prelude::SlackView::Modal(_)));
        to_slack(&failure_blocks("I could not read this channel.", "C1:1.2")).unwrap();
        to_slack(&help_blocks("*help*", Some("unknown command"))).unwrap();
        let explanation = Explanation {
            title: "t".into(),
            paragraphs: vec!["You are asked to review.".into()],
            sources: story("s").sources,
        };
        to_slack(&explanation_blocks(&explanation)).unwrap();
    }

    #[test]
    fn the_home_view_is_valid_with_and_without_a_briefing() {
        let settings = HomeSettings {
            time: Some("08:30".into()),
            days: "Mon, Tue".into(),
            muted: vec!["C1".into()],
            paused: true,
            language: Some("fr".into()),
            interests: vec!["payments".into()],
        };
        let briefing = Briefing {
            team_id: "T".into(),
            user_id: "U".into(),
            date: "2026-11-23".into(),
            stories: vec![story("s1")],
        };
        for (b, notice) in [(None, None), (Some(&briefing), Some("Done."))] {
            let view = home_view(b, &settings, notice);
            let parsed: slack_morphism::prelude::SlackView =
                serde_json::from_value(view.clone()).expect("a valid Home view");
            assert!(matches!(
                parsed,
                slack_morphism::prelude::SlackView::Home(_)
            ));
            let text = view.to_string();
            for id in [
                actions::SET_TIME,
                actions::SET_MUTES,
                actions::TOGGLE_PAUSE,
                actions::BRIEFING_NOW,
                actions::SET_LANGUAGE,
            ] {
                assert!(text.contains(id), "{id}");
            }
            assert!(text.contains("\"initial_time\":\"08:30\""));
            assert_eq!(
                view["blocks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|b| b["block_id"] == "home_language")
                    .unwrap()["accessory"]["initial_option"]["value"],
                "fr"
            );
            assert!(text.contains("Resume briefings"));
        }
        let auto = home_view(None, &HomeSettings::default(), None).to_string();
        assert!(!auto.contains("initial_time") && auto.contains("Pause briefings"));
        assert!(auto.contains("\"initial_option\":{\"text\":{\"text\":\"Automatic"));
    }

    #[test]
    fn permalinks_point_into_threads() {
        assert_eq!(
            permalink(
                "https://acme.slack.com/",
                "C1",
                "1700000001.000200",
                Some("1700000000.000100")
            ),
            "https://acme.slack.com/archives/C1/p1700000001000200?thread_ts=1700000000.000100&cid=C1"
        );
    }
}
