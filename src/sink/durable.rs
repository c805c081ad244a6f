//! Files that survive a crash whole or not at all: written under a temporary name of
//! their own (two writers never share one), synced, renamed over the target, and the
//! directory synced so the rename itself is on disk. The archive's files, their key
//! indexes and the live engine's state snapshot are all written this way.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary path beside `target`, hidden and unique to this process and call.
pub fn temp_path(target: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `target` durably (creating its directory).
pub fn write_file(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(target, |f| f.write_all(bytes)).map(|_| ())
}

/// Creates a temporary file beside `target`, lets `fill` write it (returning the file
/// to sync), and moves it into place durably; returns the file's size. On failure the
/// temporary file is removed and `target` is untouched.
pub fn write_with(target: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<u64> {
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = temp_path(target);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        fill(&mut file)?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        fs::rename(&tmp, target)?;
        File::open(dir)?.sync_all()?;
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub").join("snapshot.json");
        write_file(&target, b"one").unwrap();
        write_file(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert_ne!(temp_path(&target), temp_path(&target), "each write has its own temporary name");
        let failed = write_with(&target, |_| Err(io::Error::other("disk full")));
        assert!(failed.is_err());
        assert_eq!(fs::read(&target).unwrap(), b"two", "a failed write leaves the old file");
        let names: Vec<_> = fs::read_dir(target.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("snapshot.json")]);
    }
}
