//! The mergeable state of a (partial) batch, and its durable binary form.
//!
//! A [`BatchState`] is what a checkpoint and a shard directory store: the
//! merge-tree nodes of the chunks done so far, the quantile sketches, the
//! posture counts and which chunks are done. Its encoding is a small,
//! versioned little-endian format ending in a SHA-256 of everything before
//! it, so a truncated or corrupted file is detected, never half-read.

use std::ops::Range;

use sha2::{Digest, Sha256};

use super::timeline::PathCounts;
use super::tree::Node;
use crate::stats::moments::{CellMoments, MomentBlock};
use crate::stats::sketch::{AtomCount, Buckets, Frame, FrameBits, Sketch, SketchSet};

/// Version 02 added the path counts (time-resolved outcomes), version 03
/// the quantile frames (centre, scale and atoms of every cell).
const MAGIC: &[u8; 8] = b"HSIMST03";

/// State of the chunks `chunks.start..next_chunk` of a batch of `runs` runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchState {
    pub runs: u64,
    /// The chunk range this state is responsible for (a shard's share, or all).
    pub chunks: Range<u64>,
    /// First chunk not yet folded in.
    pub next_chunk: u64,
    pub stack: Vec<Node>,
    pub sketches: SketchSet,
    /// Whether the sketches have their frames from the batch's pilot (false
    /// only for a new batch before its first chunk: see [`crate::engine::pilot`]).
    pub framed: bool,
    pub postures: Vec<u64>,
    /// Posture, event and first-passage counts over time.
    pub paths: PathCounts,
}

impl BatchState {
    pub fn new(runs: u64, chunks: Range<u64>, cells: usize, postures: usize, paths: PathCounts) -> Self {
        Self {
            runs,
            next_chunk: chunks.start,
            chunks,
            stack: Vec::new(),
            sketches: SketchSet::new(cells),
            framed: false,
            postures: vec![0; postures],
            paths,
        }
    }

    /// An empty state for `model`'s batch of `runs` runs over `chunks`.
    pub fn for_model(model: &crate::model::Model, runs: u64, chunks: Range<u64>) -> Self {
        let postures = crate::model::Posture::count(model.scenario.partners.len());
        let cells = super::timeline::stats_len(model);
        Self::new(runs, chunks, cells, postures, PathCounts::for_model(model))
    }

    /// Runs folded in so far.
    pub fn runs_done(&self) -> u64 {
        self.stack.iter().map(|n| n.value.n).sum()
    }

    pub fn is_complete(&self) -> bool {
        self.next_chunk >= self.chunks.end
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::new();
        self.encode_into(&mut w);
        w
    }

    /// [`BatchState::encode`], appended to `w` (a checkpoint prefixes it
    /// with its own fields, without a second copy of the state).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let w = out;
        w.extend_from_slice(MAGIC);
        for v in [self.runs, self.chunks.start, self.chunks.end, self.next_chunk] {
            put_u64(w, v);
        }
        put_u64(w, self.postures.len() as u64);
        self.postures.iter().for_each(|&p| put_u64(w, p));
        put_u64(w, self.stack.len() as u64);
        for node in &self.stack {
            put_u64(w, u64::from(node.level));
            put_u64(w, node.index);
            put_u64(w, node.value.n);
            put_u64(w, node.value.cells.len() as u64);
            for c in &node.value.cells {
                for v in [c.mean, c.m2, c.min, c.max] {
                    put_u64(w, v.to_bits());
                }
            }
        }
        put_u64(w, u64::from(self.framed));
        put_u64(w, self.sketches.sketches.len() as u64);
        for s in &self.sketches.sketches {
            let f = s.frame();
            put_u64(w, f.centre.to_bits());
            put_u64(w, f.inv_scale.to_bits());
            put_u64(w, (u64::from(f.kept.0) << 32) | u64::from(f.kept.1));
            put_u64(w, f.atoms.len() as u64);
            for (a, c) in f.atoms.iter().zip(&s.atom_counts) {
                put_u64(w, a.to_bits());
                put_u64(w, c.equal);
                put_u64(w, c.below);
            }
            // The non-zero span, counts as LEB128 varints (most are small).
            let (offset, counts) = s.buckets.trimmed();
            put_u64(w, u64::from(offset));
            put_u64(w, counts.len() as u64);
            for &c in counts {
                put_varint(w, c);
            }
        }
        put_u64(w, self.paths.postures as u64);
        put_u64(w, self.paths.events as u64);
        for v in self.paths.vectors() {
            put_u64(w, v.len() as u64);
            v.iter().for_each(|&c| put_u64(w, c));
        }
        let digest = Sha256::digest(&w[start..]);
        w.extend_from_slice(&digest);
    }

    pub fn decode(bytes: &[u8]) -> Result<BatchState, DecodeError> {
        if bytes.len() >= MAGIC.len() && bytes[..6] == MAGIC[..6] && bytes[..MAGIC.len()] != MAGIC[..] {
            let found = String::from_utf8_lossy(&bytes[..MAGIC.len()]).into_owned();
            return Err(DecodeError(format!(
                "state format {found} was written by another version of hedgesim (this version reads {})",
                String::from_utf8_lossy(MAGIC)
            )));
        }
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(DecodeError("not a hedgesim state file (bad header)".into()));
        }
        let (body, digest) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(DecodeError("checksum mismatch: the file is truncated or corrupted".into()));
        }
        let mut r = Reader { bytes: body, pos: MAGIC.len() };
        let runs = r.u64()?;
        let chunks = r.u64()?..r.u64()?;
        let next_chunk = r.u64()?;
        let n_postures = r.len(8)?;
        let postures = (0..n_postures).map(|_| r.u64()).collect::<Result<_, _>>()?;
        let n_nodes = r.len(32)?;
        let mut stack = Vec::with_capacity(n_nodes);
        for _ in 0..n_nodes {
            let level = u32::try_from(r.u64()?).map_err(|_| DecodeError("bad node level".into()))?;
            let index = r.u64()?;
            let n = r.u64()?;
            let n_cells = r.len(32)?;
            let mut cells = Vec::with_capacity(n_cells);
            for _ in 0..n_cells {
                let mut v = [0.0; 4];
                for x in &mut v {
                    *x = f64::from_bits(r.u64()?);
                }
                cells.push(CellMoments { mean: v[0], m2: v[1], min: v[2], max: v[3] });
            }
            stack.push(Node { level, index, value: MomentBlock { n, cells } });
        }
        let framed = match r.u64()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError("bad frame flag".into())),
        };
        let n_sketches = r.len(48)?;
        let mut sketches = Vec::with_capacity(n_sketches);
        for _ in 0..n_sketches {
            let centre = f64::from_bits(r.u64()?);
            let inv_scale = f64::from_bits(r.u64()?);
            let kept = r.u64()?;
            let kept = ((kept >> 32) as u32, kept as u32);
            let n_atoms = r.len(24)?;
            let (mut atoms, mut atom_counts) = (Vec::with_capacity(n_atoms), Vec::with_capacity(n_atoms));
            for _ in 0..n_atoms {
                atoms.push(f64::from_bits(r.u64()?));
                atom_counts.push(AtomCount { equal: r.u64()?, below: r.u64()? });
            }
            let offset = u32::try_from(r.u64()?).map_err(|_| DecodeError("bad bucket offset".into()))?;
            let len = r.len(1)?;
            let counts = (0..len).map(|_| r.varint()).collect::<Result<_, _>>()?;
            let frame = FrameBits(Frame { centre, inv_scale, atoms, kept });
            sketches.push(Sketch { frame, atom_counts, buckets: Buckets { offset, counts } });
        }
        let bad = |_| DecodeError("bad path counts".into());
        let n_postures = usize::try_from(r.u64()?).map_err(bad)?;
        let n_events = usize::try_from(r.u64()?).map_err(bad)?;
        let mut vectors = [Vec::new(), Vec::new(), Vec::new()];
        for v in &mut vectors {
            let len = r.len(8)?;
            *v = (0..len).map(|_| r.u64()).collect::<Result<_, _>>()?;
        }
        let [posture_at, active_at, first_exit] = vectors;
        let paths = PathCounts { postures: n_postures, events: n_events, posture_at, active_at, first_exit };
        if r.pos != body.len() {
            return Err(DecodeError("trailing bytes".into()));
        }
        Ok(BatchState { runs, chunks, next_chunk, stack, sketches: SketchSet { sketches }, framed, postures, paths })
    }
}

impl BatchState {
    /// Check that a decoded state is the one a batch of `runs` runs over
    /// `chunks` with `cells` statistics cells and `postures` posture
    /// counts would write; a state from another scenario or shard split
    /// names the first field that differs.
    pub fn check_shape(&self, runs: u64, chunks: &Range<u64>, cells: usize, postures: usize) -> Result<(), String> {
        let differs = |what: &str, found: String, want: String| Err(format!("{what} is {found}, expected {want}"));
        if self.runs != runs {
            return differs("runs", self.runs.to_string(), runs.to_string());
        }
        if self.chunks != *chunks {
            return differs("the chunk range", format!("{:?}", self.chunks), format!("{chunks:?}"));
        }
        if self.postures.len() != postures {
            return differs("the number of postures", self.postures.len().to_string(), postures.to_string());
        }
        if self.sketches.sketches.len() != cells {
            return differs(
                "the number of quantile cells",
                self.sketches.sketches.len().to_string(),
                cells.to_string(),
            );
        }
        if let Some(node) = self.stack.iter().find(|n| n.value.cells.len() != cells) {
            return differs("the number of moment cells", node.value.cells.len().to_string(), cells.to_string());
        }
        let counted: u64 = self.postures.iter().sum();
        let expected: u64 = chunks.clone().map(|c| crate::engine::chunk_runs(c, runs).count() as u64).sum();
        if self.is_complete() && (self.runs_done() != expected || counted != expected) {
            return differs("the number of runs folded in", self.runs_done().to_string(), expected.to_string());
        }
        Ok(())
    }
}

/// Bytes per statistics cell (one metric at one step) that a batch holds
/// once: its quantile sketch (`u32` counts over the buckets its frame
/// keeps), the pilot's 256 values while the frames are drawn, and its
/// share of the result tables. Measured on the baseline with a 2100
/// horizon (27,810 cells, 1 thread, 512 runs: 315 MB peak, about 11.3 KB a
/// cell with one thread's tallies), rounded up to keep the estimate an
/// upper bound (docs/performance.md, memory model).
pub const STATE_BYTES_PER_CELL: u64 = 10240;
/// Bytes per cell and worker thread: the worker's quantile tallies (one
/// byte per kept bucket) and the moment blocks of the chunks in flight
/// (measured 1.7 KB: 1 against 2 threads, baseline, 20,000 runs).
pub const THREAD_BYTES_PER_CELL: u64 = 2048;
/// Bytes per cell of one node of the merge tree (four `f64`).
pub const NODE_BYTES_PER_CELL: u64 = 32;
/// Memory limit when the machine's memory is unknown.
pub const FALLBACK_MEMORY_LIMIT: u64 = 8 << 30;

/// Estimated peak memory in bytes of a batch over `cells` statistics cells
/// (steps + 1 times metrics) with `threads` workers and `chunks` chunks:
/// the state, the tallies of every worker and at most log2(chunks) + 1
/// tree nodes. See docs/performance.md (memory model).
pub fn memory_estimate(cells: usize, threads: usize, chunks: u64) -> u64 {
    let depth = u64::from(64 - chunks.leading_zeros()) + 1;
    let per_cell = STATE_BYTES_PER_CELL
        .saturating_add(THREAD_BYTES_PER_CELL.saturating_mul(threads as u64))
        .saturating_add(NODE_BYTES_PER_CELL * depth);
    (cells as u64).saturating_mul(per_cell)
}

/// The memory a batch may use: three quarters of this machine's memory
/// (`MemTotal` of `/proc/meminfo`), or [`FALLBACK_MEMORY_LIMIT`].
pub fn memory_limit() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total(&text))
        .map_or(FALLBACK_MEMORY_LIMIT, |b| b / 4 * 3)
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Refuse a batch whose [`memory_estimate`] exceeds `limit`, with the
/// figures and what to change.
pub fn check_memory(steps: usize, metrics: usize, threads: usize, chunks: u64, limit: u64) -> Result<(), String> {
    let cells = (steps + 1).saturating_mul(metrics);
    let need = memory_estimate(cells, threads, chunks);
    if need <= limit {
        return Ok(());
    }
    let gb = |b: u64| b as f64 / f64::from(1u32 << 30);
    Err(format!(
        "the run would need about {:.1} GB of memory ({steps} steps x {metrics} metrics = {cells} statistics cells, \
         about {} bytes each with {threads} thread(s)), above the limit of {:.1} GB (3/4 of this machine's memory); \
         use an earlier horizon or fewer steps_per_year (memory grows with the number of steps), or fewer --threads",
        gb(need),
        need / cells.max(1) as u64,
        gb(limit)
    ))
}

/// A state file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
}

/// `v` in LEB128: seven bits a byte, low first, the high bit set on every
/// byte but the last.
fn put_varint(w: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        w.push((v as u8) | 0x80);
        v >>= 7;
    }
    w.push(v as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let end = self
            .pos
            .checked_add(N)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| DecodeError("unexpected end of file".into()))?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
        Ok(out)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    /// A LEB128 `u32` (see [`put_varint`]); at most five bytes.
    fn varint(&mut self) -> Result<u32, DecodeError> {
        let mut v: u64 = 0;
        for shift in (0..35).step_by(7) {
            let [byte] = self.take::<1>()?;
            v |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return u32::try_from(v).map_err(|_| DecodeError("bad count".into()));
            }
        }
        Err(DecodeError("bad count".into()))
    }
    /// A length whose items take at least `item_bytes` each: bounded by the rest of the file.
    fn len(&mut self, item_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.pos) / item_bytes.max(1);
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| DecodeError("length field exceeds the file".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_corruption() {
        let mut s = BatchState::new(1000, 2..4, 3, 5, PathCounts::new(2, 3, 5, 1));
        let mut block = MomentBlock::new(3);
        block.add_row(&[1.0, -2.5, 0.0]);
        s.stack.push(Node { level: 1, index: 1, value: block });
        s.sketches = SketchSet::with_frames(vec![
            Frame::from_pilot(&[1.0, 1.0, 2.0], false),
            Frame::default(),
            Frame::from_pilot(&[0.0, 3.0], true),
        ]);
        s.framed = true;
        s.sketches.add_row(&[1.0, -2.5, 0.0]);
        s.postures[2] = 7;
        s.paths.first_exit[7] = 3;
        s.paths.active_at[1] = 9;
        s.next_chunk = 4;
        let bytes = s.encode();
        assert_eq!(BatchState::decode(&bytes).unwrap(), s);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        assert!(BatchState::decode(&bad).is_err());
        assert!(BatchState::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut older = bytes.clone();
        older[..8].copy_from_slice(b"HSIMST02");
        let e = BatchState::decode(&older).unwrap_err().0;
        assert!(e.contains("HSIMST02") && e.contains("another version"), "{e}");
    }

    #[test]
    fn shape_is_checked_field_by_field() {
        let s = BatchState::new(1000, 2..4, 3, 5, crate::engine::timeline::PathCounts::new(1, 1, 5, 0));
        assert_eq!(s.check_shape(1000, &(2..4), 3, 5), Ok(()));
        assert!(s.check_shape(999, &(2..4), 3, 5).unwrap_err().starts_with("runs is 1000, expected 999"));
        assert!(s.check_shape(1000, &(0..4), 3, 5).unwrap_err().contains("chunk range"));
        assert!(s.check_shape(1000, &(2..4), 4, 5).unwrap_err().contains("quantile cells"));
        assert!(s.check_shape(1000, &(2..4), 3, 6).unwrap_err().contains("postures"));
    }

    #[test]
    fn memory_is_estimated_and_bounded() {
        // 3325 steps x 90 metrics, 1 thread, 2 chunks: about 12.4 KB a cell.
        let est = memory_estimate(3325 * 90, 1, 2);
        assert!((3.5e9..3.9e9).contains(&(est as f64)), "{est}");
        assert!(memory_estimate(1000, 2, 1) > memory_estimate(1000, 1, 1));
        assert_eq!(memory_estimate(usize::MAX, 10_000, u64::MAX), u64::MAX);
        assert_eq!(check_memory(68, 90, 2, 4, 8 << 30), Ok(()));
        let far = check_memory(8999 * 365, 90, 2, 4, 8 << 30).unwrap_err();
        assert!(far.contains("GB of memory") && far.contains("steps_per_year"), "{far}");
        assert_eq!(mem_total("MemTotal:       24684092 kB\nMemFree: 1 kB\n"), Some(24684092 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }
}
