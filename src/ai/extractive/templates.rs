//! Framing sentences in the reader's language (English, French, German, Spanish). Content
//! sentences quoted from the sources stay in their own language; only chief's own words are
//! translated. Templates are written to avoid grammatical agreement with the people they list
//! (passive voice, "by X, Y and you"), and never contain numbers or the reader's name, so that they
//! always pass the guardrail.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::lang::Lang;
use super::text::capitalise;

/// Where an interest of the reader comes from: decides how it is explained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterestOrigin {
    /// The reader reacted to messages about it.
    Reacted,
    /// The reader writes about it.
    Wrote,
    /// The reader opened stories or explanations about it.
    Clicked,
    /// The reader asked for more of it (feedback).
    Feedback,
    /// Declared or otherwise followed.
    #[default]
    Followed,
}

/// Why a story matters to a reader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// The reader was @-mentioned or named.
    Mentioned,
    /// The reader wrote in the discussion.
    TookPart,
    /// A topic or entity the reader is interested in.
    Interest {
        term: String,
        origin: InterestOrigin,
    },
    /// Someone the reader works with closely is involved.
    ClosePerson { name: String },
    /// It is in one of the channels the reader writes in most.
    TopChannel { channel: String },
    /// Deadlines, blockers or requests make it urgent.
    Urgent,
    /// Someone asked the reader to do something (a `request` proposition put to them).
    AskedOfYou,
    /// The reader promised to do something (a `commitment` proposition by them).
    YouPromised,
    /// A decision or blocker in a project the reader follows.
    InYourProject { project: String },
}

/// "a, b and c" in the language.
pub fn join_list(items: &[String], lang: Lang) -> String {
    let and = match lang {
        Lang::En => "and",
        Lang::Fr => "et",
        Lang::De => "und",
        Lang::Es => "y",
    };
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

fn hashes(channels: &[String]) -> Vec<String> {
    channels
        .iter()
        .map(|c| format!("#{}", c.trim_start_matches('#')))
        .collect()
}

/// The reader as the object of "by …" in the language.
fn you_object(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "you",
        Lang::Fr => "vous",
        Lang::De => "dir",
        Lang::Es => "ti",
    }
}

/// "Postgres migration was discussed in #infra and #ops by Alice, Carol and you."
pub fn discussed(
    topics: &[String],
    channels: &[String],
    people: &[String],
    reader_took_part: bool,
    lang: Lang,
) -> String {
    let topic = if topics.is_empty() {
        match lang {
            Lang::En => "This".to_string(),
            Lang::Fr => "Ce sujet".to_string(),
            Lang::De => "Das Thema".to_string(),
            Lang::Es => "Este tema".to_string(),
        }
    } else {
        join_list(topics, lang)
    };
    let channels = join_list(&hashes(channels), lang);
    let mut who: Vec<String> = people.to_vec();
    if reader_took_part {
        who.push(you_object(lang).to_string());
    }
    let who = join_list(&who, lang);
    let capital = capitalise(&topic);
    match (lang, who.is_empty()) {
        (Lang::En, false) => format!("{capital} came up in {channels}, with {who}."),
        (Lang::En, true) => format!("{capital} came up in {channels}."),
        (Lang::Fr, false) => format!("Sujet abordé dans {channels} : {topic}, avec {who}."),
        (Lang::Fr, true) => format!("Sujet abordé dans {channels} : {topic}."),
        (Lang::De, false) => format!("Thema in {channels}: {topic}, mit {who}."),
        (Lang::De, true) => format!("Thema in {channels}: {topic}."),
        (Lang::Es, false) => format!("Tema tratado en {channels}: {topic}, con {who}."),
        (Lang::Es, true) => format!("Tema tratado en {channels}: {topic}."),
    }
}

/// One reason as a clause that fits after "because".
pub fn reason_clause(reason: &Reason, lang: Lang) -> String {
    use InterestOrigin as O;
    match (lang, reason) {
        (Lang::En, Reason::Mentioned) => "you were mentioned".into(),
        (Lang::En, Reason::TookPart) => "you took part".into(),
        (Lang::En, Reason::Interest { term, origin }) => match origin {
            O::Reacted => format!("you reacted to {term}"),
            O::Wrote => format!("you often write about {term}"),
            O::Clicked => format!("you looked into {term}"),
            O::Feedback => format!("you asked for more about {term}"),
            O::Followed => format!("you follow {term}"),
        },
        (Lang::En, Reason::ClosePerson { name }) => {
            format!("{name}, whom you work with, is involved")
        }
        (Lang::En, Reason::TopChannel { channel }) => {
            format!("it is in #{channel}, a channel you write in most")
        }
        (Lang::En, Reason::Urgent) => "it is urgent".into(),
        (Lang::En, Reason::AskedOfYou) => "you were asked to do something".into(),
        (Lang::En, Reason::YouPromised) => "you promised to do something".into(),
        (Lang::En, Reason::InYourProject { project }) => {
            format!("it decides or blocks something in {project}, which you follow")
        }

        (Lang::Fr, Reason::Mentioned) => "on vous a mentionné".into(),
        (Lang::Fr, Reason::TookPart) => "vous y avez participé".into(),
        (Lang::Fr, Reason::Interest { term, origin }) => match origin {
            O::Reacted => format!("vous avez réagi à {term}"),
            O::Wrote => format!("vous écrivez souvent sur {term}"),
            O::Clicked => format!("vous vous êtes intéressé à {term}"),
            O::Feedback => format!("vous avez demandé plus sur {term}"),
            O::Followed => format!("vous suivez {term}"),
        },
        (Lang::Fr, Reason::ClosePerson { name }) => {
            format!("{name}, avec qui vous travaillez, y participe")
        }
        (Lang::Fr, Reason::TopChannel { channel }) => {
            format!("c'est dans #{channel}, où vous écrivez le plus")
        }
        (Lang::Fr, Reason::Urgent) => "c'est urgent".into(),
        (Lang::Fr, Reason::AskedOfYou) => "on vous a demandé quelque chose".into(),
        (Lang::Fr, Reason::YouPromised) => "vous avez promis quelque chose".into(),
        (Lang::Fr, Reason::InYourProject { project }) => {
            format!("cela décide ou bloque quelque chose dans {project}, que vous suivez")
        }

        (Lang::De, Reason::Mentioned) => "du erwähnt wurdest".into(),
        (Lang::De, Reason::TookPart) => "du dich beteiligt hast".into(),
        (Lang::De, Reason::Interest { term, origin }) => match origin {
            O::Reacted => format!("du auf {term} reagiert hast"),
            O::Wrote => format!("du oft über {term} schreibst"),
            O::Clicked => format!("du dir {term} angesehen hast"),
            O::Feedback => format!("du mehr über {term} wolltest"),
            O::Followed => format!("du {term} folgst"),
        },
        (Lang::De, Reason::ClosePerson { name }) => {
            format!("{name}, mit dem du eng arbeitest, beteiligt ist")
        }
        (Lang::De, Reason::TopChannel { channel }) => {
            format!("es in #{channel} ist, wo du am meisten schreibst")
        }
        (Lang::De, Reason::Urgent) => "es dringend ist".into(),
        (Lang::De, Reason::AskedOfYou) => "du um etwas gebeten wurdest".into(),
        (Lang::De, Reason::YouPromised) => "du etwas zugesagt hast".into(),
        (Lang::De, Reason::InYourProject { project }) => {
            format!("es in {project}, dem du folgst, etwas entscheidet oder blockiert")
        }

        (Lang::Es, Reason::Mentioned) => "te mencionaron".into(),
        (Lang::Es, Reason::TookPart) => "participaste".into(),
        (Lang::Es, Reason::Interest { term, origin }) => match origin {
            O::Reacted => format!("reaccionaste a {term}"),
            O::Wrote => format!("escribes a menudo sobre {term}"),
            O::Clicked => format!("consultaste {term}"),
            O::Feedback => format!("pediste más sobre {term}"),
            O::Followed => format!("sigues {term}"),
        },
        (Lang::Es, Reason::ClosePerson { name }) => format!("participa {name}, con quien trabajas"),
        (Lang::Es, Reason::TopChannel { channel }) => {
            format!("está en #{channel}, donde más escribes")
        }
        (Lang::Es, Reason::Urgent) => "es urgente".into(),
        (Lang::Es, Reason::AskedOfYou) => "te pidieron algo".into(),
        (Lang::Es, Reason::YouPromised) => "prometiste hacer algo".into(),
        (Lang::Es, Reason::InYourProject { project }) => {
            format!("decide o bloquea algo en {project}, que sigues")
        }
    }
}

/// "This is for you because you were mentioned and it is urgent." (`None` without reasons.)
pub fn because(reasons: &[Reason], lang: Lang) -> Option<String> {
    if reasons.is_empty() {
        return None;
    }
    let clauses: Vec<String> = reasons.iter().map(|r| reason_clause(r, lang)).collect();
    let list = join_list(&clauses, lang);
    Some(match lang {
        Lang::En => format!("This is for you because {list}."),
        // "parce qu'on", "parce qu'Alice": French elides before a vowel.
        Lang::Fr if list.starts_with(|c: char| "aeiouhàâéèêîôûAEIOUHÉ".contains(c)) => {
            format!("C'est pour vous parce qu'{list}.")
        }
        Lang::Fr => format!("C'est pour vous parce que {list}."),
        Lang::De => format!("Das betrifft dich, weil {list}."),
        Lang::Es => format!("Te concierne porque {list}."),
    })
}

/// The briefing's opening line (no facts, no names).
pub fn intro(lang: Lang) -> String {
    match lang {
        Lang::En => "Here is what matters most to you today.",
        Lang::Fr => "Voici ce qui compte le plus pour vous aujourd'hui.",
        Lang::De => "Das ist heute für dich am wichtigsten.",
        Lang::Es => "Esto es lo más importante para ti hoy.",
    }
    .to_string()
}

/// Said when there is nothing to brief.
pub fn nothing_new(lang: Lang) -> String {
    match lang {
        Lang::En => "Nothing needs your attention right now.",
        Lang::Fr => "Rien ne demande votre attention pour le moment.",
        Lang::De => "Im Moment braucht nichts deine Aufmerksamkeit.",
        Lang::Es => "Ahora mismo nada requiere tu atención.",
    }
    .to_string()
}

/// "This discussion in #infra is about the Postgres migration and the billing service."
pub fn about(topics: &[String], channel: &str, lang: Lang) -> String {
    let channel = format!("#{}", channel.trim_start_matches('#'));
    let topics = join_list(topics, lang);
    match (lang, topics.is_empty()) {
        (Lang::En, false) => format!("This discussion in {channel} is about {topics}."),
        (Lang::En, true) => format!("This is a discussion in {channel}."),
        (Lang::Fr, false) => format!("Cette discussion dans {channel} porte sur {topics}."),
        (Lang::Fr, true) => format!("C'est une discussion dans {channel}."),
        (Lang::De, false) => format!("In dieser Diskussion in {channel} geht es um {topics}."),
        (Lang::De, true) => format!("Das ist eine Diskussion in {channel}."),
        (Lang::Es, false) => format!("Esta conversación en {channel} trata de {topics}."),
        (Lang::Es, true) => format!("Es una conversación en {channel}."),
    }
}

/// Why a discussion matters to the reader through their interests.
pub fn touches_interests(terms: &[String], lang: Lang) -> String {
    let list = join_list(terms, lang);
    match lang {
        Lang::En => format!("It touches {list}, which you follow."),
        Lang::Fr => format!("Elle touche à {list}, que vous suivez."),
        Lang::De => format!("Es geht um {list}, dem du folgst."),
        Lang::Es => format!("Toca {list}, que sigues."),
    }
}

/// Said when nobody asks anything of the reader.
pub fn nothing_asked(lang: Lang) -> String {
    match lang {
        Lang::En => "Nothing here is asked of you directly.",
        Lang::Fr => "Rien ne vous est demandé directement ici.",
        Lang::De => "Hier wird nichts direkt von dir verlangt.",
        Lang::Es => "Aquí no se te pide nada directamente.",
    }
    .to_string()
}

// Click-to-context: the framing around what the messages say. Quotes keep the message's own
// words and language; only the framing follows the reader's language.

/// A message quoted in the typography of the language.
fn quoted(text: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("“{text}”"),
        Lang::Fr => format!("«\u{a0}{text}\u{a0}»"),
        Lang::Es => format!("«{text}»"),
        Lang::De => format!("„{text}“"),
    }
}

/// "In #design, Priya asks to move the design review." — what the discussion is about, said as
/// its opening statement (who asked what), not as keywords. `by_person`: the statement starts
/// with a person's name (English then reads "In #design, Priya asks …", else "In #design: …").
pub fn about_statement(channel: &str, statement: &str, by_person: bool, lang: Lang) -> String {
    let channel = format!("#{}", channel.trim_start_matches('#'));
    match lang {
        Lang::En if by_person => format!("In {channel}, {statement}"),
        Lang::En => format!("In {channel}: {statement}"),
        Lang::Fr => format!("Dans {channel} : {statement}"),
        Lang::De => format!("In {channel}: {statement}"),
        Lang::Es => format!("En {channel}: {statement}"),
    }
}

/// "In #design, Priya wrote: “…”" — the opening message quoted, when no statement could be read
/// from it.
pub fn about_quote(channel: &str, author: &str, quote: &str, lang: Lang) -> String {
    let channel = format!("#{}", channel.trim_start_matches('#'));
    let q = quoted(quote, lang);
    match lang {
        Lang::En => format!("In {channel}, {author} wrote: {q}"),
        Lang::Fr => format!("Dans {channel}, {author} a écrit : {q}"),
        Lang::De => format!("In {channel} schrieb {author}: {q}"),
        Lang::Es => format!("En {channel}, {author} escribió: {q}"),
    }
}

/// How a reply relates to what it answers, for [`reply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// The reply in the thread that settles it (a decision, a date, an answer).
    Outcome,
    /// A later reply in the same thread (often the agreement or the final word).
    Then,
    /// No thread: the message right after the clicked one that answers it.
    RightAfter,
}

/// "In the thread, Lena replied: “Let's move it to Thursday 10 December at 2pm.”"
pub fn reply(kind: ReplyKind, author: &str, quote: &str, lang: Lang) -> String {
    let q = quoted(quote, lang);
    match (lang, kind) {
        (Lang::En, ReplyKind::Outcome) => format!("In the thread, {author} replied: {q}"),
        (Lang::En, ReplyKind::Then) => format!("Then {author} replied: {q}"),
        (Lang::En, ReplyKind::RightAfter) => format!("Right after, {author} answered: {q}"),
        (Lang::Fr, ReplyKind::Outcome) => format!("Dans le fil, {author} a répondu : {q}"),
        (Lang::Fr, ReplyKind::Then) => format!("Puis {author} a répondu : {q}"),
        (Lang::Fr, ReplyKind::RightAfter) => {
            format!("Juste après, {author} a répondu : {q}")
        }
        (Lang::De, ReplyKind::Outcome) => format!("Im Thread antwortete {author}: {q}"),
        (Lang::De, ReplyKind::Then) => format!("Danach antwortete {author}: {q}"),
        (Lang::De, ReplyKind::RightAfter) => format!("Gleich danach antwortete {author}: {q}"),
        (Lang::Es, ReplyKind::Outcome) => format!("En el hilo, {author} respondió: {q}"),
        (Lang::Es, ReplyKind::Then) => format!("Después {author} respondió: {q}"),
        (Lang::Es, ReplyKind::RightAfter) => {
            format!("Justo después, {author} respondió: {q}")
        }
    }
}

/// "In the thread, you replied: “…”" — [`reply`] when the reader wrote it.
pub fn reply_by_you(kind: ReplyKind, quote: &str, lang: Lang) -> String {
    let q = quoted(quote, lang);
    match (lang, kind) {
        (Lang::En, ReplyKind::Outcome) => format!("In the thread, you replied: {q}"),
        (Lang::En, ReplyKind::Then) => format!("Then you replied: {q}"),
        (Lang::En, ReplyKind::RightAfter) => format!("Right after, you answered: {q}"),
        (Lang::Fr, ReplyKind::Outcome) => format!("Dans le fil, vous avez répondu : {q}"),
        (Lang::Fr, ReplyKind::Then) => format!("Puis vous avez répondu : {q}"),
        (Lang::Fr, ReplyKind::RightAfter) => format!("Juste après, vous avez répondu : {q}"),
        (Lang::De, ReplyKind::Outcome) => format!("Im Thread hast du geantwortet: {q}"),
        (Lang::De, ReplyKind::Then) => format!("Danach hast du geantwortet: {q}"),
        (Lang::De, ReplyKind::RightAfter) => format!("Gleich danach hast du geantwortet: {q}"),
        (Lang::Es, ReplyKind::Outcome) => format!("En el hilo, respondiste: {q}"),
        (Lang::Es, ReplyKind::Then) => format!("Después respondiste: {q}"),
        (Lang::Es, ReplyKind::RightAfter) => format!("Justo después, respondiste: {q}"),
    }
}

/// "You said: “I'll send the draft by Friday.”" — the reader's own commitment, in their words.
pub fn you_said(quote: &str, lang: Lang) -> String {
    let q = quoted(quote, lang);
    match lang {
        Lang::En => format!("You said: {q}"),
        Lang::Fr => format!("Vous avez dit : {q}"),
        Lang::De => format!("Du hast geschrieben: {q}"),
        Lang::Es => format!("Dijiste: {q}"),
    }
}

/// The reader inside a quoted message, in brackets: "[you] can you bring the mockups?" — the
/// quote keeps its words, and the reader is never named.
pub fn you_in_quote(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "[you]",
        Lang::Fr => "[vous]",
        Lang::De => "[du]",
        Lang::Es => "[tú]",
    }
}

/// "Later in #design, Lena wrote: “…”" — a related message of the same channel and hour.
pub fn related_quote(channel: &str, later: bool, author: &str, quote: &str, lang: Lang) -> String {
    let channel = format!("#{}", channel.trim_start_matches('#'));
    let q = quoted(quote, lang);
    match (lang, later) {
        (Lang::En, true) => format!("Later in {channel}, {author} wrote: {q}"),
        (Lang::En, false) => format!("Earlier in {channel}, {author} wrote: {q}"),
        (Lang::Fr, true) => format!("Plus tard dans {channel}, {author} a écrit : {q}"),
        (Lang::Fr, false) => format!("Plus tôt dans {channel}, {author} a écrit : {q}"),
        (Lang::De, true) => format!("Später schrieb {author} in {channel}: {q}"),
        (Lang::De, false) => format!("Vorher schrieb {author} in {channel}: {q}"),
        (Lang::Es, true) => format!("Más tarde en {channel}, {author} escribió: {q}"),
        (Lang::Es, false) => format!("Antes en {channel}, {author} escribió: {q}"),
    }
}

/// "Later in #design, you wrote: “…”" — [`related_quote`] when the reader wrote it.
pub fn related_by_you(channel: &str, later: bool, quote: &str, lang: Lang) -> String {
    let channel = format!("#{}", channel.trim_start_matches('#'));
    let q = quoted(quote, lang);
    match (lang, later) {
        (Lang::En, true) => format!("Later in {channel}, you wrote: {q}"),
        (Lang::En, false) => format!("Earlier in {channel}, you wrote: {q}"),
        (Lang::Fr, true) => format!("Plus tard dans {channel}, vous avez écrit : {q}"),
        (Lang::Fr, false) => format!("Plus tôt dans {channel}, vous avez écrit : {q}"),
        (Lang::De, true) => format!("Später hast du in {channel} geschrieben: {q}"),
        (Lang::De, false) => format!("Vorher hast du in {channel} geschrieben: {q}"),
        (Lang::Es, true) => format!("Más tarde en {channel}, escribiste: {q}"),
        (Lang::Es, false) => format!("Antes en {channel}, escribiste: {q}"),
    }
}

/// Said when the reader wrote the message that opened the thread.
pub fn you_started_thread(lang: Lang) -> String {
    match lang {
        Lang::En => "You started this thread, so its replies answer you.",
        Lang::Fr => "Vous avez lancé ce fil : ses réponses vous sont adressées.",
        Lang::De => "Du hast diesen Thread begonnen, die Antworten gehen an dich.",
        Lang::Es => "Tú empezaste este hilo, así que sus respuestas son para ti.",
    }
    .to_string()
}

/// Said when the reader replied in the thread.
pub fn you_took_part(lang: Lang) -> String {
    match lang {
        Lang::En => "You took part in this thread.",
        Lang::Fr => "Vous avez participé à ce fil.",
        Lang::De => "Du hast dich an diesem Thread beteiligt.",
        Lang::Es => "Participaste en este hilo.",
    }
    .to_string()
}

/// "Lena mentions you." — a message that names the reader without a request chief could read.
pub fn mentions_you(author: &str, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{author} mentions you."),
        Lang::Fr => format!("{author} vous mentionne."),
        Lang::De => format!("{author} erwähnt dich."),
        Lang::Es => format!("{author} te menciona."),
    }
}

/// Every click-to-context framing sentence of a language, filled with `x`: the guardrail's list
/// of chief's own words (they are framing, not claims to check against the messages).
pub fn explain_samples(lang: Lang) -> Vec<String> {
    let mut out = vec![
        about_statement("x", "x", true, lang),
        about_statement("x", "x", false, lang),
        about_quote("x", "x", "x", lang),
        you_in_quote(lang).to_string(),
        you_started_thread(lang),
        you_took_part(lang),
        mentions_you("x", lang),
    ];
    for kind in [ReplyKind::Outcome, ReplyKind::Then, ReplyKind::RightAfter] {
        out.push(reply(kind, "x", "x", lang));
        out.push(reply_by_you(kind, "x", lang));
    }
    for later in [true, false] {
        out.push(related_quote("x", later, "x", "x", lang));
        out.push(related_by_you("x", later, "x", lang));
    }
    out
}

/// Every word the framing templates can produce (in any language), lower-cased: chief's own
/// words, never a claim about the messages (the guardrail and the faithfulness check skip them).
pub fn vocabulary() -> &'static std::collections::HashSet<String> {
    static WORDS: std::sync::LazyLock<std::collections::HashSet<String>> =
        std::sync::LazyLock::new(|| vocabulary_words().into_iter().collect());
    &WORDS
}

fn vocabulary_words() -> Vec<String> {
    use {InterestOrigin as O, Reason as R};
    let mut texts: Vec<String> = Vec::new();
    for lang in [Lang::En, Lang::Fr, Lang::De, Lang::Es] {
        let x = vec!["x".to_string()];
        texts.push(discussed(&x, &x, &x, true, lang));
        texts.push(discussed(&[], &x, &[], false, lang));
        texts.push(about(&x, "x", lang));
        texts.push(about(&[], "x", lang));
        texts.push(intro(lang));
        texts.push(nothing_new(lang));
        texts.push(nothing_asked(lang));
        texts.push(you_said("x", lang));
        texts.push(touches_interests(&x, lang));
        texts.extend(explain_samples(lang));
        let reasons = [
            R::AskedOfYou,
            R::YouPromised,
            R::InYourProject {
                project: "x".into(),
            },
            R::Mentioned,
            R::TookPart,
            R::Urgent,
            R::ClosePerson { name: "x".into() },
            R::TopChannel {
                channel: "x".into(),
            },
            R::Interest {
                term: "x".into(),
                origin: O::Reacted,
            },
            R::Interest {
                term: "x".into(),
                origin: O::Wrote,
            },
            R::Interest {
                term: "x".into(),
                origin: O::Clicked,
            },
            R::Interest {
                term: "x".into(),
                origin: O::Feedback,
            },
            R::Interest {
                term: "x".into(),
                origin: O::Followed,
            },
        ];
        texts.extend(because(&reasons, lang));
    }
    texts.extend(["You", "Your", "Vous", "Du", "Tú"].map(String::from));
    texts
        .iter()
        .flat_map(|t| {
            unicode_segmentation::UnicodeSegmentation::unicode_words(t.as_str())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn framing_sentences_exist_in_four_languages() {
        let topics = s(&["Postgres migration"]);
        let channels = s(&["infra", "ops"]);
        let people = s(&["Alice"]);
        assert_eq!(
            discussed(&topics, &channels, &people, true, Lang::En),
            "Postgres migration came up in #infra and #ops, with Alice and you."
        );
        assert_eq!(
            discussed(&topics, &channels, &people, true, Lang::Fr),
            "Sujet abordé dans #infra et #ops : Postgres migration, avec Alice et vous."
        );
        assert_eq!(
            discussed(&topics, &channels, &people, true, Lang::De),
            "Thema in #infra und #ops: Postgres migration, mit Alice und dir."
        );
        assert_eq!(
            discussed(&topics, &channels, &people, false, Lang::Es),
            "Tema tratado en #infra y #ops: Postgres migration, con Alice."
        );
    }

    #[test]
    fn reasons_read_as_one_sentence() {
        let reasons = vec![
            Reason::Mentioned,
            Reason::Interest {
                term: "Postgres".into(),
                origin: InterestOrigin::Reacted,
            },
            Reason::Urgent,
        ];
        assert_eq!(
            because(&reasons, Lang::En).unwrap(),
            "This is for you because you were mentioned, you reacted to Postgres and it is urgent."
        );
        assert!(
            because(&reasons, Lang::De)
                .unwrap()
                .starts_with("Das betrifft dich, weil du erwähnt wurdest")
        );
        assert!(because(&[], Lang::En).is_none());
        assert_eq!(
            because(&[Reason::Mentioned], Lang::Fr).unwrap(),
            "C'est pour vous parce qu'on vous a mentionné."
        );
        assert_eq!(
            because(&[Reason::TookPart], Lang::Fr).unwrap(),
            "C'est pour vous parce que vous y avez participé."
        );
    }
}
