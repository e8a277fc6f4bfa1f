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
use crate::stats::sketch::{Buckets, Sketch, SketchSet};

/// Version 02 added the path counts (time-resolved outcomes).
const MAGIC: &[u8; 8] = b"HSIMST02";

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
        let mut w = Vec::with_capacity(1 << 20);
        w.extend_from_slice(MAGIC);
        for v in [self.runs, self.chunks.start, self.chunks.end, self.next_chunk] {
            put_u64(&mut w, v);
        }
        put_u64(&mut w, self.postures.len() as u64);
        self.postures.iter().for_each(|&p| put_u64(&mut w, p));
        put_u64(&mut w, self.stack.len() as u64);
        for node in &self.stack {
            put_u64(&mut w, u64::from(node.level));
            put_u64(&mut w, node.index);
            put_u64(&mut w, node.value.n);
            put_u64(&mut w, node.value.cells.len() as u64);
            for c in &node.value.cells {
                for v in [c.mean, c.m2, c.min, c.max] {
                    put_u64(&mut w, v.to_bits());
                }
            }
        }
        put_u64(&mut w, self.sketches.sketches.len() as u64);
        for s in &self.sketches.sketches {
            put_u64(&mut w, s.zeros);
            for b in [&s.positive, &s.negative] {
                put_u64(&mut w, u64::from(b.offset));
                put_u64(&mut w, b.counts.len() as u64);
                for &c in &b.counts {
                    w.extend_from_slice(&c.to_le_bytes());
                }
            }
        }
        put_u64(&mut w, self.paths.postures as u64);
        put_u64(&mut w, self.paths.events as u64);
        for v in self.paths.vectors() {
            put_u64(&mut w, v.len() as u64);
            v.iter().for_each(|&c| put_u64(&mut w, c));
        }
        let digest = Sha256::digest(&w);
        w.extend_from_slice(&digest);
        w
    }

    pub fn decode(bytes: &[u8]) -> Result<BatchState, DecodeError> {
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
        let n_sketches = r.len(8)?;
        let mut sketches = Vec::with_capacity(n_sketches);
        for _ in 0..n_sketches {
            let zeros = r.u64()?;
            let mut sides = [Buckets::default(), Buckets::default()];
            for side in &mut sides {
                side.offset = u32::try_from(r.u64()?).map_err(|_| DecodeError("bad bucket offset".into()))?;
                let len = r.len(4)?;
                side.counts = (0..len).map(|_| r.u32()).collect::<Result<_, _>>()?;
            }
            let [positive, negative] = sides;
            sketches.push(Sketch { zeros, positive, negative });
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
        Ok(BatchState { runs, chunks, next_chunk, stack, sketches: SketchSet { sketches }, postures, paths })
    }
}

/// A state file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn put_u64(w: &mut Vec<u8>, v: u64) {
    w.extend_from_slice(&v.to_le_bytes());
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
    fn u32(&mut self) -> Result<u32, DecodeError> {
        self.take::<4>().map(u32::from_le_bytes)
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
    }
}
