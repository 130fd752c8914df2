//! Edits are byte ranges of the original text and their replacements, never a half-edited buffer.
//!
//! Every patch describes its work as edits against the text it read; [`apply_edits`] applies a set
//! of them at once and refuses overlaps, so two patches can never silently edit the same bytes.

use std::ops::Range;

/// Replace `range` of the original text with `replacement` (an insert when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit { range: at..at, replacement: text.into() }
    }

    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Edit {
        Edit { range, replacement: text.into() }
    }

    pub fn delete(range: Range<usize>) -> Edit {
        Edit { range, replacement: String::new() }
    }

    /// Whether two edits touch the same bytes. Two inserts at one offset overlap too: their order
    /// would be a guess.
    pub fn overlaps(&self, other: &Edit) -> bool {
        let (a, b) = (&self.range, &other.range);
        if a.is_empty() && b.is_empty() {
            return a.start == b.start;
        }
        if a.is_empty() {
            return b.start < a.start && a.start < b.end;
        }
        if b.is_empty() {
            return a.start < b.start && b.start < a.end;
        }
        a.start < b.end && b.start < a.end
    }
}

/// Two edits that cannot both be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("edits overlap at bytes {first:?} and {second:?}")]
pub struct OverlapError {
    pub first: Range<usize>,
    pub second: Range<usize>,
}

/// Applies `edits` to `text`. Edits may come in any order; overlapping ones are an error.
/// An edit whose range is out of bounds or not on a character boundary panics: that is a bug
/// in the patch that made it, not bad input.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, OverlapError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.range.start, edit.range.end));
    for pair in sorted.windows(2) {
        if pair[0].overlaps(pair[1]) {
            return Err(OverlapError { first: pair[0].range.clone(), second: pair[1].range.clone() });
        }
    }
    let mut out = String::with_capacity(text.len() + sorted.iter().map(|e| e.replacement.len()).sum::<usize>());
    let mut cursor = 0;
    for edit in sorted {
        out.push_str(&text[cursor..edit.range.start]);
        out.push_str(&edit.replacement);
        cursor = edit.range.end;
    }
    out.push_str(&text[cursor..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_in_any_order() {
        let text = "workers = 3\nworker_class = 'sync'\n";
        let edits = [Edit::replace(28..32, "gthread"), Edit::replace(10..11, "5"), Edit::insert(34, "threads = 4\n")];
        assert_eq!(apply_edits(text, &edits).unwrap(), "workers = 5\nworker_class = 'gthread'\nthreads = 4\n");
    }

    #[test]
    fn rejects_overlaps() {
        let text = "abcdef";
        assert!(apply_edits(text, &[Edit::replace(1..4, "x"), Edit::replace(3..5, "y")]).is_err());
        assert!(apply_edits(text, &[Edit::insert(2, "x"), Edit::insert(2, "y")]).is_err());
        assert!(apply_edits(text, &[Edit::replace(1..4, "x"), Edit::insert(2, "y")]).is_err());
        assert_eq!(apply_edits(text, &[Edit::replace(1..3, "x"), Edit::insert(3, "y")]).unwrap(), "axydef");
        assert_eq!(apply_edits(text, &[Edit::delete(0..1), Edit::replace(1..2, "B")]).unwrap(), "Bcdef");
    }
}
