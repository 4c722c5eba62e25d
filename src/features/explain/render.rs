//! An explainer (the task's typed output) as a reader sees it: `domain::Explanation` (paragraphs in
//! the reader's language, key messages linked), and Markdown for the CLI. The Block Kit views are
//! in `modal.rs`, on the Slack side.

use super::gather::Conversation;
use crate::ai::extractive::Lang;
use crate::ai::tasks::{CitedSentence, Explainer};
use crate::model::domain::{Explanation, SourceLink, permalink};

struct Labels {
    outcome: &'static str,
    related: &'static str,
    asks: &'static str,
    decisions: &'static str,
    open_questions: &'static str,
    for_you: &'static str,
}

fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::Fr => Labels {
            outcome: "Résultat",
            related: "Messages liés",
            asks: "Qui demande quoi",
            decisions: "Décidé",
            open_questions: "Questions ouvertes",
            for_you: "Pour vous",
        },
        Lang::De => Labels {
            outcome: "Ergebnis",
            related: "Dazu im Kanal",
            asks: "Wer will was von wem",
            decisions: "Entschieden",
            open_questions: "Offene Fragen",
            for_you: "Für dich",
        },
        Lang::Es => Labels {
            outcome: "Resultado",
            related: "Mensajes relacionados",
            asks: "Quién pide qué",
            decisions: "Decidido",
            open_questions: "Preguntas abiertas",
            for_you: "Para ti",
        },
        _ => Labels {
            outcome: "Outcome",
            related: "Related messages",
            asks: "Who wants what",
            decisions: "Decided",
            open_questions: "Still open",
            for_you: "For you",
        },
    }
}

fn list(title: &str, sentences: &[CitedSentence]) -> Option<String> {
    if sentences.is_empty() {
        return None;
    }
    let mut out = format!("*{title}*");
    for s in sentences {
        out.push_str("\n• ");
        out.push_str(s.text.trim());
    }
    Some(out)
}

/// The explainer for the reader: what it is about, then asks, decisions, open questions and what
/// it means for them, and the key messages as links.
pub fn explanation(
    explainer: &Explainer,
    conversation: &Conversation,
    workspace_url: &str,
) -> Explanation {
    let l = labels(Lang::from_code_or_english(&explainer.language));
    let mut paragraphs = vec![explainer.about.text.trim().to_string()];
    paragraphs.extend(
        [
            list(l.outcome, &explainer.outcome),
            list(l.asks, &explainer.asks),
            list(l.decisions, &explainer.decisions),
            list(l.open_questions, &explainer.open_questions),
            list(l.related, &explainer.related),
            list(l.for_you, &explainer.for_you),
        ]
        .into_iter()
        .flatten(),
    );
    paragraphs.retain(|p| !p.is_empty());
    let mut sources: Vec<SourceLink> = Vec::new();
    for r in &explainer.key_messages {
        if sources
            .iter()
            .any(|s| s.ts == r.ts && s.channel == r.channel_id)
        {
            continue;
        }
        let thread = conversation.reply_parents.get(&r.ts).map(String::as_str);
        sources.push(SourceLink {
            channel: r.channel_id.clone(),
            channel_name: (r.channel_id == conversation.channel.id)
                .then(|| conversation.channel.name.clone()),
            ts: r.ts.clone(),
            permalink: permalink(workspace_url, &r.channel_id, &r.ts, thread),
        });
    }
    Explanation {
        title: format!("#{}", conversation.channel.name),
        paragraphs,
        sources,
    }
}

/// The one sentence shown when the reader may not see the channel.
pub fn refusal(channel_name: &str) -> String {
    format!("You're not in #{channel_name}, so I can't explain this conversation.")
}

/// The refusal as an explanation (no content, no sources).
pub fn refusal_explanation(channel_name: &str) -> Explanation {
    Explanation {
        title: format!("#{channel_name}"),
        paragraphs: vec![refusal(channel_name)],
        sources: vec![],
    }
}

/// The explanation as Markdown (`chief context`).
pub fn markdown(explanation: &Explanation) -> String {
    let mut out = format!("# {}\n\n", explanation.title);
    for p in &explanation.paragraphs {
        // Slack's *bold* is Markdown's **bold**.
        let p = p
            .lines()
            .map(|line| {
                if line.starts_with('*') && line.ends_with('*') && line.len() > 2 {
                    format!("**{}**", &line[1..line.len() - 1])
                } else if let Some(rest) = line.strip_prefix("• ") {
                    format!("- {rest}")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(&p);
        out.push_str("\n\n");
    }
    if !explanation.sources.is_empty() {
        out.push_str("**Key messages**\n");
        for s in &explanation.sources {
            let channel = s.channel_name.as_deref().unwrap_or(&s.channel);
            out.push_str(&format!("- [#{channel} {}]({})\n", s.ts, s.permalink));
        }
    }
    out
}
