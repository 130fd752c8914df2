//! tree-sitter's description of a set of edits, so that a tree can be re-parsed incrementally
//! (see [`super::check_edited`]).

use tree_sitter::{InputEdit, Point};

use crate::text::edit::Edit;

/// The `InputEdit`s that turn a tree of `text` into one of `text` with `edits` applied (edits
/// that do not overlap, in any order), to be given to `Tree::edit` in the order returned: from
/// the last edit to the first, so each one's offsets in `text` are still right when it is given.
pub fn input_edits(text: &str, edits: &[Edit]) -> Vec<InputEdit> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| std::cmp::Reverse((edit.range.start, edit.range.end)));
    sorted
        .into_iter()
        .map(|edit| {
            let start_position = point(text, edit.range.start);
            InputEdit {
                start_byte: edit.range.start,
                old_end_byte: edit.range.end,
                new_end_byte: edit.range.start + edit.replacement.len(),
                start_position,
                old_end_position: point(text, edit.range.end),
                new_end_position: advance(start_position, &edit.replacement),
            }
        })
        .collect()
}

/// The row and byte column of `offset` in `text`.
fn point(text: &str, offset: usize) -> Point {
    advance(Point { row: 0, column: 0 }, &text[..offset])
}

/// Where `start` ends up after `inserted`.
fn advance(start: Point, inserted: &str) -> Point {
    let newlines = memchr::memchr_iter(b'\n', inserted.as_bytes()).count();
    match memchr::memrchr(b'\n', inserted.as_bytes()) {
        Some(last) => Point { row: start.row + newlines, column: inserted.len() - last - 1 },
        None => Point { row: start.row, column: start.column + inserted.len() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::edit::apply_edits;

    fn parse(text: &str, old: Option<&tree_sitter::Tree>) -> tree_sitter::Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).unwrap();
        parser.parse(text, old).unwrap()
    }

    #[test]
    fn incremental_parse_gives_the_full_parse() {
        let text = "class A(models.Model):\n    x = 1\n\n    class Meta:\n        ordering = ['x']\n\ny = 2\n";
        let at = text.find("        ordering").unwrap();
        let edits = [
            Edit::insert(
                at,
                "        indexes = [\n            models.Index(fields=['x'], name='a_x_idx'),\n        ]\n",
            ),
            Edit::replace(text.find("y = 2").unwrap()..text.len() - 1, "y = (\n    3\n)"),
            Edit::insert(0, "from django.db import models\n"),
        ];
        let after = apply_edits(text, &edits).unwrap();
        let mut tree = parse(text, None);
        for edit in input_edits(text, &edits) {
            tree.edit(&edit);
        }
        let incremental = parse(&after, Some(&tree));
        assert_eq!(incremental.root_node().to_sexp(), parse(&after, None).root_node().to_sexp());
        assert!(!incremental.root_node().has_error());
    }

    #[test]
    fn points_count_rows_and_byte_columns() {
        assert_eq!(point("ab\ncdé\nx", 7), Point { row: 1, column: 4 });
        assert_eq!(advance(Point { row: 2, column: 3 }, "xy"), Point { row: 2, column: 5 });
        assert_eq!(advance(Point { row: 2, column: 3 }, "x\nyz\n"), Point { row: 4, column: 0 });
    }
}
