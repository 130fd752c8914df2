//! Text primitives every layer shares: byte-range edits that refuse overlaps, and source files
//! that remember their BOM, line ends and indentation.

pub mod edit;
pub mod location;
pub mod source;
pub mod update;
