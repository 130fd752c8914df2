//! The output contract: `--format json` of `list`, `diff`, `apply --yes` and `status` validated
//! against docs/schema/scalepatch.schema.json, `--format sarif` against
//! docs/schema/sarif-2.1.0-subset.schema.json (the SARIF 2.1.0 specification's requirements for
//! what scalepatch writes; OASIS's own schema is not vendored, its license being the OASIS IPR
//! policy), both by Python's `jsonschema` (tests/requirements.txt); GitHub annotations, stable ids,
//! line numbers, `--quiet` and the summary line every run ends with.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn scalepatch(root: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalepatch"))
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .output()
        .unwrap()
}

fn wingman() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), tmp.path());
    tmp
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Validates `document` against `schema` with Python's jsonschema (formats checked too).
fn validate(schema: &str, document: &[u8], label: &str) {
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        cls = jsonschema.validators.validator_for(schema)\n\
        cls.check_schema(schema)\n\
        errors = sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(json.load(sys.stdin)), key=str)\n\
        for e in errors[:5]: print(list(e.absolute_path), e.message[:300])\n\
        sys.exit(1 if errors else 0)\n";
    let mut child = Command::new(common::tools::python())
        .args(["-c", script])
        .arg(common::repo_root().join("docs/schema").join(schema))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), document).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{label}: not valid against {schema}:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn json_of_every_command_follows_the_documented_schema() {
    let project = wingman();
    let root = project.path();
    for args in [&["list", "--format", "json"][..], &["diff", "--format", "json"], &["status", "--format", "json"]] {
        let output = scalepatch(root, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        validate("scalepatch.schema.json", &output.stdout, &format!("{args:?}"));
        assert_eq!(json(&output)["schema_version"], 1);
    }
    let applied = scalepatch(root, &["apply", "--yes", "--format", "json"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    validate("scalepatch.schema.json", &applied.stdout, "apply --yes");
    let document = json(&applied);
    assert_eq!(document["command"], "apply");
    assert!(document["run"]["run_id"].is_string(), "{document:#}");
    let status = scalepatch(root, &["status", "--format", "json"]);
    validate("scalepatch.schema.json", &status.stdout, "status after apply");
    assert_eq!(json(&status)["runs"][0]["state"], "applied");
    let again = scalepatch(root, &["apply", "--yes", "--format", "json"]);
    validate("scalepatch.schema.json", &again.stdout, "apply with nothing to do");
    assert_eq!(json(&again)["run"], serde_json::Value::Null);
}

#[test]
fn changes_carry_line_numbers_and_ids_that_survive_an_edit_elsewhere() {
    let project = wingman();
    let root = project.path();
    let workers = |root: &Path| {
        let document = json(&scalepatch(root, &["diff", "--only", "gunicorn-workers", "--format", "json"]));
        document["outcomes"].as_array().unwrap().iter().find(|o| o["status"] == "change").cloned().unwrap()
    };
    let before = workers(root);
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let line = dockerfile.lines().position(|l| l.contains("--workers")).unwrap() + 1;
    assert_eq!(before["location"], serde_json::json!({"path": "Dockerfile", "line": line, "end_line": line}));
    assert_eq!(workers(root)["id"], before["id"], "same project, same id");
    std::fs::write(root.join("Dockerfile"), format!("# a comment above\n{dockerfile}")).unwrap();
    let after = workers(root);
    assert_eq!(after["id"], before["id"], "an edit elsewhere keeps the id");
    assert_eq!(after["location"]["line"], line + 1);
}

#[test]
fn sarif_follows_the_sarif_2_1_0_requirements() {
    let project = wingman();
    let output = scalepatch(project.path(), &["diff", "--format", "sarif"]);
    assert!(output.status.success(), "{}", stderr(&output));
    validate("sarif-2.1.0-subset.schema.json", &output.stdout, "diff --format sarif");
    let log = json(&output);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["level"] == "warning" && r["locations"][0]["physicalLocation"]["region"]["startLine"].is_u64())
    );
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
}

#[test]
fn github_annotations_name_file_and_line() {
    let project = wingman();
    let output = scalepatch(project.path(), &["diff", "--format", "github"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.lines().count() >= 6, "{stdout}");
    for line in stdout.lines() {
        assert!(is_annotation(line), "not an annotation: {line}");
    }
    assert!(stdout.contains("::warning file=Dockerfile,line="), "{stdout}");
}

/// `::LEVEL file=F,line=N,endLine=M,title=T::MESSAGE` on one line.
fn is_annotation(line: &str) -> bool {
    let Some(rest) = ["::warning ", "::error ", "::notice "].iter().find_map(|p| line.strip_prefix(p)) else {
        return false;
    };
    let Some((properties, message)) = rest.split_once("::") else { return false };
    let keys: Vec<&str> = properties.split(',').map(|p| p.split('=').next().unwrap_or("")).collect();
    keys == ["file", "line", "endLine", "title"] && !message.is_empty()
}

#[test]
fn every_run_ends_with_one_summary_line_and_quiet_keeps_only_it() {
    let project = wingman();
    let root = project.path();
    // `list` also plans the optional patches: db-indexes' two more changes in two more files, and
    // celery-workers' concurrency (the sample's worker sets --concurrency: ok) with its note.
    for (args, counts) in [
        (&["diff"][..], "7 changes in 4 files, 0 ok, 1 skipped"),
        (&["list"], "10 changes in 6 files, 1 ok, 1 skipped"),
        (&["diff", "--format", "json"], "7 changes in 4 files, 0 ok, 1 skipped"),
    ] {
        let output = scalepatch(root, args);
        let text = stderr(&output);
        let last = text.lines().last().unwrap_or_default();
        assert!(last.starts_with(&format!("summary: {counts}")), "{args:?}: {text}");
        assert_eq!(text.matches("summary: ").count(), 1, "{text}");
    }
    let quiet = scalepatch(root, &["diff", "--quiet"]);
    assert_eq!(stderr(&quiet).lines().count(), 1, "{}", stderr(&quiet));
    assert!(String::from_utf8_lossy(&quiet.stdout).starts_with("diff --git"), "the diff stays");
    let applied = scalepatch(root, &["apply", "--yes", "--quiet"]);
    assert!(
        stderr(&applied).lines().last().unwrap().starts_with("summary: 7 changes in 4 files"),
        "{}",
        stderr(&applied)
    );
}

#[test]
fn the_verify_commands_after_apply_are_complete_command_lines() {
    let project = wingman();
    let root = project.path();
    let output = scalepatch(root, &["apply", "--yes"]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let verify: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "verify:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    assert!(verify.len() >= 4, "{stdout}");
    for line in &verify {
        let code = line.split("  # ").next().unwrap();
        assert!(!code.contains('<') && !code.contains(" with the "), "not a command: {line}");
        let syntax = Command::new("sh").args(["-n", "-c", line]).status().unwrap();
        assert!(syntax.success(), "the shell cannot read: {line}");
    }
    // The gunicorn check runs as printed: scalepatch's own --verify, on the applied tree.
    let gunicorn = verify.iter().find(|l| l.starts_with("scalepatch diff ")).expect("a gunicorn check");
    let path = format!("{}:{}", common::tools::venv_bin().display(), std::env::var("PATH").unwrap_or_default());
    let bin = Path::new(env!("CARGO_BIN_EXE_scalepatch")).parent().unwrap().display().to_string();
    let run = Command::new("sh").args(["-c", gunicorn]).env("PATH", format!("{bin}:{path}")).output().unwrap();
    assert!(run.status.success(), "{gunicorn}: {}", stderr(&run));
    assert!(stderr(&run).contains("workers = 5"), "{}", stderr(&run));
}
