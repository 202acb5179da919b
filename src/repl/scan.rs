//! A running count of what a REPL input leaves open — brackets, block
//! comments, backtick strings and their `${…}` interpolations — fed a line at
//! a time, so gathering piped input costs time in proportion to its length.
//!
//! The count never decides that an input is whole: the parser does. It only
//! tells when asking the parser is pointless (something is plainly still
//! open), which spares re-parsing a long open block at every line.

/// What is open so far.
#[derive(Debug, Default, Clone)]
pub(crate) struct Scan {
    /// One entry per open bracket or interpolation, innermost last.
    open: Vec<Open>,
    /// Depth of nested `/* … */` comments.
    comment: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    /// `(`, `[` or `{`.
    Bracket,
    /// A backtick string.
    Backtick,
    /// `${` inside a backtick string.
    Interpolation,
}

impl Scan {
    /// Takes the next line (with or without its newline).
    pub(crate) fn feed(&mut self, line: &str) {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            if self.comment > 0 {
                match (c, next) {
                    ('*', Some('/')) => {
                        self.comment -= 1;
                        i += 1;
                    }
                    ('/', Some('*')) => {
                        self.comment += 1;
                        i += 1;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            if self.open.last() == Some(&Open::Backtick) {
                match (c, next) {
                    ('`', _) => {
                        self.open.pop();
                    }
                    ('\\', Some(_)) => i += 1,
                    ('$', Some('{')) => {
                        self.open.push(Open::Interpolation);
                        i += 1;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            match (c, next) {
                ('/', Some('/')) => return,
                ('/', Some('*')) => {
                    self.comment += 1;
                    i += 1;
                }
                ('"', _) => i = skip_quoted(&chars, i, '"'),
                ('\'', _) => i = skip_quoted(&chars, i, '\''),
                ('`', _) => self.open.push(Open::Backtick),
                ('(' | '[' | '{', _) => self.open.push(Open::Bracket),
                (')' | ']' | '}', _) => {
                    // A stray closer is the parser's to report.
                    self.open.pop();
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Whether something is plainly still open.
    pub(crate) fn is_open(&self) -> bool {
        self.comment > 0 || !self.open.is_empty()
    }
}

/// The index of the closing quote of a string or character literal that
/// opens at `start` (or the line's last index: such literals end with it).
fn skip_quoted(chars: &[char], start: usize, quote: char) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            c if c == quote => return i,
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_after(lines: &[&str]) -> bool {
        let mut s = Scan::default();
        for l in lines {
            s.feed(l);
        }
        s.is_open()
    }

    #[test]
    fn brackets_strings_comments_and_interpolations() {
        assert!(open_after(&["fn f() {"]));
        assert!(!open_after(&["fn f() {", "  [1, (2)]", "}"]));
        assert!(!open_after(&["let s = \"{ not a block\";"]));
        assert!(!open_after(&["let c = '{';", "let d = '\\'';"]));
        assert!(!open_after(&["x // {"]));
        assert!(open_after(&["/* outer /* inner */ still"]));
        assert!(!open_after(&["/* outer /* inner */", "done */ 1"]));
        assert!(open_after(&["let t = `a"]));
        assert!(!open_after(&["let t = `a", "b ${ #{x: 1}.x } c`;"]));
        assert!(open_after(&["let t = `a ${ if x {"]));
        assert!(!open_after(&["let t = `a ${ if x { 1 } else { 2 } }`;"]));
    }

    #[test]
    fn a_stray_closer_leaves_nothing_open() {
        assert!(!open_after(&["}"]));
        assert!(!open_after(&[")", "1"]));
    }
}
