//! `sna shell`: an interactive SQL prompt over a query session, with line editing and history
//! (rustyline). Statements may span lines and end with `;`. Backslash commands: `\d` lists
//! tables and views, `\d NAME` shows columns and types, `\f FORMAT` switches the output
//! format, `\?` prints help, `\q` quits. An error prints its message and the session goes on.
//! When standard input is not a terminal, lines are read from it as they come, so the shell
//! can be scripted.

use std::io::Write;
use std::path::PathBuf;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::partners::query::{self, Format, QuerySession};

const HELP: &str = "\
Statements end with ';' and may span lines.
  \\d          list tables and views
  \\d NAME     columns and types of NAME
  \\f FORMAT   output format: table, csv or json
  \\?          this help
  \\q          quit";

/// Runs the shell until `\q` or end of input.
pub async fn run(session: &QuerySession, history: Option<PathBuf>) -> Result<(), ReadlineError> {
    let mut editor = DefaultEditor::new()?;
    // History is kept only in a regular file: a named pipe there would block.
    let history = history.filter(|p| !p.exists() || p.is_file());
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    let mut format = Format::Table;
    let mut pending = String::new();
    println!("vrn-sna SQL shell. Type \\? for help, \\q to quit.");
    loop {
        let prompt = if pending.is_empty() { "sna> " } else { "...> " };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => {
                // A last statement without its `;` at the end of input still runs.
                if !pending.trim().is_empty() {
                    let sql = std::mem::take(&mut pending);
                    let _ = editor.add_history_entry(sql.trim());
                    execute(session, &sql, format).await;
                }
                break;
            }
            Err(e) => return Err(e),
        };
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            if !command(session, trimmed, &mut format).await {
                break;
            }
            continue;
        }
        if trimmed.is_empty() && pending.is_empty() {
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if trimmed.ends_with(';') {
            let sql = std::mem::take(&mut pending);
            let _ = editor.add_history_entry(sql.trim());
            execute(session, &sql, format).await;
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

async fn execute(session: &QuerySession, sql: &str, format: Format) {
    let mut stdout = std::io::stdout();
    if let Some(note) = session.stand_in_note(sql) {
        eprintln!("{note}");
    }
    if let Err(e) = query::exec_and_print(session, sql, format, None, &mut stdout).await {
        eprintln!("error: {}", crate::text::printable(&e.to_string()));
    }
    let _ = stdout.flush();
}

/// A backslash command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ShellCommand {
    /// `\q`.
    Quit,
    /// `\?`.
    Help,
    /// `\f FORMAT`.
    Format(Format),
    /// `\d`, or `\d NAME`.
    Describe(Option<String>),
}

impl std::str::FromStr for ShellCommand {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("\\q"), _) => Ok(ShellCommand::Quit),
            (Some("\\?"), _) => Ok(ShellCommand::Help),
            (Some("\\f"), Some(name)) if name != "parquet" => {
                name.parse().map(ShellCommand::Format)
            }
            (Some("\\f"), _) => Err("\\f takes table, csv or json".to_owned()),
            (Some("\\d"), name) => Ok(ShellCommand::Describe(name.map(str::to_owned))),
            _ => Err(format!("unknown command {line}; \\? lists the commands")),
        }
    }
}

/// Runs a backslash command; false means quit.
async fn command(session: &QuerySession, line: &str, format: &mut Format) -> bool {
    let command = match line.parse::<ShellCommand>() {
        Ok(command) => command,
        Err(e) => {
            eprintln!("error: {}", crate::text::printable(&e));
            return true;
        }
    };
    match command {
        ShellCommand::Quit => return false,
        ShellCommand::Help => println!("{HELP}"),
        ShellCommand::Format(f) => {
            *format = f;
            println!("output format: {f}");
        }
        ShellCommand::Describe(name) => match query::list_tables(session).await {
            Ok(tables) => match name {
                None => {
                    for t in &tables {
                        let name = crate::text::printable(&t.name);
                        println!("{name:<28} {}", t.kind.to_lowercase());
                    }
                }
                Some(name) => match tables.iter().find(|t| t.name == name) {
                    Some(t) => {
                        if let Err(e) = query::describe(&mut std::io::stdout().lock(), t, None) {
                            eprintln!("error: {e}");
                        }
                    }
                    None => eprintln!(
                        "error: no table or view named {}",
                        crate::text::printable(&name)
                    ),
                },
            },
            Err(e) => eprintln!("error: {}", crate::text::printable(&e.to_string())),
        },
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backslash_commands_parse() {
        assert_eq!("\\q".parse(), Ok(ShellCommand::Quit));
        assert_eq!("\\?".parse(), Ok(ShellCommand::Help));
        assert_eq!("\\f csv".parse(), Ok(ShellCommand::Format(Format::Csv)));
        assert_eq!("\\d".parse(), Ok(ShellCommand::Describe(None)));
        assert_eq!(
            "\\d  params ".parse(),
            Ok(ShellCommand::Describe(Some("params".to_owned())))
        );
        assert!(
            "\\f parquet"
                .parse::<ShellCommand>()
                .unwrap_err()
                .contains("table, csv or json")
        );
        assert!(
            "\\f xml"
                .parse::<ShellCommand>()
                .unwrap_err()
                .contains("xml")
        );
        assert!(
            "\\x"
                .parse::<ShellCommand>()
                .unwrap_err()
                .contains("unknown command")
        );
    }
}
