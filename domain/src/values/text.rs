//! The character rules every free-text field shares (tenant names, reasons, emails): text is one
//! line of visible characters. [`TextFault::check`] is the one place the rules live; each value
//! type reports a fault in its own error, naming its field.
//!
//! - No control characters: C0 and C1 controls (tab, newline and NUL included), DEL, and the
//!   Unicode line and paragraph separators (U+2028, U+2029). They corrupt tables and log lines,
//!   and PostgreSQL refuses NUL in text.
//! - No bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they make
//!   text display as something it is not ("Trojan Source").
//! - Not invisible: text made only of white space and characters that display as nothing
//!   (zero-width spaces and joiners, soft hyphens, variation selectors: Unicode's
//!   `Default_Ignorable_Code_Point`) is refused, since it would look empty.

use std::fmt;

/// What the shared text rules found wrong with a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFault {
    /// A control character or a line separator.
    Control(char),
    /// A bidirectional embedding, override or isolate.
    Bidi(char),
    /// Nothing in the text displays: only white space and invisible characters.
    Invisible,
}

impl TextFault {
    /// The first fault of `text`, if any. Empty text has none: whether a field may be empty is
    /// the field's own rule.
    pub fn check(text: &str) -> Result<(), TextFault> {
        Self::check_characters(text)?;
        if !text.is_empty() && text.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            return Err(Self::Invisible);
        }
        Ok(())
    }

    /// The character rules alone (no control or bidirectional character), for text that may be
    /// blank or invisible, such as a query parameter's value or a path segment.
    pub fn check_characters(text: &str) -> Result<(), TextFault> {
        for ch in text.chars() {
            if is_control(ch) {
                return Err(Self::Control(ch));
            }
            if is_bidi_control(ch) {
                return Err(Self::Bidi(ch));
            }
        }
        Ok(())
    }
}

impl fmt::Display for TextFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Control(ch) => write!(
                f,
                "must not contain control characters (found U+{:04X})",
                u32::from(*ch)
            ),
            Self::Bidi(ch) => write!(
                f,
                "must not contain bidirectional control characters (found U+{:04X}), which can \
                 make text display as something it is not",
                u32::from(*ch)
            ),
            Self::Invisible => f.write_str(
                "must contain visible characters, not only white space and zero-width ones",
            ),
        }
    }
}

fn is_control(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}')
}

fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt, Unicode 15): characters
/// that display as nothing when a font has no glyph for them.
fn is_invisible(ch: char) -> bool {
    matches!(
        ch,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_passes() {
        for text in [
            "Clínica Dr. Marco",
            "日本語",
            "a\u{200D}b",
            "👩\u{200D}💻",
            "",
        ] {
            assert_eq!(TextFault::check(text), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn controls_bidi_and_invisible_text_fail() {
        for (text, fault) in [
            ("a\0b", TextFault::Control('\0')),
            ("a\tb", TextFault::Control('\t')),
            ("a\u{85}b", TextFault::Control('\u{85}')),
            ("a\u{2028}b", TextFault::Control('\u{2028}')),
            ("abc\u{202E}fdp.exe", TextFault::Bidi('\u{202E}')),
            ("a\u{2067}b", TextFault::Bidi('\u{2067}')),
            ("\u{200B}", TextFault::Invisible),
            ("\u{200B} \u{FEFF}\u{2060}", TextFault::Invisible),
        ] {
            assert_eq!(TextFault::check(text), Err(fault), "{text:?}");
        }
    }
}
