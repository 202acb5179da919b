//! `resilient new NAME`: a new scenario from a commented template that runs
//! as it is.

/// The template: `__TITLE__`, `__NAME__` and `__PATH__` are filled in.
pub const TEMPLATE: &str = include_str!("template.rhai");

/// The longest scenario name.
const MAX_NAME: usize = 64;

/// A name that cannot be a scenario's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was given.
    #[error("a scenario needs a name, e.g. `resilient new zone_loss`")]
    Empty,
    /// Too long.
    #[error("the scenario name `{0}` is longer than 64 characters")]
    TooLong(String),
    /// A character a file name or command line would trip on.
    #[error(
        "the scenario name `{0}` may hold only lower-case letters, digits, `_` and `-`, and starts with a letter (e.g. `zone_loss`)"
    )]
    Characters(String),
}

/// Checks a scenario name (a trailing `.rhai` is dropped) and returns it.
pub fn validate_name(name: &str) -> Result<String, NameError> {
    let name = name.strip_suffix(".rhai").unwrap_or(name);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME {
        return Err(NameError::TooLong(name.to_string()));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !first_ok
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(NameError::Characters(name.to_string()));
    }
    Ok(name.to_string())
}

/// The template for `name`, to be run as `resilient run examples/NAME.rhai`.
pub fn render(name: &str) -> Result<String, NameError> {
    render_at(name, &format!("examples/{name}.rhai"))
}

/// The template for `name`, whose header shows `resilient run <shown>`.
pub fn render_at(name: &str, shown: &str) -> Result<String, NameError> {
    let name = validate_name(name)?;
    let mut title = name.replace(['_', '-'], " ");
    if let Some(first) = title.get(0..1) {
        title = first.to_ascii_uppercase() + &title[1..];
    }
    Ok(TEMPLATE
        .replace("__TITLE__", &title)
        .replace("__NAME__", &name)
        .replace("__PATH__", shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;
    use std::path::Path;

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name("zone_loss.rhai").unwrap(), "zone_loss");
        assert_eq!(validate_name("a-1").unwrap(), "a-1");
        assert_eq!(validate_name(""), Err(NameError::Empty));
        for bad in ["../x", "Zone", "1zone", "a b", "a/b", "ä", "x;rm"] {
            assert!(
                matches!(validate_name(bad), Err(NameError::Characters(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            validate_name(&"a".repeat(65)),
            Err(NameError::TooLong(_))
        ));
    }

    #[test]
    fn the_template_is_a_well_formed_scenario() {
        let text = render("zone_loss").unwrap();
        let s = Scenario::parse(Path::new("examples/zone_loss.rhai"), &text).unwrap();
        assert_eq!(s.title, "Zone loss");
        assert_eq!(s.run, ["resilient run examples/zone_loss.rhai"]);
        assert!(s.checks >= 3);
        assert!(!text.contains("__"), "every placeholder is filled");
    }
}
