//! The items the recommendations table is filled with, and the static fallback.

use super::Item;

/// The media types the service recommends, one of which is picked per request.
pub const MEDIA_TYPES: [&str; 3] = ["Book", "Movie", "Song"];

/// The `ItemId` of the static fallback recommendation; real items start at 1.
pub const FALLBACK_ITEM_ID: i64 = 0;

/// The items every deployment writes into its table (three of each media type).
pub fn items() -> Vec<Item> {
    const ROWS: [(&str, i64, &str, &str); 9] = [
        ("Book", 1, "Release It!", "Michael T. Nygard"),
        ("Book", 2, "Thinking in Systems", "Donella H. Meadows"),
        ("Book", 3, "The Phoenix Project", "Gene Kim"),
        ("Movie", 1, "Apollo 13", "Ron Howard"),
        ("Movie", 2, "The Martian", "Ridley Scott"),
        ("Movie", 3, "Sully", "Clint Eastwood"),
        ("Song", 1, "I Will Survive", "Gloria Gaynor"),
        ("Song", 2, "I'm Still Standing", "Elton John"),
        ("Song", 3, "Don't Stop Me Now", "Queen"),
    ];
    ROWS.iter()
        .map(|&(media_type, item_id, title, creator)| Item {
            media_type: media_type.into(),
            item_id,
            title: title.into(),
            creator: creator.into(),
        })
        .collect()
}

/// The static recommendation served when the table cannot be read and the
/// failure-response parameter is `static`.
pub fn fallback() -> Item {
    Item {
        media_type: "Book".into(),
        item_id: FALLBACK_ITEM_ID,
        title: "Resilience Engineering in Practice (served from the static fallback)".into(),
        creator: "resilient".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_least_three_items_of_each_kind_with_unique_keys() {
        let items = items();
        for kind in MEDIA_TYPES {
            assert!(items.iter().filter(|i| i.media_type == kind).count() >= 3);
        }
        let mut keys: Vec<_> = items.iter().map(|i| (&i.media_type, i.item_id)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), items.len());
        assert!(items.iter().all(|i| i.item_id != FALLBACK_ITEM_ID));
    }
}
