//! Durable, all-or-nothing files and directories, one writer at a time, and
//! publication that survives a kill at any moment.
//!
//! **Files.** Each file is written to `NAME.tmp` (created new, never through
//! a symbolic link), flushed with `fsync` and renamed over `NAME`; the
//! directory is synced after renames. On error the temporary file is
//! removed. Neither a crash nor a power loss can leave a file that looks
//! complete but is not.
//!
//! **Working directory and lock.** A result `NAME` is assembled in the
//! hidden sibling `.NAME.partial/`. Every writer of `NAME` (`run`, `run
//! --resume`, `merge`) first takes an exclusive `flock` on
//! `.NAME.partial/hedgesim.lock` and holds it until it exits, publication
//! included; a second writer gets `WouldBlock` at once and is refused. The
//! lock is atomic (no check-then-act) and dies with its process, so a stale
//! lock never blocks. After locking, the writer checks that the locked file
//! is still the one at that path (another writer may have published or
//! removed the directory meanwhile) and retries otherwise. `owner.pid` is
//! written next to it for messages only; it is never trusted. The working
//! directory must be a real directory (not a symbolic link) owned by this
//! user, and `--resume` uses only regular files owned by this user, opened
//! without following links ([`Claim::check_own_files`], [`open_nofollow`]).
//!
//! **Publication journal.** [`Claim::publish`] moves `.NAME.partial` to
//! `NAME` in steps, each durable before the next:
//!
//! 1. write the journal `.NAME.partial/publishing` (from here on the new
//!    result is complete and is to replace `NAME`);
//! 2. rename an existing `NAME` to `.NAME.old`;
//! 3. rename `.NAME.partial` to `NAME` (refusing to replace anything);
//! 4. remove `.NAME.old`;
//! 5. remove the journal, the lock and `owner.pid` from `NAME`.
//!
//! A kill between any two steps leaves a state that [`Claim::recover`],
//! run by the next writer of `NAME` under the lock, completes **forward**:
//! a journal in `.NAME.partial` means steps 2-5 are still to do; a journal
//! in `NAME` means steps 4-5. A `.NAME.old` without any journal (left by
//! versions before the journal) is rolled forward when `.NAME.partial` holds
//! a complete result (its `manifest.json`, which is written last) and `NAME`
//! is missing, **rolled back** (renamed to `NAME`) when it does not, and
//! removed when `NAME` is in place. `.NAME.old` is only ever removed when it
//! holds a hedgesim result. Each action is reported in a sentence.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The lock file inside a working directory.
pub const LOCK_FILE: &str = "hedgesim.lock";
/// Name of the file in a working directory that records its owner's pid
/// (informational: shown in messages, never trusted).
pub const OWNER_FILE: &str = "owner.pid";
/// The publication journal (see the module documentation).
pub const JOURNAL_FILE: &str = "publishing";

/// How many times [`claim`] retries when the directory changes under it.
const CLAIM_ATTEMPTS: usize = 50;

/// Write `bytes` to `path` atomically and durably. The temporary file is
/// created new (an old one or a planted link is removed first, never
/// followed) and removed again if anything fails.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_name(path);
    let written = create_new(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_parent(path)
}

/// Create `path` as a new, empty file for writing: an existing file or
/// symbolic link of that name is removed first (a link is never followed).
pub fn create_new(path: &Path) -> io::Result<File> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    OpenOptions::new().write(true).create_new(true).custom_flags(nofollow()).open(path)
}

/// Open `path` with `options`, refusing to follow a symbolic link in its
/// last component (`O_NOFOLLOW`: the open fails instead).
pub fn open_nofollow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options.custom_flags(nofollow()).open(path)
}

fn nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// The temporary name `write_file` uses for `path`.
pub fn tmp_name(path: &Path) -> PathBuf {
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

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "result".into());
    out.with_file_name(format!(".{name}.{suffix}"))
}

/// The hidden working directory of a result directory `out`.
pub fn partial_dir(out: &Path) -> PathBuf {
    sibling(out, "partial")
}

/// Where an existing `out` waits while `--force` publishes its replacement.
pub fn old_dir(out: &Path) -> PathBuf {
    sibling(out, "old")
}

/// Why a working directory could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Another live process holds the lock.
    #[error("{dir} is in use by another hedgesim process{pid}")]
    Busy { dir: String, pid: String },
    /// Something hedgesim did not create is in the way.
    #[error("{0}")]
    Unsafe(String),
    /// An I/O error.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A working directory locked by this process (the lock is released when
/// the claim is dropped or published).
#[derive(Debug)]
pub struct Claim {
    partial: PathBuf,
    lock: File,
    created: bool,
}

/// Take the working directory `partial` for this process: create it if
/// needed, lock it, record the pid. Refuses with [`ClaimError::Busy`] if
/// another process holds it, and with [`ClaimError::Unsafe`] if it is a
/// symbolic link, not a directory, or owned by another user.
pub fn claim(partial: &Path) -> Result<Claim, ClaimError> {
    for _ in 0..CLAIM_ATTEMPTS {
        let created = match fs::create_dir(partial) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(e.into()),
        };
        check_own_dir(partial)?;
        let lock_path = partial.join(LOCK_FILE);
        let lock = match open_nofollow(&lock_path, OpenOptions::new().read(true).write(true).create(true)) {
            Ok(f) => f,
            // The directory was published or removed meanwhile: start again.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) if is_link_error(&e) => return Err(unsafe_entry(&lock_path, "a symbolic link")),
            Err(e) => return Err(e.into()),
        };
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let pid = fs::read_to_string(partial.join(OWNER_FILE))
                    .ok()
                    .and_then(|t| t.trim().parse::<u32>().ok())
                    .map_or_else(String::new, |p| format!(" (pid {p})"));
                return Err(ClaimError::Busy { dir: partial.display().to_string(), pid });
            }
            Err(e) => return Err(io::Error::from(e).into()),
        }
        if !same_file(&lock, &lock_path) {
            continue;
        }
        write_file(&partial.join(OWNER_FILE), std::process::id().to_string().as_bytes())?;
        return Ok(Claim { partial: partial.to_path_buf(), lock, created });
    }
    Err(ClaimError::Io(io::Error::other(format!("{} keeps changing; cannot lock it", partial.display()))))
}

fn is_link_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}

fn unsafe_entry(path: &Path, what: &str) -> ClaimError {
    ClaimError::Unsafe(format!(
        "{} is {what}, which hedgesim did not create; it will not use it. \
         Remove it (after checking what it is) and run again",
        path.display()
    ))
}

/// Is the open file `f` the file now at `path`?
fn same_file(f: &File, path: &Path) -> bool {
    match (f.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// This process's effective user id.
fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn check_own_dir(dir: &Path) -> Result<(), ClaimError> {
    let meta = fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_entry(dir, "a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(unsafe_entry(dir, "not a directory"));
    }
    if meta.uid() != my_uid() {
        return Err(unsafe_entry(dir, &format!("owned by another user (uid {})", meta.uid())));
    }
    Ok(())
}

impl Claim {
    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.partial
    }

    /// Remove everything in the working directory but the lock and the pid
    /// file (a fresh start). Links are removed, never followed.
    pub fn clear(&self) -> io::Result<()> {
        for entry in fs::read_dir(&self.partial)? {
            let entry = entry?;
            let name = entry.file_name();
            if name == LOCK_FILE || name == OWNER_FILE {
                continue;
            }
            if entry.file_type()?.is_dir() { fs::remove_dir_all(entry.path())? } else { fs::remove_file(entry.path())? }
        }
        Ok(())
    }

    /// Check that every entry of the working directory is a regular file
    /// owned by this user (what `--resume` may read and extend).
    pub fn check_own_files(&self) -> Result<(), ClaimError> {
        let uid = my_uid();
        for entry in fs::read_dir(&self.partial)? {
            let path = entry?.path();
            let meta = fs::symlink_metadata(&path)?;
            if meta.file_type().is_symlink() {
                return Err(unsafe_entry(&path, "a symbolic link"));
            }
            if !meta.is_file() {
                return Err(unsafe_entry(&path, "not a regular file"));
            }
            if meta.uid() != uid {
                return Err(unsafe_entry(&path, &format!("owned by another user (uid {})", meta.uid())));
            }
        }
        Ok(())
    }

    /// Give the working directory up: if this claim created it, remove it
    /// again (only if nothing else was put in it).
    pub fn release(self) {
        if self.created {
            let _ = fs::remove_file(self.partial.join(OWNER_FILE));
            let _ = fs::remove_file(self.partial.join(LOCK_FILE));
            let _ = fs::remove_dir(&self.partial);
        }
    }

    /// Finish or roll back an interrupted publication to `out` (see the
    /// module documentation). Returns what was done, one sentence per
    /// action. When the working directory itself was published, the claim
    /// is spent (`moved` is true) and must be taken again.
    pub fn recover(&self, out: &Path) -> Result<Recovery, ClaimError> {
        let old = old_dir(out);
        let mut done = Vec::new();
        let out_exists = exists(out)?;
        if self.partial.join(JOURNAL_FILE).is_file() {
            if out_exists {
                if !is_hedgesim_result(out) {
                    return Err(ClaimError::Unsafe(format!(
                        "{} holds an interrupted publication, but {} is not a hedgesim result and will not be \
                         replaced; move it away and run again",
                        self.partial.display(),
                        out.display()
                    )));
                }
                move_aside(out, &old)?;
            }
            rename_noreplace(&self.partial, out)?;
            sync_parent(out)?;
            done.push(format!(
                "finished an interrupted publication: moved {} into place as {}",
                self.partial.display(),
                out.display()
            ));
            finish_tail(out, &old, &mut done)?;
            return Ok(Recovery { done, moved: true, published: true });
        }
        if out_exists && fs::symlink_metadata(out.join(JOURNAL_FILE)).is_ok_and(|m| m.is_file()) {
            finish_tail(out, &old, &mut done)?;
            done.push(format!("finished an interrupted publication of {}", out.display()));
            return Ok(Recovery { done, moved: false, published: true });
        }
        if !exists(&old)? {
            return Ok(Recovery::default());
        }
        if out_exists {
            remove_old(&old, &mut done)?;
            return Ok(Recovery { done, moved: false, published: true });
        }
        if is_hedgesim_result(&self.partial) {
            rename_noreplace(&self.partial, out)?;
            sync_parent(out)?;
            done.push(format!(
                "finished an interrupted publication: moved the complete result in {} into place as {}",
                self.partial.display(),
                out.display()
            ));
            finish_tail(out, &old, &mut done)?;
            return Ok(Recovery { done, moved: true, published: true });
        }
        check_hedgesim_old(&old)?;
        rename_noreplace(&old, out)?;
        sync_parent(out)?;
        done.push(format!(
            "rolled back an interrupted publication: restored the previous result {} from {}",
            out.display(),
            old.display()
        ));
        Ok(Recovery { done, ..Recovery::default() })
    }

    /// Move the finished working directory into place as `out`, replacing
    /// an existing `out` only with `replace`, through the journal of the
    /// module documentation. Releases the lock.
    pub fn publish(self, out: &Path, replace: bool) -> io::Result<()> {
        let old = old_dir(out);
        let out_exists = exists(out)?;
        if out_exists && !replace {
            return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", out.display())));
        }
        if out_exists && !is_hedgesim_result(out) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not a hedgesim result; it is left alone", out.display()),
            ));
        }
        if exists(&old)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is in the way; remove it and run again", old.display()),
            ));
        }
        write_file(&self.partial.join(JOURNAL_FILE), b"publishing this directory; see src/output/atomic.rs\n")?;
        if out_exists {
            move_aside(out, &old).map_err(|e| io::Error::other(e.to_string()))?;
        }
        rename_noreplace(&self.partial, out)?;
        sync_parent(out)?;
        let mut done = Vec::new();
        finish_tail(out, &old, &mut done).map_err(|e| io::Error::other(e.to_string()))?;
        drop(self.lock);
        Ok(())
    }
}

/// What [`Claim::recover`] did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// One sentence per action (empty: nothing was interrupted).
    pub done: Vec<String>,
    /// The working directory was published (the claim is spent).
    pub moved: bool,
    /// An interrupted publication was finished: `out` now holds its result.
    pub published: bool,
}

fn exists(path: &Path) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Step 2: `out` to `.NAME.old`.
fn move_aside(out: &Path, old: &Path) -> Result<(), ClaimError> {
    if exists(old)? {
        return Err(ClaimError::Unsafe(format!(
            "{} is in the way of publishing {}; remove it and run again",
            old.display(),
            out.display()
        )));
    }
    fs::rename(out, old)?;
    sync_parent(old)?;
    Ok(())
}

/// Steps 4 and 5.
fn finish_tail(out: &Path, old: &Path, done: &mut Vec<String>) -> Result<(), ClaimError> {
    if exists(old)? {
        remove_old(old, done)?;
    }
    for name in [JOURNAL_FILE, LOCK_FILE, OWNER_FILE] {
        match fs::remove_file(out.join(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    File::open(out)?.sync_all()?;
    Ok(())
}

fn remove_old(old: &Path, done: &mut Vec<String>) -> Result<(), ClaimError> {
    check_hedgesim_old(old)?;
    fs::remove_dir_all(old)?;
    sync_parent(old)?;
    done.push(format!("removed {}, the replaced result", old.display()));
    Ok(())
}

fn check_hedgesim_old(old: &Path) -> Result<(), ClaimError> {
    let meta = fs::symlink_metadata(old)?;
    if meta.is_dir() && is_hedgesim_result(old) {
        return Ok(());
    }
    Err(ClaimError::Unsafe(format!(
        "{} is not a hedgesim result, so hedgesim will not touch it; move it away and run again",
        old.display()
    )))
}

/// `rename(from, to)` that fails instead of replacing an existing `to`
/// (a plain rename would silently replace an empty directory).
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE).map_err(io::Error::from)
}

/// The identity of a result directory, from its `manifest.json`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct ResultId {
    pub engine: String,
    pub scenario: String,
    pub scenario_file: String,
}

/// The identity of `dir` if it holds a hedgesim result or shard (a
/// regular `manifest.json`, not a link, written by hedgesim).
pub fn result_id(dir: &Path) -> Option<ResultId> {
    let path = dir.join("manifest.json");
    let mut file = open_nofollow(&path, OpenOptions::new().read(true)).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = Vec::new();
    io::Read::read_to_end(&mut file, &mut text).ok()?;
    let id: ResultId = serde_json::from_slice(&text).ok()?;
    (id.engine == "hedgesim").then_some(id)
}

/// Does `dir` hold a hedgesim result or shard?
pub fn is_hedgesim_result(dir: &Path) -> bool {
    result_id(dir).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &[u8] = br#"{"engine": "hedgesim", "scenario": "s", "scenario_file": "s.toml"}"#;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    fn complete(dir: &Path, tag: &[u8]) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("a.csv"), tag).unwrap();
        fs::write(dir.join("manifest.json"), MANIFEST).unwrap();
    }

    #[test]
    fn publish_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("res");
        let partial = partial_dir(&out);
        assert_eq!(partial.file_name().unwrap(), ".res.partial");
        let c = claim(&partial).unwrap();
        complete(&partial, b"1");
        c.publish(&out, false).unwrap();
        assert_eq!(names(&out), ["a.csv", "manifest.json"]);
        let c = claim(&partial).unwrap();
        complete(&partial, b"2");
        let c2 = claim(&partial);
        assert!(matches!(c2, Err(ClaimError::Busy { .. })), "{c2:?}");
        assert!(c.publish(&out, false).is_err());
        let c = claim(&partial).unwrap();
        c.publish(&out, true).unwrap();
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"2");
        assert_eq!(names(dir.path()), ["res"]);
        assert_eq!(names(&out), ["a.csv", "manifest.json"]);
        // Never over something that is not a hedgesim result.
        fs::remove_file(out.join("manifest.json")).unwrap();
        let c = claim(&partial).unwrap();
        complete(&partial, b"3");
        assert!(c.publish(&out, true).is_err());
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"2");
    }

    #[test]
    fn a_stale_pid_does_not_block_and_a_live_lock_does() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join(".x.partial");
        fs::create_dir(&partial).unwrap();
        fs::write(partial.join(OWNER_FILE), "1").unwrap();
        let c = claim(&partial).unwrap();
        assert_eq!(fs::read_to_string(partial.join(OWNER_FILE)).unwrap(), std::process::id().to_string());
        let e = claim(&partial).unwrap_err();
        assert!(e.to_string().contains("in use by another hedgesim process"), "{e}");
        drop(c);
        claim(&partial).unwrap().release();
        assert!(partial.exists(), "a directory the claim did not create stays");
    }

    #[test]
    fn a_linked_working_directory_or_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let partial = dir.path().join(".x.partial");
        std::os::unix::fs::symlink(&victim, &partial).unwrap();
        assert!(matches!(claim(&partial), Err(ClaimError::Unsafe(_))));
        fs::remove_file(&partial).unwrap();
        fs::create_dir(&partial).unwrap();
        std::os::unix::fs::symlink(victim.join("f"), partial.join(LOCK_FILE)).unwrap();
        assert!(matches!(claim(&partial), Err(ClaimError::Unsafe(_))));
        assert!(!victim.join("f").exists());
    }

    #[test]
    fn write_file_leaves_no_tmp_on_error_and_does_not_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("a.csv");
        std::os::unix::fs::symlink(&victim, tmp_name(&path)).unwrap();
        write_file(&path, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // The rename fails (the target is a non-empty directory): no tmp left.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), "x").unwrap();
        assert!(write_file(&blocked, b"1").is_err());
        assert!(!tmp_name(&blocked).exists());
    }

    #[test]
    fn every_interrupted_publication_state_is_recovered() {
        // (journal in partial?, old result at NAME?, NAME moved aside?, partial renamed?)
        for step in 1..=4 {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("res");
            let (partial, old) = (partial_dir(&out), old_dir(&out));
            complete(&partial, b"new");
            complete(&out, b"old");
            fs::write(partial.join(JOURNAL_FILE), "").unwrap();
            if step >= 2 {
                fs::rename(&out, &old).unwrap();
            }
            if step >= 3 {
                fs::rename(&partial, &out).unwrap();
            }
            if step >= 4 {
                fs::remove_dir_all(&old).unwrap();
            }
            let c = claim(&partial).unwrap();
            let r = c.recover(&out).unwrap();
            assert!(!r.done.is_empty(), "step {step}: nothing reported");
            assert_eq!(r.moved, step < 3, "step {step}");
            assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"new", "step {step}");
            assert_eq!(names(&out), ["a.csv", "manifest.json"], "step {step}");
            drop(c);
            assert!(!old.exists(), "step {step}");
        }
    }

    #[test]
    fn a_journal_less_old_directory_is_rolled_forward_back_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("res");
        let (partial, old) = (partial_dir(&out), old_dir(&out));
        // Forward: the partial holds a complete result.
        complete(&partial, b"new");
        complete(&old, b"old");
        let r = claim(&partial).unwrap().recover(&out).unwrap();
        assert!(r.moved && r.done[0].contains("finished"), "{:?}", r.done);
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"new");
        assert!(!old.exists());
        // Back: the partial is unfinished.
        fs::rename(&out, &old).unwrap();
        fs::create_dir(&partial).unwrap();
        let r = claim(&partial).unwrap().recover(&out).unwrap();
        assert!(!r.moved && r.done[0].contains("rolled back"), "{:?}", r.done);
        assert_eq!(fs::read(out.join("a.csv")).unwrap(), b"new");
        // Removed: NAME is in place. But never a directory that is not ours.
        fs::create_dir(&old).unwrap();
        fs::write(old.join("thesis.tex"), "x").unwrap();
        let e = claim(&partial).unwrap().recover(&out).unwrap_err();
        assert!(e.to_string().contains("not a hedgesim result"), "{e}");
        assert!(old.join("thesis.tex").exists());
    }
}
