//! Whose a resource is: ours only when it carries our deployment tag.
//!
//! A resource with one of our names but without `resilient:deployment=<prefix>`
//! belongs to someone else: deploy refuses to adopt it and destroy leaves it
//! alone (and says so).

use super::TAG_KEY;
use crate::cloud::{Leftover, Resource, ResourceKind};
use crate::error::{Error, Result};

/// A lookup by name: nothing there, ours (with what we need of it), or
/// someone else's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<T> {
    /// Nothing has this name.
    Absent,
    /// It carries our deployment tag.
    Ours(T),
    /// It has our name but not our tag.
    Foreign,
}

impl<T> Found<T> {
    /// Ours when one of `tags` (key, value) is our deployment tag with this prefix.
    pub(crate) fn tagged<'a>(
        value: T,
        tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
        prefix: &str,
    ) -> Self {
        let ours = tags
            .into_iter()
            .any(|(k, v)| k == Some(TAG_KEY) && v == Some(prefix));
        if ours {
            Found::Ours(value)
        } else {
            Found::Foreign
        }
    }

    /// For deploy: `Some` to reuse ours, `None` to create it, an error naming
    /// the resource when it is someone else's.
    pub(crate) fn adopt(self, kind: ResourceKind, name: &str, prefix: &str) -> Result<Option<T>> {
        match self {
            Found::Absent => Ok(None),
            Found::Ours(v) => Ok(Some(v)),
            Found::Foreign => Err(foreign(kind, name, prefix)),
        }
    }

    /// Ours, or nothing.
    pub(crate) fn ours(self) -> Option<T> {
        match self {
            Found::Ours(v) => Some(v),
            _ => None,
        }
    }

    /// Maps what we keep of our own resource.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Found<U> {
        match self {
            Found::Absent => Found::Absent,
            Found::Ours(v) => Found::Ours(f(v)),
            Found::Foreign => Found::Foreign,
        }
    }
}

/// The error deploy gives for a resource with our name that is not ours.
pub(crate) fn foreign(kind: ResourceKind, name: &str, prefix: &str) -> Error {
    Error::Foreign {
        kind: kind.noun().to_string(),
        name: name.to_string(),
        prefix: prefix.to_string(),
    }
}

/// Why destroy leaves a foreign resource alone, in words.
pub(crate) fn skip_reason(prefix: &str) -> String {
    format!("not tagged {TAG_KEY}={prefix}: someone else's, left alone")
}

/// What one destroy step did.
#[derive(Debug, Default)]
pub(crate) struct Removed {
    /// Deleted.
    pub deleted: Vec<Resource>,
    /// Someone else's, left alone.
    pub skipped: Vec<Leftover>,
}

impl Removed {
    /// One resource deleted.
    pub(crate) fn one(kind: ResourceKind, name: impl Into<String>) -> Self {
        Removed {
            deleted: vec![Resource::new(kind, name)],
            ..Removed::default()
        }
    }

    /// One foreign resource left alone.
    pub(crate) fn foreign(kind: ResourceKind, name: &str, prefix: &str) -> Self {
        Removed {
            skipped: vec![Leftover::new(kind, name, skip_reason(prefix))],
            ..Removed::default()
        }
    }

    /// Adds another step's outcome.
    pub(crate) fn and(mut self, other: Removed) -> Self {
        self.deleted.extend(other.deleted);
        self.skipped.extend(other.skipped);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_tag_with_our_prefix_makes_a_resource_ours() {
        let ours = Found::tagged(1, [(Some("x"), Some("y")), (Some(TAG_KEY), Some("p"))], "p");
        assert_eq!(ours, Found::Ours(1));
        let other_prefix = Found::tagged(1, [(Some(TAG_KEY), Some("q"))], "p");
        assert_eq!(other_prefix, Found::Foreign);
        let untagged = Found::tagged(1, [], "p");
        assert_eq!(untagged, Found::Foreign);
    }

    #[test]
    fn deploy_adopts_ours_creates_absent_and_refuses_foreign() {
        assert_eq!(
            Found::Ours(7).adopt(ResourceKind::Table, "t", "p").unwrap(),
            Some(7)
        );
        assert_eq!(
            Found::<i32>::Absent
                .adopt(ResourceKind::Table, "t", "p")
                .unwrap(),
            None
        );
        let e = Found::<i32>::Foreign
            .adopt(ResourceKind::LaunchTemplate, "p-template", "p")
            .unwrap_err()
            .to_string();
        assert!(e.contains("launch template p-template"), "{e}");
        assert!(e.contains("resilient:deployment=p"), "{e}");
        assert!(e.contains("--prefix"), "{e}");
    }
}
