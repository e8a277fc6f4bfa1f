//! Streaming, mergeable statistics whose memory does not grow with the
//! number of runs: moments ([`moments`]) and quantile sketches ([`sketch`]),
//! and their reduction to the columns of `summary.csv` ([`summary`]).

pub mod moments;
pub mod sketch;
pub mod summary;
