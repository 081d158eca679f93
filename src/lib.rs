pub mod bolt12;
