//! The local cloud's data services: the tables and the parameter store.

use crate::service::{DependencyError, Item};
use crate::sync::{read, write};
use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

/// DynamoDB-like tables. (Injected latency and errors live in the fault
/// parameter, which every instance applies itself, as on AWS.)
#[derive(Debug, Default)]
pub(crate) struct Tables {
    tables: RwLock<HashMap<String, Vec<Item>>>,
}

impl Tables {
    /// Creates (or empties) a table.
    pub(crate) fn create(&self, name: &str) {
        write(&self.tables).insert(name.to_string(), Vec::new());
    }

    /// Whether the table exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        read(&self.tables).contains_key(name)
    }

    /// Writes items into an existing table, replacing items with the same key.
    pub(crate) fn put_items(&self, name: &str, items: Vec<Item>) -> bool {
        let mut tables = write(&self.tables);
        let Some(table) = tables.get_mut(name) else {
            return false;
        };
        for item in items {
            table.retain(|i| !(i.media_type == item.media_type && i.item_id == item.item_id));
            table.push(item);
        }
        true
    }

    /// Reads all items of one partition.
    pub(crate) async fn query(
        &self,
        name: &str,
        media_type: &str,
    ) -> Result<Vec<Item>, DependencyError> {
        match read(&self.tables).get(name) {
            Some(items) => Ok(items
                .iter()
                .filter(|i| i.media_type == media_type)
                .cloned()
                .collect()),
            None => Err(DependencyError {
                code: "ResourceNotFoundException".into(),
                message: format!("Requested resource not found: Table: {name} not found"),
            }),
        }
    }
}

/// An SSM-like parameter store.
#[derive(Debug, Default)]
pub(crate) struct ParameterStore {
    values: RwLock<HashMap<String, String>>,
    /// `GetParameters` calls per caller (an instance id), as CloudTrail
    /// would count them.
    reads: RwLock<BTreeMap<String, u64>>,
}

impl ParameterStore {
    /// Writes a parameter (overwrite).
    pub(crate) fn put(&self, name: &str, value: &str) {
        write(&self.values).insert(name.to_string(), value.to_string());
    }

    /// Reads parameters in order; a missing one is a `ParameterNotFound` error.
    pub(crate) fn get(&self, names: &[&str]) -> Result<Vec<String>, DependencyError> {
        let values = read(&self.values);
        names
            .iter()
            .map(|n| {
                values.get(*n).cloned().ok_or_else(|| DependencyError {
                    code: "ParameterNotFound".into(),
                    message: format!("parameter {n} not found"),
                })
            })
            .collect()
    }

    /// Whether the parameter exists.
    pub(crate) fn exists(&self, name: &str) -> bool {
        read(&self.values).contains_key(name)
    }

    /// Counts one `GetParameters` call by `caller`, allowed or not.
    pub(crate) fn count_read(&self, caller: &str) {
        *write(&self.reads).entry(caller.to_string()).or_default() += 1;
    }

    /// `GetParameters` calls so far, per caller.
    pub(crate) fn reads(&self) -> BTreeMap<String, u64> {
        read(&self.reads).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::catalog;

    #[tokio::test]
    async fn query_finds_partition_and_missing_table_is_not_found() {
        let t = Tables::default();
        t.create("x");
        assert!(t.put_items("x", catalog::items()));
        assert_eq!(t.query("x", "Song").await.unwrap().len(), 3);
        let err = t.query("y", "Song").await.unwrap_err();
        assert_eq!(err.code, "ResourceNotFoundException");
    }

    #[test]
    fn parameters_round_trip_and_missing_is_an_error() {
        let p = ParameterStore::default();
        p.put("a", "1");
        assert_eq!(p.get(&["a"]).unwrap(), vec!["1"]);
        assert!(p.get(&["a", "b"]).is_err());
        assert!(p.exists("a"));
        assert!(!p.exists("b"));
    }
}
