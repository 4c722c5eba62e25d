//! Languages the extractive engine knows: detection of a text's language (with `whatlang`, a
//! maintained trigram detector with no model files to ship) and the per-language resources
//! (stemmer, stop words, templates) that depend on it.

use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

/// A language with templates, stop words and a stemmer. Anything else is treated as English for
/// analysis and answered with English framing sentences.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Fr,
    De,
    Es,
}

impl Lang {
    /// Every supported language, for resources that hold one entry per language.
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Fr, Lang::De, Lang::Es];

    /// From an ISO 639-1 (`fr`), BCP 47 (`fr-CA`, `fr_FR`) or ISO 639-3 (`fra`) code; `None` for a
    /// language chief has no templates for.
    pub fn from_code(code: &str) -> Option<Lang> {
        let lower = code.trim().to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "en" | "eng" => Some(Lang::En),
            "fr" | "fra" | "fre" => Some(Lang::Fr),
            "de" | "deu" | "ger" => Some(Lang::De),
            "es" | "spa" => Some(Lang::Es),
            _ => None,
        }
    }

    /// The reader's language, English when unknown or unsupported.
    pub fn from_code_or_english(code: &str) -> Lang {
        Lang::from_code(code).unwrap_or_default()
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::De => "de",
            Lang::Es => "es",
        }
    }

    pub fn stemmer(self) -> Stemmer {
        Stemmer::create(match self {
            Lang::En => Algorithm::English,
            Lang::Fr => Algorithm::French,
            Lang::De => Algorithm::German,
            Lang::Es => Algorithm::Spanish,
        })
    }
}

/// Detects the language of a text among the ones chief supports (plus a few neighbours so that,
/// say, Italian is not forced into Spanish). Short or ambiguous texts give `None`: chat lines are
/// often too short for a trigram model, and guessing wrong would pick the wrong stemmer.
pub fn detect(text: &str) -> Option<Lang> {
    use whatlang::Lang as W;
    let detector = whatlang::Detector::with_allowlist(vec![
        W::Eng,
        W::Fra,
        W::Deu,
        W::Spa,
        W::Ita,
        W::Por,
        W::Nld,
    ]);
    let info = detector.detect(text)?;
    if text.split_whitespace().count() < 4 || info.confidence() < 0.3 {
        return None;
    }
    match info.lang() {
        W::Eng => Some(Lang::En),
        W::Fra => Some(Lang::Fr),
        W::Deu => Some(Lang::De),
        W::Spa => Some(Lang::Es),
        _ => None,
    }
}

/// The dominant language of many texts (e.g. all messages of a discussion), English by default.
pub fn detect_many<'a>(texts: impl IntoIterator<Item = &'a str>) -> Lang {
    let mut joined = String::new();
    for text in texts {
        if joined.len() > 4_000 {
            break;
        }
        joined.push_str(text);
        joined.push('\n');
    }
    detect(&joined).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_any_common_form_are_understood() {
        assert_eq!(Lang::from_code("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::from_code("de_DE"), Some(Lang::De));
        assert_eq!(Lang::from_code("spa"), Some(Lang::Es));
        assert_eq!(Lang::from_code("ja"), None);
        assert_eq!(Lang::from_code_or_english("ja"), Lang::En);
    }

    #[test]
    fn sentences_are_detected_and_short_lines_are_not_guessed() {
        assert_eq!(
            detect("Je suis malade et je ne peux pas venir demain, on peut déplacer la réunion ?"),
            Some(Lang::Fr)
        );
        assert_eq!(
            detect(
                "Ich bin krank und kann morgen nicht kommen, können wir das Treffen verschieben?"
            ),
            Some(Lang::De)
        );
        assert_eq!(
            detect("I am sick and can't come tomorrow, can we move the project meeting?"),
            Some(Lang::En)
        );
        assert_eq!(detect("ok"), None);
    }
}
