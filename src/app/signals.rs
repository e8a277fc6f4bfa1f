//! Signals that stop a run cleanly: SIGINT (Ctrl-C, exit 130) and SIGTERM
//! (`kill`, a scheduler's time limit or preemption, exit 143). The first
//! one sets the cancel flag the engine polls between chunks: the batch
//! writes a final checkpoint and stops, and `--resume` continues from it.
//! A second signal of the same kind ends the process at once, with the
//! same exit code (the last checkpoint is still on disk).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};

use super::{EXIT_INTERRUPTED, EXIT_TERMINATED};

struct Flags {
    cancel: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

fn flags() -> &'static Flags {
    FLAGS.get_or_init(|| {
        let cancel = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for (sig, code) in [(SIGINT, EXIT_INTERRUPTED), (SIGTERM, EXIT_TERMINATED)] {
            // If a handler cannot be installed, the signal simply kills the
            // process; the checkpoint protocol keeps the working directory
            // consistent. The shutdown hook goes first: it fires only if the
            // flag was already set by an earlier signal.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, code, cancel.clone());
            let _ = signal_hook::flag::register_usize(sig, signal.clone(), sig as usize);
            let _ = signal_hook::flag::register(sig, cancel.clone());
        }
        Flags { cancel, signal }
    })
}

/// The process-wide cancel flag, set by SIGINT or SIGTERM (the handlers
/// are installed on first use).
pub fn cancel_flag() -> Arc<AtomicBool> {
    flags().cancel.clone()
}

/// Whether the last stopping signal was SIGTERM (rather than SIGINT).
pub fn terminated() -> bool {
    flags().signal.load(Ordering::SeqCst) == SIGTERM as usize
}
