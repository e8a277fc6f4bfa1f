//! The fixed merge tree that makes floating-point statistics independent of
//! threads and machines.
//!
//! Chunk `i` of a batch is leaf `i` of a binary tree over the chunk indices;
//! node `(level, index)` covers chunks `[index * 2^level, (index + 1) * 2^level)`
//! and its value is always `merge(left child, right child)`, with chunks
//! past the end of the batch empty (an exact identity). The value of the root
//! therefore depends only on the chunks, never on the order in which they
//! finished or on which machine computed which range.
//!
//! A worker that sees the chunks of a contiguous range in order keeps a
//! stack of completed nodes (like a binary counter): at most one node per
//! level, so O(log chunks) memory. A shard's stack, saved to disk, holds
//! exactly the canonical nodes of its range; [`root`] combines the stacks of
//! all shards (or of one machine) into the same root.

use std::collections::BTreeMap;

use crate::stats::moments::MomentBlock;

/// A node of the merge tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub level: u32,
    pub index: u64,
    pub value: MomentBlock,
}

/// Push the next leaf (chunk) of a contiguous range onto the stack,
/// combining completed sibling pairs.
pub fn push(stack: &mut Vec<Node>, chunk: u64, value: MomentBlock) {
    let mut node = Node { level: 0, index: chunk, value };
    while let Some(top) = stack.last() {
        if top.level == node.level && top.index % 2 == 0 && top.index + 1 == node.index {
            let mut left = stack.pop().expect("stack top exists");
            left.value.absorb(&node.value);
            node = Node { level: node.level + 1, index: left.index / 2, value: left.value };
        } else {
            break;
        }
    }
    stack.push(node);
}

/// A chunk missing from the nodes given to [`root`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chunk {0} is covered by no node")]
pub struct MissingChunk(pub u64);

/// The root of the tree over `chunks` chunks from canonical nodes that
/// together cover every chunk.
pub fn root(nodes: Vec<Node>, chunks: u64, cells: usize) -> Result<MomentBlock, MissingChunk> {
    let mut stored: BTreeMap<(u32, u64), MomentBlock> =
        nodes.into_iter().map(|n| ((n.level, n.index), n.value)).collect();
    let mut height = 0u32;
    while (1u64 << height) < chunks {
        height += 1;
    }
    value(&mut stored, height, 0, chunks, cells)
}

fn value(
    stored: &mut BTreeMap<(u32, u64), MomentBlock>,
    level: u32,
    index: u64,
    chunks: u64,
    cells: usize,
) -> Result<MomentBlock, MissingChunk> {
    if let Some(v) = stored.remove(&(level, index)) {
        return Ok(v);
    }
    let first = index << level;
    if first >= chunks {
        return Ok(MomentBlock::new(cells));
    }
    if level == 0 {
        return Err(MissingChunk(index));
    }
    let mut left = value(stored, level - 1, 2 * index, chunks, cells)?;
    let right = value(stored, level - 1, 2 * index + 1, chunks, cells)?;
    left.absorb(&right);
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(i: u64) -> MomentBlock {
        let mut b = MomentBlock::new(1);
        for r in 0..3 {
            b.add_row(&[(i * 3 + r) as f64 * 0.1 + 1e3 / (i as f64 + 1.0)]);
        }
        b
    }

    fn stack_of(range: std::ops::Range<u64>) -> Vec<Node> {
        let mut stack = Vec::new();
        for i in range {
            push(&mut stack, i, leaf(i));
        }
        stack
    }

    #[test]
    fn any_split_gives_the_same_root_bits() {
        for chunks in [1u64, 2, 3, 5, 8, 13, 100] {
            let whole = root(stack_of(0..chunks), chunks, 1).unwrap();
            for parts in 1..=chunks.min(7) {
                let mut nodes = Vec::new();
                for k in 0..parts {
                    nodes.extend(stack_of(k * chunks / parts..(k + 1) * chunks / parts));
                }
                let merged = root(nodes, chunks, 1).unwrap();
                assert_eq!(merged.cells[0].mean.to_bits(), whole.cells[0].mean.to_bits());
                assert_eq!(merged.cells[0].m2.to_bits(), whole.cells[0].m2.to_bits());
                assert_eq!(merged.n, chunks * 3);
            }
        }
    }

    #[test]
    fn stack_stays_logarithmic_and_gaps_are_reported() {
        assert!(stack_of(0..1000).len() <= 10);
        let mut nodes = stack_of(0..4);
        nodes.extend(stack_of(5..9));
        assert_eq!(root(nodes, 9, 1), Err(MissingChunk(4)));
    }
}
