//! The recommendations table in DynamoDB.

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

/// Whether the table exists.
pub async fn exists(c: &Clients, table: &str) -> Result<bool> {
    match c.ddb.describe_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(fail("describe table", table, e)),
    }
}

/// Creates the table (partition key `MediaType`, sort key `ItemId`), waits until
/// it is active and fills it.
pub async fn create(c: &Clients, names: &Names) -> Result<()> {
    let table = &names.table;
    if !exists(c, table).await? {
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

/// Deletes the table; false if it did not exist.
pub async fn delete(c: &Clients, table: &str) -> Result<bool> {
    match c.ddb.delete_table().table_name(table).send().await {
        Ok(_) => Ok(true),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(fail("delete table", table, e)),
    }
}
