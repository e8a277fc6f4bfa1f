//! The horizon values of `runs.csv`, folded exactly as the engine folds
//! them.
//!
//! `summary.csv` holds the moments of every cell over all runs, folded by
//! the engine in chunks of [`CHUNK_SIZE`] runs (Welford's update in run
//! order) and combined in the fixed merge tree of [`crate::engine::tree`].
//! Folding the horizon values of `runs.csv` (shortest round-trip text, so
//! the exact values) the same way gives the same bits, so:
//!
//! - the means and standard deviations of `summary.csv` at the horizon can
//!   be checked bit for bit against `runs.csv` (a changed file is caught,
//!   not reported as a finding), and the means `compare` reports are those
//!   of `summary.csv`, not a recomputation that differs in the last digits;
//! - the paired differences `b_i - a_i` are folded the same way, so the
//!   paired test at the horizon agrees bit for bit with the re-simulation
//!   of [`super::resim`], which folds whole trajectories in the same tree.
//!
//! Both files of a pair are read in lockstep, one run at a time, so memory
//! does not grow with the number of runs.

use std::collections::BTreeMap;

use super::error::CompareError;
use super::load::{ResultDir, RunsReader};
use crate::engine::tree::{self, Node};
use crate::engine::{CHUNK_SIZE, chunk_count};
use crate::stats::moments::MomentBlock;

/// Moments of a run-by-run stream, folded in the engine's chunks and tree.
struct Folder {
    len: usize,
    chunk: MomentBlock,
    stack: Vec<Node>,
    seen: u64,
    /// Per column, the runs whose value is exactly 1 (for 0/1 share
    /// metrics, whose summary.csv moments come from this count).
    ones: Vec<u64>,
}

impl Folder {
    fn new(len: usize) -> Folder {
        Folder { len, chunk: MomentBlock::new(len), stack: Vec::new(), seen: 0, ones: vec![0; len] }
    }

    fn add(&mut self, row: &[f64]) {
        for (k, &x) in self.ones.iter_mut().zip(row) {
            *k += u64::from(x == 1.0);
        }
        self.chunk.add_row(row);
        self.seen += 1;
        if self.seen % CHUNK_SIZE == 0 {
            let full = std::mem::replace(&mut self.chunk, MomentBlock::new(self.len));
            tree::push(&mut self.stack, self.seen / CHUNK_SIZE - 1, full);
        }
    }

    fn finish(mut self) -> (MomentBlock, Vec<u64>) {
        if self.seen % CHUNK_SIZE != 0 {
            let last = std::mem::replace(&mut self.chunk, MomentBlock::new(self.len));
            tree::push(&mut self.stack, self.seen / CHUNK_SIZE, last);
        }
        // The chunks 0, 1, ... were pushed in order, so the stack holds the
        // canonical nodes of a contiguous range and the root exists.
        let m = tree::root(self.stack, chunk_count(self.seen), self.len).expect("contiguous chunks cover the tree");
        (m, self.ones)
    }
}

/// One result's `runs.csv`, folded.
pub(crate) struct SideFold {
    /// Moments over runs of the columns of [`HorizonFold::columns`].
    pub moments: MomentBlock,
    /// Per column, the runs whose value is exactly 1.
    pub ones: Vec<u64>,
    /// Runs per posture label, when the file has a `posture` column.
    pub postures: Option<BTreeMap<String, u64>>,
}

/// The folds of the two `runs.csv` files of a comparison.
pub(crate) struct HorizonFold {
    /// The folded columns (`metric` or `metric.subject`), in the order of
    /// the cells of the moment blocks.
    pub columns: Vec<String>,
    /// Wanted columns that a `runs.csv` lacks (not folded).
    pub missing: Vec<String>,
    /// A's fold, if A has `runs.csv` and its horizon is compared.
    pub a: Option<SideFold>,
    /// B's fold, likewise.
    pub b: Option<SideFold>,
    /// Paired only: moments of b_i - a_i.
    pub diff: Option<MomentBlock>,
    /// Paired only: runs per (posture in A, posture in B).
    pub joint: Option<BTreeMap<(String, String), u64>>,
}

impl HorizonFold {
    /// Cell of `column`, if folded.
    pub fn cell(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }
}

/// Fold the columns `wanted` of `runs.csv` of each side in `sides` (A, B),
/// run by run in lockstep when `paired`.
pub(crate) fn fold(
    a: Option<&ResultDir>,
    b: Option<&ResultDir>,
    wanted: &[String],
    paired: bool,
) -> Result<HorizonFold, CompareError> {
    // Columns every folded side has.
    let mut missing: Vec<String> = Vec::new();
    for d in [a, b].into_iter().flatten() {
        let (_, lacks) = RunsReader::open(d, wanted)?;
        for m in lacks {
            if !missing.contains(&m) {
                missing.push(m);
            }
        }
    }
    let columns: Vec<String> = wanted.iter().filter(|w| !missing.contains(w)).cloned().collect();
    let open = |d: &ResultDir| RunsReader::open(d, &columns).map(|(r, _)| r);
    let mut out = HorizonFold { columns: columns.clone(), missing, a: None, b: None, diff: None, joint: None };
    match (a, b, paired) {
        (Some(da), Some(db), true) => {
            let (fa, fb, fd, joint) = fold_pair(open(da)?, open(db)?, columns.len())?;
            out.a = Some(fa);
            out.b = Some(fb);
            out.diff = Some(fd);
            out.joint = joint;
        }
        _ => {
            out.a = a.map(|d| fold_one(open(d)?, columns.len())).transpose()?;
            out.b = b.map(|d| fold_one(open(d)?, columns.len())).transpose()?;
        }
    }
    Ok(out)
}

fn count(map: &mut Option<BTreeMap<String, u64>>, label: &str) {
    if let Some(m) = map.as_mut() {
        *m.entry(label.to_string()).or_default() += 1;
    }
}

fn fold_one(mut r: RunsReader, len: usize) -> Result<SideFold, CompareError> {
    let mut folder = Folder::new(len);
    let mut postures = r.has_postures().then(BTreeMap::new);
    let (mut row, mut label) = (vec![0.0; len], String::new());
    while r.next_run(&mut row, &mut label)? {
        folder.add(&row);
        count(&mut postures, &label);
    }
    let (moments, ones) = folder.finish();
    Ok(SideFold { moments, ones, postures })
}

type PairFolds = (SideFold, SideFold, MomentBlock, Option<BTreeMap<(String, String), u64>>);

fn fold_pair(mut ra: RunsReader, mut rb: RunsReader, len: usize) -> Result<PairFolds, CompareError> {
    let (mut fa, mut fb, mut fd) = (Folder::new(len), Folder::new(len), Folder::new(len));
    let mut pa = ra.has_postures().then(BTreeMap::new);
    let mut pb = rb.has_postures().then(BTreeMap::new);
    let mut joint = (ra.has_postures() && rb.has_postures()).then(BTreeMap::new);
    let (mut xa, mut xb, mut d) = (vec![0.0; len], vec![0.0; len], vec![0.0; len]);
    let (mut la, mut lb) = (String::new(), String::new());
    loop {
        let more_a = ra.next_run(&mut xa, &mut la)?;
        let more_b = rb.next_run(&mut xb, &mut lb)?;
        match (more_a, more_b) {
            (true, true) => {}
            (false, false) => break,
            // The manifests agree on runs and each reader checks its count,
            // so the shorter file has already been refused; keep a message.
            _ => {
                let short = if more_a { rb.path() } else { ra.path() };
                return Err(CompareError::malformed(short, None, "has fewer runs than the other result's runs.csv"));
            }
        }
        for ((d, x), y) in d.iter_mut().zip(&xa).zip(&xb) {
            *d = y - x;
        }
        fa.add(&xa);
        fb.add(&xb);
        fd.add(&d);
        count(&mut pa, &la);
        count(&mut pb, &lb);
        if let Some(j) = joint.as_mut() {
            *j.entry((la.clone(), lb.clone())).or_default() += 1;
        }
    }
    let ((ma, oa), (mb, ob)) = (fa.finish(), fb.finish());
    Ok((
        SideFold { moments: ma, ones: oa, postures: pa },
        SideFold { moments: mb, ones: ob, postures: pb },
        fd.finish().0,
        joint,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fold equals the engine's: chunks of 256 in run order, merged in
    /// the fixed tree, for run counts around the chunk boundaries.
    #[test]
    fn folder_matches_chunked_tree_fold() {
        for runs in [1u64, 2, 255, 256, 257, 700, 1025] {
            let xs: Vec<f64> = (0..runs).map(|i| ((i * 7919) % 1013) as f64 / 17.0 + 0.1).collect();
            let mut f = Folder::new(1);
            xs.iter().for_each(|x| f.add(&[*x]));
            let (got, _) = f.finish();
            let mut stack = Vec::new();
            for c in 0..chunk_count(runs) {
                let mut b = MomentBlock::new(1);
                for r in crate::engine::chunk_runs(c, runs) {
                    b.add_row(&[xs[r as usize]]);
                }
                tree::push(&mut stack, c, b);
            }
            let want = tree::root(stack, chunk_count(runs), 1).unwrap();
            assert_eq!(got, want, "runs = {runs}");
        }
    }
}
