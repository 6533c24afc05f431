//! Text that came from data, made safe to print.
//!
//! Values quoted in messages (validation examples, errors naming a value, query results shown
//! as a table) come from files a user did not write. A control character in them (an ESC that
//! starts a terminal escape sequence, a carriage return that overwrites a line, a bidirectional
//! override that reorders what is shown) would act on the analyst's terminal instead of being
//! read. [`printable`] writes each such character as a visible escape (`\u{1b}`), leaving line
//! breaks and tabs as they are.

use std::borrow::Cow;

/// Whether `c` would act on a terminal instead of showing.
fn acts_on_terminal(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that would act on a terminal written as `\u{..}`.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts_on_terminal(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The text of a panic's payload (a `&str` or `String`), or `unknown`.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_line_breaks_kept() {
        assert_eq!(printable("plain £ text"), "plain £ text");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("over\rwrite\u{7f}"), "over\\u{d}write\\u{7f}");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("two\nlines\tand tab"), "two\nlines\tand tab");
        assert_eq!(printable("\u{9b}31m"), "\\u{9b}31m", "the 8-bit CSI too");
    }
}
