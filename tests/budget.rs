//! The connection budget, always (issue 13.3), on the cases under `fixtures/budget/`: each run
//! states its flags and every gunicorn outcome with a distinctive reason (and the budget
//! warning), then the real `gunicorn --print-config` confirms the patched tree through
//! `--verify` (workers and threads as scalepatch reads them).

mod common;

use std::path::Path;

use assert_cmd::Command;

/// One run of a case: its flags, and the outcomes in order as `label: reason substring`.
struct Run {
    case: &'static str,
    flags: &'static [&'static str],
    outcomes: &'static [&'static str],
}

const RUNS: &[Run] = &[
    // MySQL, named as MySQL with its own default limit (never "PostgreSQL max_connections 100"):
    // 7 replicas x 5 workers x 4 threads = 140 of 151 is above 80%, so the plan warns.
    Run {
        case: "mysql-replicas",
        flags: &[],
        outcomes: &[
            "change: docker-compose.yml:4: workers 3 -> 5",
            "change: docker-compose.yml:4: worker class sync -> gthread with 4 threads",
            "warning: = 140 of MySQL/MariaDB max_connections 151 [MySQL's default] (92%; the database: ENGINE mysql at shop/settings.py:12, above 80%). Remedies: fewer threads",
        ],
    },
    // 8 instances: 160 of 151. The switch to threads pushes it over and is skipped; the worker
    // count (40) is offered.
    Run {
        case: "mysql-replicas",
        flags: &["--instances", "8"],
        outcomes: &[
            "change: docker-compose.yml:4: workers 3 -> 5",
            "skipped: docker-compose.yml:4: worker class sync -> gthread with 4 threads: not offered, the self-check failed: this change would take the database over its connection limit: connection budget: 8 instance(s) [--instances] x 5 worker(s) x 4 thread(s)",
        ],
    },
    // The real failure: `workers = cpu_count() * 2 + 1` and a thread switch, DATABASES read at
    // run time: 17 workers x 4 threads on the assumed 8-CPU host + Celery 16 = 84 of the
    // assumed default 100.
    Run {
        case: "cpu-count-unreadable-db",
        flags: &[],
        outcomes: &[
            "ok: gunicorn.conf.py:4: workers is computed at start-up",
            "change: gunicorn.conf.py:7: worker class sync -> gthread with 4 threads",
            "warning: x 17 worker(s) x 4 thread(s) [gunicorn at Dockerfile:8: workers = multiprocessing.cpu_count() * 2 + 1 (workers in gunicorn.conf.py) = 17 at 8 host CPUs (assumed: no --host-cpus, a 8-CPU host); threads 4 (threads in gunicorn.conf.py)] = 68 + Celery 16",
        ],
    },
    // On a 16-CPU host: 33 x 4 + 16 = 148 of 100: skipped, with the numbers.
    Run {
        case: "cpu-count-unreadable-db",
        flags: &["--host-cpus", "16"],
        outcomes: &[
            "ok: gunicorn.conf.py:4: workers is computed at start-up",
            "skipped: gunicorn.conf.py:7: worker class sync -> gthread with 4 threads: not offered, the self-check failed: this change would take the database over its connection limit: connection budget: 1 instance(s) [assumed (no --instances or `instances` in the config, no replica count in the deployment files)] x 33 worker(s) x 4 thread(s) [gunicorn at Dockerfile:8: workers = multiprocessing.cpu_count() * 2 + 1 (workers in gunicorn.conf.py) = 33 at 16 host CPUs (--host-cpus); threads 4 (threads in gunicorn.conf.py)] = 132 + Celery 16 [--concurrency 16, docker-compose.yml:10] (Celery from docker-compose.yml) = 148 of max_connections 100 [database server unknown: the database URL is read at runtime (shop/settings.py:13)",
        ],
    },
    // Render autoscaling up to 6 instances of a pro_plus service (4 CPUs): 9 workers each is
    // 54 of 100; with 4 threads, 216: the switch is skipped, the instance count named.
    Run {
        case: "render-autoscaling",
        flags: &[],
        outcomes: &[
            "change: render.yaml:7: workers 4 -> 9 (--workers on the render.yaml service command line)",
            "skipped: render.yaml:7: worker class sync -> gthread with 4 threads: not offered, the self-check failed: this change would take the database over its connection limit: connection budget: 6 instance(s) [scaling.maxInstances (autoscaling, at most) 6 of service newsroom (render.yaml:10)] x 9 worker(s) x 4 thread(s)",
        ],
    },
    // The same with --allow-over-budget: offered, and the warning says the limit is exceeded.
    Run {
        case: "cpu-count-unreadable-db",
        flags: &["--host-cpus", "16", "--allow-over-budget"],
        outcomes: &[
            "ok: gunicorn.conf.py:4: workers is computed at start-up",
            "change: gunicorn.conf.py:7: worker class sync -> gthread with 4 threads",
            "warning: = 148 of max_connections 100 [database server unknown: the database URL is read at runtime (shop/settings.py:13) and no compose image names the server; PostgreSQL's default assumed] (148%, above 100%, offered because of --allow-over-budget",
        ],
    },
];

fn scalepatch() -> Command {
    let mut command = Command::cargo_bin("scalepatch").unwrap();
    command.env("NO_COLOR", "1");
    command
}

/// The gunicorn outcomes of `scalepatch list`-style notes: `label: reason` per line.
fn outcomes(notes: &str) -> Vec<String> {
    notes
        .lines()
        .filter(|line| line.starts_with("gunicorn-"))
        .filter_map(|line| {
            let (_, rest) = line.split_once(" [")?;
            let (label, reason) = rest.split_once("] ")?;
            Some(format!("{label}: {reason}"))
        })
        .collect()
}

#[test]
fn every_budget_case_states_its_outcomes_and_passes_the_real_gunicorn() {
    let path = format!("{}:{}", common::tools::venv_bin().display(), std::env::var("PATH").unwrap_or_default());
    for run in RUNS {
        let before = common::repo_root().join("fixtures/budget").join(run.case).join("before");
        let output = scalepatch()
            .arg("diff")
            .arg(&before)
            .args(["--only", "gunicorn-workers,gunicorn-worker-class", "--verify"])
            .args(run.flags)
            .env("PATH", &path)
            .output()
            .unwrap();
        let notes = String::from_utf8_lossy(&output.stderr);
        let label = format!("{} {:?}", run.case, run.flags);
        assert_eq!(output.status.code(), Some(0), "{label}:\n{notes}");
        let got = outcomes(&notes);
        assert_eq!(got.len(), run.outcomes.len(), "{label}: {got:#?}");
        for (got, want) in got.iter().zip(run.outcomes) {
            let (want_label, want_reason) = want.split_once(": ").unwrap();
            assert!(got.starts_with(want_label) && got.contains(want_reason), "{label}: want {want:?}\n got {got:?}");
        }
        // The real gunicorn reads the patched start, with its environment.
        assert!(notes.contains("passed: gunicorn --print-config") && !notes.contains("FAILED"), "{label}: {notes}");
    }
}

/// `apply` writes what the budget allows: the over-budget switch is not written, and is with
/// --allow-over-budget (whose result the real gunicorn reads with 4 threads).
#[test]
fn apply_leaves_out_the_change_that_goes_over_budget() {
    let case = common::repo_root().join("fixtures/budget/cpu-count-unreadable-db/before");
    let config = |dir: &Path| std::fs::read_to_string(dir.join("gunicorn.conf.py")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&case, tmp.path());
    let only = ["--only", "gunicorn-workers,gunicorn-worker-class", "--yes", "--host-cpus", "16"];
    let output = scalepatch().arg("apply").arg(tmp.path()).args(only).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(config(tmp.path()), config(&case), "nothing over budget is written");
    let path = format!("{}:{}", common::tools::venv_bin().display(), std::env::var("PATH").unwrap_or_default());
    let output = scalepatch()
        .arg("apply")
        .arg(tmp.path())
        .args(only)
        .args(["--allow-over-budget", "--verify"])
        .env("PATH", path)
        .output()
        .unwrap();
    let notes = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{notes}");
    assert!(config(tmp.path()).contains("threads = 4"), "{}", config(tmp.path()));
    assert!(notes.contains("worker_class = gthread, threads = 4"), "{notes}");
}
