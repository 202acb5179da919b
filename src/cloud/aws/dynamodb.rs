//! The recommendations table in DynamoDB.

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, attempt, code, fail, poll};
use crate::cloud::ResourceKind;
use crate::error::{Error, Result};
use crate::names::Names;
use crate::service::catalog;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, Tag, WriteRequest,
};
use std::collections::HashMap;
use std::time::Duration;

fn attr(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(|e| Error::cloud("build", "attribute definition", e))
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| Error::cloud("build", "key schema", e))
}

/// How long a call waits for a table in transition (`CREATING`, `UPDATING`,
/// `DELETING`): a small on-demand table takes seconds to a minute.
const TRANSITION: Duration = Duration::from_secs(300);

/// A table's status in DynamoDB's words, as far as we act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableStatus {
    /// `ACTIVE` (or another settled status): usable, deletable.
    Active,
    /// `CREATING` or `UPDATING`: cannot be deleted yet; tags may not be
    /// readable yet.
    Changing,
    /// `DELETING`: on its way out; a table of that name cannot be created
    /// until it is gone.
    Deleting,
}

impl TableStatus {
    fn of(status: Option<&aws_sdk_dynamodb::types::TableStatus>) -> Self {
        use aws_sdk_dynamodb::types::TableStatus as S;
        match status {
            Some(S::Deleting) => TableStatus::Deleting,
            Some(S::Creating | S::Updating) => TableStatus::Changing,
            _ => TableStatus::Active,
        }
    }
}

/// The table's status and ARN, `None` when there is none.
async fn describe(c: &Clients, name: &str) -> Result<Option<(TableStatus, String)>> {
    match c.ddb.describe_table().table_name(name).send().await {
        Ok(out) => {
            let t = out
                .table()
                .ok_or_else(|| Error::cloud("describe table", name, "nothing returned"))?;
            let arn = t
                .table_arn()
                .map(str::to_string)
                .ok_or_else(|| Error::cloud("describe table", name, "no ARN returned"))?;
            Ok(Some((TableStatus::of(t.table_status()), arn)))
        }
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(fail("describe table", name, e)),
    }
}

/// The table and its status. The tags of a table that is still being
/// created can be unreadable for a while (`ResourceNotFoundException`):
/// they are read again until they can be. A table that vanishes while its
/// deletion finishes is `Absent`.
pub(crate) async fn table(c: &Clients, prefix: &str, name: &str) -> Result<Found<TableStatus>> {
    let Some((status, arn)) = describe(c, name).await? else {
        return Ok(Found::Absent);
    };
    let tags = poll::retry(TRANSITION, || async {
        c.ddb
            .list_tags_of_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map(Some)
            .or_else(|e| match code(&e) {
                // Gone while we looked: a table that was being deleted.
                Some("ResourceNotFoundException") if status == TableStatus::Deleting => Ok(None),
                _ => Err(attempt(
                    e,
                    &["ResourceNotFoundException"],
                    "read tags of table",
                    name,
                )),
            })
    })
    .await?;
    let Some(tags) = tags else {
        return Ok(Found::Absent);
    };
    Ok(Found::tagged(
        status,
        tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
        prefix,
    ))
}

/// Waits until no table has this name any more (one being deleted).
async fn gone(c: &Clients, name: &str) -> Result<()> {
    poll::until(
        &format!("table {name} to finish deleting"),
        TRANSITION,
        || async { Ok(describe(c, name).await?.is_none().then_some(())) },
    )
    .await
}

/// Creates the table (partition key `MediaType`, sort key `ItemId`), waits until
/// it is active and fills it.
pub(crate) async fn create(c: &Clients, names: &Names) -> Result<()> {
    let table = &names.table;
    if table_of(c, names).await? == Some(TableStatus::Deleting) {
        // A destroy moments ago: the old table must be gone before a new one.
        gone(c, table).await?;
    }
    if !matches!(
        table_of(c, names).await?,
        Some(TableStatus::Active | TableStatus::Changing)
    ) {
        let tag = Tag::builder()
            .key(TAG_KEY)
            .value(&names.prefix)
            .build()
            .map_err(|e| Error::cloud("build", "tag", e))?;
        let (media_type, item_id) = (
            attr("MediaType", ScalarAttributeType::S)?,
            attr("ItemId", ScalarAttributeType::N)?,
        );
        let (hash, range) = (
            key("MediaType", KeyType::Hash)?,
            key("ItemId", KeyType::Range)?,
        );
        // `ResourceInUseException`: a table of that name is still being
        // deleted (a destroy that raced this look): try again once it is gone.
        poll::retry(TRANSITION, || async {
            c.ddb
                .create_table()
                .table_name(table)
                .attribute_definitions(media_type.clone())
                .attribute_definitions(item_id.clone())
                .key_schema(hash.clone())
                .key_schema(range.clone())
                .billing_mode(BillingMode::PayPerRequest)
                .tags(tag.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| attempt(e, &["ResourceInUseException"], "create table", table))
        })
        .await?;
    }
    // Our own poll (0.2 s doubling to 5 s) instead of the SDK's waiter,
    // which waits 20 s between looks: a small on-demand table is usually
    // active within seconds.
    poll::until(
        &format!("table {table} to be active"),
        TRANSITION,
        || async {
            Ok(describe(c, table)
                .await?
                .filter(|(status, _)| *status == TableStatus::Active)
                .map(|_| ()))
        },
    )
    .await
    .map_err(|e| Error::cloud("wait for table", table, e))?;
    let requests: Vec<WriteRequest> = catalog::items()
        .into_iter()
        .map(|i| {
            let item = HashMap::from([
                ("MediaType".to_string(), AttributeValue::S(i.media_type)),
                (
                    "ItemId".to_string(),
                    AttributeValue::N(i.item_id.to_string()),
                ),
                ("Title".to_string(), AttributeValue::S(i.title)),
                ("Creator".to_string(), AttributeValue::S(i.creator)),
            ]);
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| Error::cloud("build", "put request", e))?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_>>()?;
    // BatchWriteItem takes at most 25 items, and may leave some unprocessed
    // (throughput): those are sent again with backoff.
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        while !pending.is_empty() {
            let out = c
                .ddb
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| fail("fill table", table, e))?;
            pending = out
                .unprocessed_items()
                .and_then(|u| u.get(table.as_str()))
                .cloned()
                .unwrap_or_default();
            if !pending.is_empty() {
                if started.elapsed() > TRANSITION {
                    return Err(Error::cloud(
                        "fill table",
                        table,
                        format!("{} items stayed unprocessed", pending.len()),
                    ));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    Ok(())
}

async fn table_of(c: &Clients, names: &Names) -> Result<Option<TableStatus>> {
    table(c, &names.prefix, &names.table).await?.adopt(
        ResourceKind::Table,
        &names.table,
        &names.prefix,
    )
}

/// Deletes our table (once it can be: a table still being created refuses
/// with `ResourceInUseException`). One already being deleted is left to it.
pub(crate) async fn delete(c: &Clients, prefix: &str, name: &str) -> Result<Removed> {
    match table(c, prefix, name).await? {
        Found::Absent | Found::Ours(TableStatus::Deleting) => return Ok(Removed::default()),
        Found::Foreign => return Ok(Removed::foreign(ResourceKind::Table, name, prefix)),
        Found::Ours(_) => {}
    }
    poll::retry(TRANSITION, || async {
        match c.ddb.delete_table().table_name(name).send().await {
            Ok(_) => Ok(Removed::one(ResourceKind::Table, name)),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(Removed::default()),
            Err(e) => Err(attempt(
                e,
                &["ResourceInUseException"],
                "delete table",
                name,
            )),
        }
    })
    .await
}
