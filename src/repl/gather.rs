//! Gathers lines into whole REPL inputs: a line that leaves a block, call,
//! array, map or backtick string open waits for the next one. (At a terminal
//! rustyline's validator does this; piped input arrives line by line.)

use super::helper;

/// Lines read so far that do not yet make a whole input.
pub struct Gatherer {
    pending: String,
    parser: rhai::Engine,
}

impl Default for Gatherer {
    fn default() -> Self {
        Gatherer {
            pending: String::new(),
            parser: rhai::Engine::new_raw(),
        }
    }
}

impl Gatherer {
    /// Adds one line (without its newline); returns the whole input once it
    /// is complete. Blank lines between inputs are skipped; `:commands` are
    /// whole at once.
    pub fn push(&mut self, line: &str) -> Option<String> {
        if self.pending.is_empty() && line.trim().is_empty() {
            return None;
        }
        self.pending.push_str(line);
        self.pending.push('\n');
        if !self.pending.trim_start().starts_with(':')
            && let Err(e) = self.parser.compile(&self.pending)
            && helper::incomplete(&e, &self.pending)
        {
            return None;
        }
        Some(std::mem::take(&mut self.pending))
    }

    /// Whether an input is half gathered (the prompt shows `…`).
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Drops the half-gathered input (Ctrl-C).
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// What is gathered so far (what end of input would lose).
    pub fn pending(&self) -> &str {
        &self.pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_blocks_wait_and_whole_inputs_pass() {
        let mut g = Gatherer::default();
        assert_eq!(g.push(""), None);
        assert_eq!(g.push("fn f() {"), None);
        assert!(g.is_pending());
        assert_eq!(g.push("  1"), None);
        assert_eq!(g.push("}").as_deref(), Some("fn f() {\n  1\n}\n"));
        assert_eq!(g.push("let x = `a").as_deref(), None);
        assert_eq!(g.push("b`;").as_deref(), Some("let x = `a\nb`;\n"));
        assert_eq!(g.push(":help {").as_deref(), Some(":help {\n"));
        assert_eq!(
            g.push("let y = ;").as_deref(),
            Some("let y = ;\n"),
            "a real error"
        );
    }
}
