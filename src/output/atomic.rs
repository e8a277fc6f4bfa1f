//! Durable, all-or-nothing files and directories.
//!
//! A result is assembled in a hidden sibling directory (`.NAME.partial`) and
//! renamed into place only when complete; each file is written to a
//! temporary name, flushed with `fsync` and renamed, and the directory is
//! synced after renames, so neither a crash nor a power loss can leave a file
//! or a directory that looks complete but is not.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically and durably.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_name(path);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_parent(path)
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// `fsync` the directory containing `path`, so a rename in it is durable.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// The hidden working directory of a result directory `out`.
pub fn partial_dir(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "result".into());
    out.with_file_name(format!(".{name}.partial"))
}

/// Name of the file in a working directory that records its owner's pid.
pub const OWNER_FILE: &str = "owner.pid";

/// Take a working directory for this process. Refuses (with the other
/// process's pid) if a live process already owns it, so two runs aimed at
/// the same output can never interleave their files. With `fresh`, any
/// stale content is removed first; without, it is kept (for `--resume`).
pub fn claim(partial: &Path, fresh: bool) -> io::Result<()> {
    if let Some(pid) = live_owner(partial) {
        return Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!("{} is in use by another hedgesim process (pid {pid})", partial.display()),
        ));
    }
    if fresh && partial.exists() {
        fs::remove_dir_all(partial)?;
    }
    fs::create_dir_all(partial)?;
    fs::write(partial.join(OWNER_FILE), std::process::id().to_string())
}

/// The pid recorded in a working directory, if that process is alive and
/// is not this one (Linux: `/proc/PID` exists; elsewhere never).
fn live_owner(partial: &Path) -> Option<u32> {
    let pid: u32 = fs::read_to_string(partial.join(OWNER_FILE)).ok()?.trim().parse().ok()?;
    (pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists()).then_some(pid)
}

/// Move a finished working directory into place. With `force`, an existing
/// `out` is moved aside first and removed only after the new one is in place.
pub fn publish(partial: &Path, out: &Path, force: bool) -> io::Result<()> {
    let old = out.with_file_name(format!(
        ".{}.old",
        out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let replaced = if out.exists() {
        if !force {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", out.display())));
        }
        if old.exists() {
            fs::remove_dir_all(&old)?;
        }
        fs::rename(out, &old)?;
        true
    } else {
        false
    };
    let _ = fs::remove_file(partial.join(OWNER_FILE));
    fs::rename(partial, out)?;
    sync_parent(out)?;
    if replaced {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("res");
        let partial = partial_dir(&out);
        assert_eq!(partial.file_name().unwrap(), ".res.partial");
        claim(&partial, true).unwrap();
        write_file(&partial.join("a.csv"), b"1").unwrap();
        publish(&partial, &out, false).unwrap();
        fs::create_dir(&partial).unwrap();
        write_file(&partial.join("a.csv"), b"2").unwrap();
        assert!(publish(&partial, &out, false).is_err());
        publish(&partial, &out, true).unwrap();
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"2");
        assert!(!partial.exists());
        assert!(!out.join(OWNER_FILE).exists());
    }

    #[test]
    fn a_live_owner_keeps_others_out() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".x.partial");
        claim(&partial, true).unwrap();
        // pid 1 is alive on Linux: another process owns it.
        fs::write(partial.join(OWNER_FILE), "1").unwrap();
        if Path::new("/proc/1").exists() {
            let e = claim(&partial, true).unwrap_err();
            assert!(e.to_string().contains("pid 1"), "{e}");
        }
        // A dead owner (no such pid) is stale: taken over.
        fs::write(partial.join(OWNER_FILE), "4294967295").unwrap();
        claim(&partial, false).unwrap();
        assert_eq!(fs::read_to_string(partial.join(OWNER_FILE)).unwrap(), std::process::id().to_string());
    }
}
