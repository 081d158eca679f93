//! What the command line shows: `invreqd keys …` and the bootstrap admin key at first start.

pub mod bootstrap;
pub mod keys;
