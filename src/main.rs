//! The `resilient` command line.

mod cli;

use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

fn main() -> ExitCode {
    // What `Cli::parse()` does, except that the command tree (every option
    // of every command) is left to the operating system at exit instead of
    // being freed piece by piece.
    let mut command = std::mem::ManuallyDrop::new(cli::Cli::command());
    let args = match cli::Cli::from_arg_matches(&command.get_matches_mut()) {
        Ok(args) => args,
        Err(e) => e.format(&mut command).exit(),
    };
    cli::setup_color();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{} {e:#}", cli::error_label());
            ExitCode::from(1)
        }
    }
}
