//! Taking one run's hunks out of a file the user edited since.
//!
//! A three-way merge (diffy) calls an edit *adjacent* to a changed line a conflict: a comment the
//! user appended after a Dockerfile's final `CMD` that the run edited would block the revert.
//! Here the run's hunks (applied -> original) are reverse-applied where the lines the run wrote
//! are still there, exactly, wherever the user's edits moved them: only an edit that touches one
//! of those lines (or lands inside a spot where the run removed lines) conflicts.

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// A run's change: lines `applied[a]` replaced `original[o]`.
struct Hunk {
    a: std::ops::Range<usize>,
    o: std::ops::Range<usize>,
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|&b| b == b'\n').collect()
}

/// The run's hunks, consecutive changes merged into one.
fn hunks(original: &[&[u8]], applied: &[&[u8]]) -> Vec<Hunk> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut last_end: Option<(usize, usize)> = None;
    for op in capture_diff_slices(Algorithm::Myers, original, applied) {
        let (o, a) = match op {
            DiffOp::Equal { .. } => {
                last_end = None;
                continue;
            }
            DiffOp::Delete { old_index, old_len, new_index } => (old_index..old_index + old_len, new_index..new_index),
            DiffOp::Insert { old_index, new_index, new_len } => (old_index..old_index, new_index..new_index + new_len),
            DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                (old_index..old_index + old_len, new_index..new_index + new_len)
            }
        };
        match (last_end, hunks.last_mut()) {
            (Some(_), Some(hunk)) => {
                hunk.o.end = o.end;
                hunk.a.end = a.end;
            }
            _ => hunks.push(Hunk { a: a.clone(), o: o.clone() }),
        }
        last_end = Some((o.end, a.end));
    }
    hunks
}

/// For each line of `applied`, where it is in `current` (`None`: the user changed or removed it).
fn line_map(applied: &[&[u8]], current: &[&[u8]]) -> Vec<Option<usize>> {
    let mut map = vec![None; applied.len()];
    for op in capture_diff_slices(Algorithm::Myers, applied, current) {
        if let DiffOp::Equal { old_index, new_index, len } = op {
            for offset in 0..len {
                map[old_index + offset] = Some(new_index + offset);
            }
        }
    }
    map
}

/// `current` with the run's hunks taken out, or `None` when a user edit touches one of them.
pub fn take_out_run(applied: &[u8], current: &[u8], original: &[u8]) -> Option<Vec<u8>> {
    let (applied, current, original) = (lines(applied), lines(current), lines(original));
    let map = line_map(&applied, &current);
    // (range of `current` to replace, lines of `original` to put there)
    let mut replacements: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
    for hunk in hunks(&original, &applied) {
        let at = if hunk.a.is_empty() {
            // The run removed lines: they go back before the line that followed them.
            let anchor = match (hunk.a.start.checked_sub(1).map(|i| map[i]), map.get(hunk.a.start).copied()) {
                (Some(Some(before)), Some(Some(after))) if after == before + 1 => after,
                (Some(Some(before)), None) => before + 1,
                (None, Some(Some(after))) => after,
                (None, None) if current.is_empty() => 0,
                _ => return None,
            };
            anchor..anchor
        } else {
            let first = map[hunk.a.start]?;
            for (offset, index) in hunk.a.clone().enumerate() {
                if map[index]? != first + offset {
                    return None;
                }
            }
            first..first + hunk.a.len()
        };
        if replacements.last().is_some_and(|(last, _)| last.end > at.start) {
            return None;
        }
        replacements.push((at, hunk.o));
    }
    let mut out = Vec::with_capacity(original.iter().map(|l| l.len()).sum());
    let mut next = 0;
    for (at, o) in replacements {
        current[next..at.start].iter().for_each(|line| out.extend_from_slice(line));
        original[o].iter().for_each(|line| out.extend_from_slice(line));
        next = at.end;
    }
    current[next..].iter().for_each(|line| out.extend_from_slice(line));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "FROM python\nEXPOSE 8000\nCMD [\"gunicorn\", \"--workers\", \"3\"]\n";
    const APPLIED: &str = "FROM python\nEXPOSE 8000\nCMD [\"gunicorn\", \"--workers\", \"5\"]\n";

    fn take_out(current: &str) -> Option<String> {
        take_out_run(APPLIED.as_bytes(), current.as_bytes(), ORIGINAL.as_bytes()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn adjacent_edits_are_kept() {
        let after = format!("{APPLIED}# tuned by hand\n");
        assert_eq!(take_out(&after).unwrap(), format!("{ORIGINAL}# tuned by hand\n"));
        let before = APPLIED.replace("EXPOSE 8000\n", "EXPOSE 8000\n# web\n");
        assert_eq!(take_out(&before).unwrap(), ORIGINAL.replace("EXPOSE 8000\n", "EXPOSE 8000\n# web\n"));
        assert_eq!(take_out(APPLIED).unwrap(), ORIGINAL);
    }

    #[test]
    fn overlapping_edits_conflict() {
        assert_eq!(take_out(&APPLIED.replace("\"5\"", "\"7\"")), None);
        assert_eq!(take_out("FROM python\nEXPOSE 8000\n"), None);
    }

    #[test]
    fn removed_lines_come_back_where_they_were() {
        let original = b"a\nb\nc\nd\n";
        let applied = b"a\nd\n";
        assert_eq!(take_out_run(applied, b"x\na\nd\ny\n", original).unwrap(), b"x\na\nb\nc\nd\ny\n");
        assert_eq!(take_out_run(applied, b"a\nnew\nd\n", original), None, "the user wrote where the run removed");
    }
}
