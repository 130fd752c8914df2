//! The README cannot drift: it opens with the two commands (run the sample, run every test), and
//! its patch table is the catalog's own.

use std::path::PathBuf;

fn readme_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")
}

fn readme() -> String {
    let path = readme_path();
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn opens_with_the_two_commands() {
    let readme = readme();
    let block = readme
        .split_once("```sh\n")
        .and_then(|(before, rest)| {
            assert_eq!(before, "# scalepatch\n\n", "the commands must come right after the title");
            rest.split_once("```")
        })
        .map(|(block, _)| block)
        .expect("a ```sh block after the title");
    let commands: Vec<&str> =
        block.lines().map(|line| line.split_once('#').map_or(line, |(command, _)| command).trim()).collect();
    assert_eq!(commands, ["cargo run --release -- diff fixtures/projects/wingman", "scripts/test"]);
}

#[test]
fn the_commands_it_names_exist() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(root.join("fixtures/projects/wingman/manage.py").is_file());
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    assert!(ci.lines().any(|line| line.trim() == "exec scripts/test"), ".ci/run must run the README's test command");
    use std::os::unix::fs::PermissionsExt;
    for script in ["scripts/test", ".ci/run"] {
        let mode = std::fs::metadata(root.join(script)).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{script} must be executable");
    }
}

/// `UPDATE_EXPECT=1 cargo test --test readme` rewrites the table from the catalog.
#[test]
fn the_patch_table_is_the_catalog() {
    const START: &str = "<!-- catalog:start -->\n";
    const END: &str = "<!-- catalog:end -->";
    let readme = readme();
    let (before, rest) = readme.split_once(START).expect("<!-- catalog:start --> in README.md");
    let (table, after) = rest.split_once(END).expect("<!-- catalog:end --> in README.md");
    let expected = scalepatch::engine::patch::catalog_markdown(scalepatch::patches::ALL);
    if std::env::var_os("UPDATE_EXPECT").is_some() && table != expected {
        std::fs::write(readme_path(), format!("{before}{START}{expected}{END}{after}")).unwrap();
        return;
    }
    assert_eq!(
        table, expected,
        "README.md's patch table differs from the catalog: run UPDATE_EXPECT=1 cargo test --test readme"
    );
}
