//! The recommendations table in DynamoDB.

use super::ownership::{Found, Removed};
use super::{Clients, TAG_KEY, code, fail};
use crate::error::{Error, Result};
use crate::names::Names;
use crate::service::catalog;
use aws_sdk_dynamodb::client::Waiters;
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

/// The table.
pub async fn table(c: &Clients, prefix: &str, name: &str) -> Result<Found<()>> {
    let arn = match c.ddb.describe_table().table_name(name).send().await {
        Ok(out) => out
            .table()
            .and_then(|t| t.table_arn())
            .map(str::to_string)
            .ok_or_else(|| Error::cloud("describe table", name, "no ARN returned"))?,
        Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(Found::Absent),
        Err(e) => return Err(fail("describe table", name, e)),
    };
    let tags = c
        .ddb
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| fail("read tags of table", name, e))?;
    Ok(Found::tagged(
        (),
        tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
        prefix,
    ))
}

/// Creates the table (partition key `MediaType`, sort key `ItemId`), waits until
/// it is active and fills it.
pub async fn create(c: &Clients, names: &Names) -> Result<()> {
    let table = &names.table;
    if table_of(c, names).await?.is_none() {
        let tag = Tag::builder()
            .key(TAG_KEY)
            .value(&names.prefix)
            .build()
            .map_err(|e| Error::cloud("build", "tag", e))?;
        c.ddb
            .create_table()
            .table_name(table)
            .attribute_definitions(attr("MediaType", ScalarAttributeType::S)?)
            .attribute_definitions(attr("ItemId", ScalarAttributeType::N)?)
            .key_schema(key("MediaType", KeyType::Hash)?)
            .key_schema(key("ItemId", KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .tags(tag)
            .send()
            .await
            .map_err(|e| fail("create table", table, e))?;
    }
    c.ddb
        .wait_until_table_exists()
        .table_name(table)
        .wait(Duration::from_secs(300))
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
    // BatchWriteItem takes at most 25 items.
    for chunk in requests.chunks(25) {
        c.ddb
            .batch_write_item()
            .request_items(table, chunk.to_vec())
            .send()
            .await
            .map_err(|e| fail("fill table", table, e))?;
    }
    Ok(())
}

async fn table_of(c: &Clients, names: &Names) -> Result<Option<()>> {
    table(c, &names.prefix, &names.table)
        .await?
        .adopt("table", &names.table, &names.prefix)
}

/// Deletes our table.
pub async fn delete(c: &Clients, prefix: &str, name: &str) -> Result<Removed> {
    match table(c, prefix, name).await? {
        Found::Absent => return Ok(Removed::default()),
        Found::Foreign => return Ok(Removed::foreign("table", name, prefix)),
        Found::Ours(()) => {}
    }
    match c.ddb.delete_table().table_name(name).send().await {
        Ok(_) => Ok(Removed::one("table", name)),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(Removed::default()),
        Err(e) => Err(fail("delete table", name, e)),
    }
}
