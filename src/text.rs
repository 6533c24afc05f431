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

/// `error`'s message followed by its causes (its `source()` chain), each after `: `, as
/// `anyhow` prints `{:#}`, but leaving out a cause that the message before it already quotes:
/// an error whose message interpolates its cause would otherwise show the cause twice. A cause
/// is quoted when the message before it contains its text (trailing whitespace aside), or its
/// `Debug` form (DataFusion quotes a SQL parser error that way). Control characters are
/// compared as [`printable`] shows them.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut previous = text.clone();
    let mut next = error.source();
    while let Some(cause) = next {
        let message = cause.to_string();
        if !quotes(&previous, cause, &message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        previous = message;
        next = cause.source();
    }
    text
}

/// Whether `message` already holds `cause` (whose text is `cause_text`).
fn quotes(message: &str, cause: &dyn std::error::Error, cause_text: &str) -> bool {
    let message = printable(message);
    let shown = printable(cause_text.trim_end());
    shown.is_empty()
        || message.contains(shown.as_ref())
        || message.contains(printable(&format!("{cause:?}")).as_ref())
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

    /// An error with a message and an optional cause, for building chains.
    #[derive(Debug)]
    struct Link(String, Option<Box<Link>>);

    impl std::fmt::Display for Link {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Link {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    fn chain(messages: &[&str]) -> Link {
        messages
            .iter()
            .rev()
            .fold(None, |cause, m| {
                Some(Link((*m).to_owned(), cause.map(Box::new)))
            })
            .expect("one message or more")
    }

    #[test]
    fn the_chain_is_printed_without_repeating_a_quoted_cause() {
        // A wrapper that shows its cause's message, which quotes its own cause.
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let inner = io.to_string();
        let quoting = format!("cannot read x.toml: {inner}");
        assert_eq!(
            error_chain(&chain(&[
                "assessment not written",
                &quoting,
                &quoting,
                &inner
            ])),
            format!("assessment not written: cannot read x.toml: {inner}")
        );
        // A cause the message does not show is printed after it; so is its own cause.
        assert_eq!(
            error_chain(&chain(&[
                "creating out",
                "permission denied",
                "os error 13"
            ])),
            "creating out: permission denied: os error 13"
        );
        // Quoted in the middle, or without its trailing line break: still not repeated.
        assert_eq!(
            error_chain(&chain(&["x: bad value (tests in y)", "bad value"])),
            "x: bad value (tests in y)"
        );
        assert_eq!(
            error_chain(&chain(&["config: line 1", "line 1\n"])),
            "config: line 1"
        );
        // An empty cause adds nothing; a lone error is its message.
        assert_eq!(error_chain(&chain(&["alone", ""])), "alone");
        assert_eq!(error_chain(&chain(&["alone"])), "alone");
        // Quoted by its Debug form, as DataFusion quotes the SQL parser's error.
        let link = chain(&["inner"]);
        let outer = Link(format!("SQL error: {link:?}"), Some(Box::new(link)));
        assert_eq!(
            error_chain(&outer),
            format!("SQL error: {:?}", chain(&["inner"]))
        );
        // A cause is compared as it is printed: escaped control characters match.
        let escaped = format!("value {}", printable("a\u{1b}b"));
        assert_eq!(error_chain(&chain(&[&escaped, "a\u{1b}b"])), escaped);
    }

    #[test]
    fn anyhow_context_is_part_of_the_chain() {
        let error = anyhow::Error::new(std::io::Error::other("disk full"))
            .context("cannot write out.csv: disk full")
            .context("run failed");
        assert_eq!(
            error_chain(error.as_ref()),
            "run failed: cannot write out.csv: disk full"
        );
    }
}
