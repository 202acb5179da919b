//! Gathers lines into whole REPL inputs: a line that leaves a block, call,
//! array, map or backtick string open waits for the next one. (At a terminal
//! rustyline's validator does this; piped input arrives line by line.)
//!
//! The parser decides when an input is whole. While brackets, a comment or a
//! backtick string are plainly open it is asked only when the gathered lines
//! have doubled since it was last asked, so a pasted block of n lines costs
//! O(n) parsing, not O(n²): 800 lines took 13 s when every line re-parsed the
//! whole block. An error inside an open block is reported once the block
//! closes (or the input ends), with the same message and position.

use super::helper;
use super::scan::Scan;

/// Lines read so far that do not yet make a whole input.
pub struct Gatherer {
    pending: String,
    parser: rhai::Engine,
    scan: Scan,
    /// Lines in `pending`.
    lines: usize,
    /// While something is open, the line count at which to parse again.
    next_parse: usize,
    /// Times the parser was asked (what keeps gathering linear).
    parses: usize,
}

impl Default for Gatherer {
    fn default() -> Self {
        Gatherer {
            pending: String::new(),
            parser: rhai::Engine::new_raw(),
            scan: Scan::default(),
            lines: 0,
            next_parse: 1,
            parses: 0,
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
        self.lines += 1;
        if self.pending.trim_start().starts_with(':') {
            return Some(self.take());
        }
        self.scan.feed(line);
        if self.scan.is_open() {
            if self.lines < self.next_parse {
                return None;
            }
            self.next_parse = self.lines * 2;
        }
        self.parses += 1;
        if let Err(e) = self.parser.compile(&self.pending)
            && helper::incomplete(&e, &self.pending)
        {
            return None;
        }
        Some(self.take())
    }

    /// Hands over what is gathered and starts afresh.
    fn take(&mut self) -> String {
        self.scan = Scan::default();
        self.lines = 0;
        self.next_parse = 1;
        std::mem::take(&mut self.pending)
    }

    /// Whether an input is half gathered (the prompt shows `…`).
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Drops the half-gathered input (Ctrl-C).
    pub fn clear(&mut self) {
        self.take();
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

    #[test]
    fn a_long_open_block_is_gathered_whole_and_errors_inside_still_show() {
        let mut g = Gatherer::default();
        assert_eq!(g.push("fn big() {"), None);
        for i in 0..1000 {
            assert_eq!(g.push(&format!("  let x{i} = {i};")), None);
        }
        let whole = g.push("}").expect("the block is whole once it closes");
        assert_eq!(whole.lines().count(), 1002);
        // 1, 2, 4, … 512 lines, then once the block closes: not 1,002 times.
        assert_eq!(g.parses, 11, "parses of a 1,002-line block");
        assert!(!g.is_pending());

        // An error in the middle of a block: the input ends with the block.
        assert_eq!(g.push("fn f() {"), None);
        assert_eq!(g.push("  let = 1;"), Some("fn f() {\n  let = 1;\n".into()));
        assert_eq!(g.push("if true {"), None);
        for _ in 0..5 {
            assert_eq!(g.push("  1;"), None);
        }
        assert_eq!(g.push("  let = 2;"), None, "parsed again at 8 lines");
        assert_eq!(
            g.push("  3;"),
            Some("if true {\n  1;\n  1;\n  1;\n  1;\n  1;\n  let = 2;\n  3;\n".into())
        );
    }
}
