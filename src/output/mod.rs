//! Result files: each format is a pure function from results to bytes, and
//! [`atomic`] is the one place that touches the file system.

pub mod atomic;
pub mod manifest;
pub mod report;
pub mod tables;
