//! Reading the files a user names, bounded: a device that never ends
//! (`/dev/zero`), a pipe or a file far larger than any script or journal is
//! refused once the bound is passed, instead of being read until memory runs
//! out.

use std::io::Read;
use std::path::Path;

/// The largest script or module read (bytes).
pub(crate) const MAX_SCRIPT_BYTES: u64 = 16 << 20;
/// The largest journal or summary read (bytes): a day of a busy run.
pub(crate) const MAX_JOURNAL_BYTES: u64 = 1 << 30;

/// Reads `path` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {} MiB: not read", limit >> 20),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_device_is_refused_at_the_bound() {
        let err = read_text(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
    }

    #[test]
    fn text_within_the_bound_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rhai");
        std::fs::write(&path, "let x = 1;\n").unwrap();
        assert_eq!(read_text(&path, 11).unwrap(), "let x = 1;\n");
        assert!(read_text(&path, 10).is_err());
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_text(&path, 10).unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
    }
}
