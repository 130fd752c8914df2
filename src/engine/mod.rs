//! The engine: the patch contract, planning (outcomes, collisions, after-texts) and review.
//! It knows patches only through [`patch::Patch`]; what a patch decides lives in `patches/`.

pub mod outcome;
pub mod patch;
pub mod plan;
pub mod review;
pub mod selfcheck;
pub mod verify;
