//! scalepatch's Python syntax check against the real `compile()` of the venv's CPython.
//!
//! scalepatch refuses to edit or write Python that CPython refuses; tree-sitter alone accepts some
//! of it (`x = 05`, U+FEFF inside code, `x = 1 y = 2`). A corpus of tricky inputs, valid
//! look-alikes and every `.py` file under fixtures/ is written to a temp folder and compiled by one
//! Python process; scalepatch must agree on accept/reject for every input, and on the line for
//! every reject, so that the checker and CPython cannot drift apart. The venv runs 3.11, and the
//! rule is to refuse only what every CPython from 3.8 to 3.13 refuses: the few inputs valid only
//! since 3.12 (PEP 701 f-strings) are listed apart, where 3.11 must refuse them and scalepatch
//! accept them.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use scalepatch::lang::python;
use scalepatch::text::source::SourceFile;

/// Compiles every file named on the command line; prints `{path: null | lineno}` as JSON (null:
/// accepted). Warnings (invalid escapes, `1if`) are not errors, as when Django imports the file.
const COMPILE_ALL: &str = r#"
import json, sys, warnings
warnings.simplefilter("ignore")
result = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        source = f.read()
    try:
        compile(source, path, "exec", dont_inherit=True)
        result[path] = None
    except SyntaxError as err:
        result[path] = err.lineno or 0
print(json.dumps(result))
"#;

/// Inputs tree-sitter is lenient about, and valid look-alikes that must stay accepted.
fn corpus() -> Vec<(&'static str, String)> {
    let cases: &[(&str, &str)] = &[
        // Numbers.
        ("leading zero", "DEBUG = True\nx = 05\n"),
        ("leading zeros", "x = 0007\n"),
        ("zero", "x = 0\n"),
        ("zeros", "x = 00\n"),
        ("octal", "x = 0o5\n"),
        ("zero underscore zero", "x = 0_0\n"),
        ("zero underscore one", "x = 0_1\n"),
        ("half", "x = 0.5\n"),
        ("leading zero float", "x = 05.5\n"),
        ("leading zero float 9", "x = 09.1\n"),
        ("zero exponent", "x = 0e1\n"),
        ("zero imaginary", "x = 0j\n"),
        ("leading zero imaginary", "x = 07j\n"),
        ("underscores", "x = 1_000\n"),
        ("double underscore", "x = 1__000\n"),
        ("trailing underscore", "x = 1_\n"),
        ("letters after number", "x = 1abc\n"),
        ("keyword after number", "x = 1if True else 2\n"),
        ("empty hex", "x = 0x\n"),
        ("bad octal digit", "x = 0o8\n"),
        ("bad binary digit", "x = 0b102\n"),
        ("hex", "x = 0xdead_beef\n"),
        ("bad exponent", "x = 1e+\n"),
        ("dot number", "x = .5 + 1.\n"),
        ("method on float", "x = 1.__class__\n"),
        // Strings.
        ("unterminated string", "x = \"abc\n"),
        ("unterminated string later", "a = 1\nb = 2\nx = 'abc\ny = 3\n"),
        ("unterminated triple", "a = 1\nx = '''abc\n\ny = 3\n"),
        ("triple over lines", "x = '''a\n  b\n'''\ny = \"\"\"\"q\"\"\"\n"),
        ("escaped quote", "x = 'it\\'s'\ny = r'\\''\n"),
        ("string continued by backslash", "x = 'abc\\\ndef'\n"),
        ("feff in string", "x = '\u{feff}'\ny = \"a\u{feff}b\"\n"),
        ("invalid escape is a warning", "x = '\\d+'\n"),
        ("bad prefix", "x = ub'x'\n"),
        ("bytes prefix", "x = Rb'x' + BR\"y\" + u'z'\n"),
        // Characters.
        ("feff in code", "x = 1\ny = \u{feff}2\n"),
        ("feff after code", "x = 1\u{feff}\n"),
        ("bom at byte 0", "\u{feff}x = 1\n"),
        ("zero width space", "x = 1\u{200b}\n"),
        ("word joiner", "x\u{2060} = 1\n"),
        ("non-breaking space", "x =\u{a0}1\n"),
        ("control character", "x = 1\ny = \x01\n"),
        ("control character in comment", "x = 1  # \x01\n"),
        ("unicode name", "café = 1\nπ = 3.14\n"),
        ("emoji name", "x😀 = 1\n"),
        // Statements.
        ("two statements", "x = 1 y = 2\n"),
        ("two statements later", "import os\n\nA = 1\nB = {'a': 1} C = 2\n"),
        ("semicolon", "x = 1; y = 2\n"),
        ("semicolon and comment", "x = 1;  # c\ny = 2\n"),
        ("continuation", "x = 1 + \\\n    2\nif x and \\\n   x:\n    pass\n"),
        ("statement after continuation", "x = 1 \\\ny = 2\n"),
        ("print statement", "print \"x\"\n"),
        ("print call", "print(\"x\")\nprint\n"),
        ("exec statement", "exec \"x = 1\"\n"),
        ("exec call", "exec(\"x = 1\")\n"),
        ("backslash then text", "x = 1 \\ y\n"),
        ("one-line if", "if True: x = 1; y = 2\n"),
        // Brackets.
        ("unmatched closer", "x = 1\ny = 2)\n"),
        ("wrong closer", "x = [1, 2)\n"),
        ("unclosed", "x = (1,\ny = 2\n"),
        ("brackets over lines", "x = (\n  1,\n      2,\n)\n"),
        // Indentation.
        ("tab error", "if True:\n        x = 1\n\ty = 2\n"),
        ("tab then spaces", "if True:\n\tx = 1\n        y = 2\n"),
        ("consistent tabs", "if True:\n\tx = 1\n\tif x:\n\t\ty = 2\n"),
        ("spaces after tab", "if True:\n\t x = 1\n\t y = 2\n"),
        ("bad dedent", "if True:\n    x = 1\n  y = 2\n"),
        ("comment at odd indent", "if True:\n    x = 1\n  # c\n\ty = 2\n"),
        // f-strings: what every Python refuses (the PEP 701 forms 3.12 accepts are apart, below).
        ("fstring open brace", "x = f\"{\"\n"),
        ("fstring nested other quote", "x = f\"{'a'}\"\n"),
        ("fstring escaped braces", "x = f'{{}}' + f'{{{x}}}'\n"),
        ("fstring single closer", "x = f'a}b'\n"),
        ("fstring empty", "x = f'{}'\n"),
        ("fstring blank", "x = f'{ }'\n"),
        ("fstring hash", "x = f'{a#}'\n"),
        ("fstring named escape", "x = f'\\N{EM DASH} {x}'\n"),
        ("fstring nested spec", "x = f'{a:{w}.{p}f}'\n"),
        ("fstring spec nested four deep", "x = f'{a:{b:{c:{d}}}}'\n"),
        ("fstring same quote unclosed", "x = f\"{\"a\"\n"),
        ("fstring same quote then empty", "x = f\"{\"a\"}{}\"\n"),
        ("fstring same quote then single closer", "x = f\"{\"a\"} }\"\n"),
        ("fstring same quote bad conversion", "x = f\"{\"a\"!x}\"\n"),
        ("fstring same quote bad number", "x = f\"{\"a\" + 05}\"\n"),
        ("fstring comment on one line", "x = f\"{\"a\" # c}\"\n"),
        ("fstring conversion and spec", "x = f'{a!r:>{w}} {b=} {c!s} {d:%Y-%m-%d}'\n"),
        ("fstring bad conversion", "x = f'{a!x}'\n"),
        ("fstring not equal", "x = f'{a!=b}'\n"),
        ("fstring dict in expression", "x = f'{ {\"a\": 1}[\"a\"] }'\n"),
        ("fstring triple", "x = f'''{\n  a\n}'''\n"),
        // Errors combined: CPython's order.
        ("parser error then bad number", "x = = 1\ny = 05\n"),
        ("tab error then bad number", "if True:\n        x = 1\n\ty = 05\n"),
        ("parser error then tab error", "x = = 1\nif True:\n        x = 1\n\ty = 2\n"),
        ("two statements then bad string", "x = 1 y = 2\nz = 'abc\n"),
        ("fstring then bad number", "x = f'{'\ny = 05\n"),
    ];
    cases.iter().map(|(name, text)| (*name, (*text).to_owned())).collect()
}

/// Valid since 3.12 (PEP 701): accepted deliberately. scalepatch refuses only what every CPython
/// from 3.8 to 3.13 refuses; these f-strings are refused by 3.8 to 3.11 (the venv's 3.11 must
/// refuse each one, which keeps this list honest) and accepted by 3.12 and later.
fn valid_since_312() -> Vec<(&'static str, String)> {
    let cases: &[(&str, &str)] = &[
        ("fstring nested same quote", "x = f\"{\"a\"}\"\n"),
        ("fstring same quote on a later line", "a = 1\nb = 2\nx = f\"{\"a\"}\"\n"),
        ("fstring backslash in a string in the expression", "x = f\"{'\\n'.join(y)}\"\n"),
        ("fstring backslash, other quotes", "x = f'{\"\\n\".join(y)}'\n"),
        ("fstring nested same-quote fstrings", "x = f\"{f\"{f\"{x}\"}\"}\"\n"),
        ("fstring comment in a multi-line expression", "x = f\"{\", \".join([\n    'a',  # first\n    'b',\n])}\"\n"),
        ("fstring comment in a triple-quoted expression", "x = f'''{\n    a  # the value\n}'''\n"),
        ("fstring multi-line expression, single quotes", "x = f'{a +\n   b}'\n"),
        ("fstring same quote with conversion and spec", "x = f\"{\"a\"!r:>{\"w\"}}\"\n"),
        ("fstring spec nested three deep", "x = f'{a:{b:{c}}}'\n"),
        ("django-style join", "MSG = f\"Allowed: {\", \".join(ALLOWED_HOSTS)}\"\n"),
    ];
    cases.iter().map(|(name, text)| (*name, (*text).to_owned())).collect()
}

/// Every UTF-8 `.py` file under fixtures/ (settings, templates, broken cases): real-world shapes.
/// A file that is not UTF-8 is refused before any syntax check, so it has no place here.
fn fixture_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            fixture_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "py")
            && std::str::from_utf8(&std::fs::read(&path).unwrap()).is_ok()
        {
            found.push(path);
        }
    }
}

/// scalepatch's verdict on one input: `None` when accepted, else the line it names.
fn scalepatch_verdict(path: &Path, bytes: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(bytes).expect("the corpus is UTF-8");
    python::parse(Arc::new(SourceFile::from_text(path, text))).err().map(|err| err.location.line)
}

#[test]
fn the_checker_agrees_with_cpythons_compile() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs: Vec<(String, PathBuf)> = Vec::new();
    for (index, (name, text)) in corpus().into_iter().enumerate() {
        let path = tmp.path().join(format!("case{index:03}.py"));
        std::fs::write(&path, text).unwrap();
        inputs.push((name.to_owned(), path));
    }
    let mut deliberate: Vec<(String, PathBuf)> = Vec::new();
    for (index, (name, text)) in valid_since_312().into_iter().enumerate() {
        let path = tmp.path().join(format!("pep701_{index:03}.py"));
        std::fs::write(&path, text).unwrap();
        deliberate.push((name.to_owned(), path));
    }
    let mut fixtures = Vec::new();
    fixture_files(&common::repo_root().join("fixtures"), &mut fixtures);
    fixtures.sort();
    inputs.extend(fixtures.into_iter().map(|path| (path.display().to_string(), path)));

    let output = Command::new(common::tools::python())
        .args(["-c", COMPILE_ALL])
        .args(inputs.iter().chain(&deliberate).map(|(_, path)| path))
        .output()
        .expect("the venv's python runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let cpython: BTreeMap<String, Option<usize>> = serde_json::from_slice(&output.stdout).unwrap();

    let mut disagreements = Vec::new();
    for (name, path) in &inputs {
        let expected = cpython[&path.display().to_string()];
        let got = scalepatch_verdict(path, &std::fs::read(path).unwrap());
        if got != expected {
            let verdict = |v: Option<usize>| v.map_or("accepted".to_owned(), |line| format!("rejected at line {line}"));
            disagreements.push(format!("{name}: CPython {}, scalepatch {}", verdict(expected), verdict(got)));
        }
    }
    let agree = inputs.len() - disagreements.len();
    // Valid since 3.12 (PEP 701): accepted deliberately, and refused by the venv's 3.11.
    for (name, path) in &deliberate {
        if cpython[&path.display().to_string()].is_none() {
            disagreements.push(format!("{name}: listed as valid since 3.12, but CPython 3.11 accepts it"));
        }
        if let Some(line) = scalepatch_verdict(path, &std::fs::read(path).unwrap()) {
            disagreements.push(format!("{name}: valid since 3.12, but scalepatch rejected it at line {line}"));
        }
    }
    eprintln!(
        "{agree} of {} inputs agree with CPython 3.11's compile(); {} more accepted deliberately (valid since 3.12, PEP 701)",
        inputs.len(),
        deliberate.len()
    );
    assert!(disagreements.is_empty(), "disagreements with CPython:\n{}", disagreements.join("\n"));
}
