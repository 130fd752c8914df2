//! `db-indexes`: fixture cases (exact diff, git apply, idempotence), then real Django on the
//! patched copy: `makemigrations --check --dry-run` reports no changes, `migrate` runs on SQLite,
//! and `sqlmigrate` prints the CREATE INDEX with the planned columns in the planned order. The
//! PostgreSQL case starts a throwaway cluster (Debian's postgresql package) to show
//! `CREATE INDEX CONCURRENTLY` and to run the non-atomic migration for real.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::tools;

/// Per case: the settings module SQLite runs use, and the SQL fragments `sqlmigrate` must print.
fn expectations(case: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match case {
        "chat-message-list" => (
            "config.settings",
            &[
                r#"CREATE INDEX "message_conversati_created_idx" ON "chat_message" ("conversation_id", "created_at" DESC);"#,
            ],
        ),
        "models-import-several-names" => (
            "config.settings",
            &[
                r#"CREATE INDEX "message_conversati_created_idx" ON "chat_message" ("conversation_id", "created_at" DESC);"#,
            ],
        ),
        "abstract-base-meta" => (
            "config.settings",
            &[
                r#"CREATE INDEX "room_name_updated_at_idx" ON "rooms_room" ("name", "updated_at" DESC);"#,
                r#"CREATE INDEX "post_room_created_at_idx" ON "rooms_post" ("room_id", "created_at" DESC);"#,
                r#"CREATE INDEX "post_author_created_at_idx" ON "rooms_post" ("author", "created_at" DESC);"#,
            ],
        ),
        "managers-and-views" => (
            "config.settings",
            &[
                r#"CREATE INDEX "ticket_team_state_priority_idx" ON "helpdesk_ticket" ("team", "state", "priority" DESC);"#,
                r#"CREATE INDEX "ticket_assignee_due_at_idx" ON "helpdesk_ticket" ("assignee", "due_at");"#,
            ],
        ),
        "migration-modules" => (
            "config.settings",
            &[r#"CREATE INDEX "order_status_placed_at_idx" ON "shop_order" ("status", "placed_at" DESC);"#],
        ),
        "model-modules-in-app-folders" => (
            "config.settings",
            &[
                r#"CREATE INDEX "invoice_customer_issued_at_idx" ON "shop_invoice" ("customer", "issued_at" DESC);"#,
                r#"CREATE INDEX "order_status_placed_at_idx" ON "shop_order" ("status", "placed_at" DESC);"#,
            ],
        ),
        "existing-meta-indexes" => (
            "config.settings",
            &[r#"CREATE INDEX "order_customer_created_at_idx" ON "shop_order" ("customer_email", "created_at" DESC);"#],
        ),
        "models-package" => (
            "config.settings",
            &[
                r#"CREATE INDEX "post_status_published_at_idx" ON "blog_post" ("status", "published_at" DESC);"#,
                r#"CREATE INDEX "post_published_at_idx" ON "blog_post" ("published_at");"#,
            ],
        ),
        "models-package-models-module" => (
            "config.settings",
            &[
                r#"CREATE INDEX "post_status_published_at_idx" ON "blog_post" ("status", "published_at" DESC);"#,
                r#"CREATE INDEX "post_published_at_idx" ON "blog_post" ("published_at");"#,
            ],
        ),
        "squashed-history" => (
            "config.settings",
            &[
                r#"CREATE INDEX "note_owner_pinned_created_idx" ON "notes_note" ("owner", "pinned", "created_at" DESC);"#,
            ],
        ),
        "postgres-with-sqlite-tests" => (
            "config.test_settings",
            &[
                r#"CREATE INDEX "message_conversati_created_idx" ON "chat_message" ("conversation_id", "created_at" DESC);"#,
            ],
        ),
        "conditional-filter-chain" => (
            "config.settings",
            &[
                r#"CREATE INDEX "check_project_name_idx" ON "monitors_check" ("project_id", "name");"#,
                r#"CREATE INDEX "check_project_slug_idx" ON "monitors_check" ("project_id", "slug");"#,
                r#"CREATE INDEX "check_project_kind_created_idx" ON "monitors_check" ("project_id", "kind", "created" DESC);"#,
            ],
        ),
        "shortcuts-and-chains" => (
            "config.settings",
            &[
                r#"CREATE INDEX "book_shelf_slug_idx" ON "library_book" ("shelf", "slug");"#,
                r#"CREATE INDEX "book_status_shelf_publishe_idx" ON "library_book" ("status", "shelf", "published_at" DESC);"#,
            ],
        ),
        "q-objects" => (
            "config.settings",
            &[
                r#"CREATE INDEX "lead_owner_stage_created_idx" ON "crm_lead" ("owner", "stage", "created" DESC);"#,
                r#"CREATE INDEX "lead_region_idx" ON "crm_lead" ("region");"#,
            ],
        ),
        "drf-view-ordering" => (
            "config.settings",
            &[
                r#"CREATE INDEX "post_topic_created_at_idx" ON "feed_post" ("topic", "created_at" DESC);"#,
                r#"CREATE INDEX "post_topic_score_idx" ON "feed_post" ("topic", "score");"#,
                r#"CREATE INDEX "post_author_score_idx" ON "feed_post" ("author", "score" DESC);"#,
            ],
        ),
        "cap-across-runs" => (
            "config.settings",
            &[
                r#"CREATE INDEX "issue_projec_state_created_idx" ON "tracker_issue" ("project_id", "state", "created" DESC);"#,
                r#"CREATE INDEX "issue_assignee_due_idx" ON "tracker_issue" ("assignee", "due");"#,
                r#"CREATE INDEX "issue_priority_created_idx" ON "tracker_issue" ("priority", "created" DESC);"#,
            ],
        ),
        "low-cardinality" => (
            "config.settings",
            &[
                r#"CREATE INDEX "alert_channel_idx" ON "alerts_alert" ("channel");"#,
                r#"CREATE INDEX "alert_severity_created_idx" ON "alerts_alert" ("severity", "created" DESC);"#,
            ],
        ),
        "other-app-model" => (
            "config.settings",
            &[r#"CREATE INDEX "invoice_customer_issued_idx" ON "billing_invoice" ("customer_ref", "issued" DESC);"#],
        ),
        "mysql-production" => (
            "config.test_settings",
            &[r#"CREATE INDEX "order_status_placed_idx" ON "shop_order" ("status", "placed" DESC);"#],
        ),
        _ => return None,
    })
}

fn manage(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(tools::python())
        .arg("manage.py")
        .args(args)
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(env.iter().copied())
        .output()
        .expect("python runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// The migrations the diff creates: (app label, migration name).
fn created_migrations(diff: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "--- /dev/null"
            && let Some(next) = lines.peek()
            && let Some(path) = next.strip_prefix("+++ b/")
        {
            let path = PathBuf::from(path);
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let app = path.parent().unwrap().parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
            found.push((app, name));
        }
    }
    found
}

#[test]
fn fixture_cases_pass_real_django() {
    for case in common::cases("db-indexes") {
        let applied = case.check();
        let migrations = created_migrations(&applied.diff);
        let Some((settings, sql)) = expectations(&case.name) else {
            if case.name != "postgres-concurrently" {
                assert!(migrations.is_empty(), "{}: unexpected migration {migrations:?}", case.name);
            }
            continue;
        };
        assert_eq!(migrations.len(), 1, "{}: one migration per app: {migrations:?}", case.name);
        let (app, migration) = &migrations[0];
        let root = applied.root();
        let settings_arg = format!("--settings={settings}");
        let check = manage(root, &["makemigrations", "--check", "--dry-run", &settings_arg], &[]);
        assert!(check.status.success(), "{}: makemigrations --check: {}", case.name, text(&check));
        assert!(text(&check).contains("No changes detected"), "{}: {}", case.name, text(&check));
        let migrate = manage(root, &["migrate", "--noinput", &settings_arg], &[]);
        assert!(migrate.status.success(), "{}: migrate: {}", case.name, text(&migrate));
        let shown = manage(root, &["sqlmigrate", app, migration, &settings_arg], &[]);
        assert!(shown.status.success(), "{}: sqlmigrate: {}", case.name, text(&shown));
        for fragment in sql {
            assert!(text(&shown).contains(fragment), "{}: sqlmigrate lacks {fragment}:\n{}", case.name, text(&shown));
        }
        assert!(!text(&shown).contains("CONCURRENTLY"), "{}: SQLite cannot build concurrently", case.name);
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A PostgreSQL tool, run as the `postgres` user when we are root (initdb refuses root).
fn postgres_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A throwaway PostgreSQL cluster on a unix socket in a temp dir, stopped on drop.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: String,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed from Debian's packages (apt-get install -y postgresql)")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|bin| bin.join("pg_ctl").exists())
            .expect("pg_ctl in /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let port = (20000 + std::process::id() % 20000).to_string();
        let as_postgres = |program: &str, args: &[&str]| {
            let output = postgres_command(&bin.join(program)).args(args).output().expect("PostgreSQL tools run");
            assert!(output.status.success(), "{program}: {}", text(&output));
        };
        if running_as_root() {
            Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
        }
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        as_postgres("initdb", &["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
        let options = format!("-k {} -p {port} -c listen_addresses=''", dir.path().display());
        let log = dir.path().join("log");
        as_postgres("pg_ctl", &["-D", data, "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
        Cluster { dir, bin, port }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DB_HOST", self.dir.path().display().to_string()),
            ("DB_PORT", self.port.clone()),
            ("DB_NAME", "postgres".into()),
            ("DB_USER", "postgres".into()),
        ]
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = postgres_command(&self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

/// Production on PostgreSQL: the migration builds the index concurrently there and plainly
/// elsewhere. `postgres-with-sqlite-tests` runs the very same migration on SQLite (its test
/// settings, in `fixture_cases_pass_real_django`) and here on PostgreSQL; both cases show `CREATE
/// INDEX CONCURRENTLY` in `sqlmigrate`, migrate forwards (outside a transaction) and back.
#[test]
fn postgres_gets_create_index_concurrently() {
    let cluster = Cluster::start();
    let env = cluster.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for name in ["postgres-concurrently", "postgres-with-sqlite-tests"] {
        let case = common::cases("db-indexes").into_iter().find(|c| c.name == name).unwrap();
        let applied = case.check();
        let migrations = created_migrations(&applied.diff);
        assert_eq!(migrations.len(), 1, "{name}: {migrations:?}");
        let (app, migration) = &migrations[0];
        let root = applied.root();
        let settings = "--settings=config.settings";
        let check = manage(root, &["makemigrations", "--check", "--dry-run", settings], &env);
        assert!(check.status.success() && text(&check).contains("No changes detected"), "{name}: {}", text(&check));
        let shown = manage(root, &["sqlmigrate", app, migration, settings], &env);
        assert!(shown.status.success(), "{name}: sqlmigrate: {}", text(&shown));
        let expected = r#"CREATE INDEX CONCURRENTLY "message_conversati_created_idx" ON "chat_message" ("conversation_id", "created_at" DESC);"#;
        assert!(text(&shown).contains(expected), "{name}: sqlmigrate:\n{}", text(&shown));
        // The non-atomic migration really runs: CONCURRENTLY outside a transaction.
        let migrate = manage(root, &["migrate", "--noinput", settings], &env);
        assert!(migrate.status.success(), "{name}: migrate: {}", text(&migrate));
        let query = "from django.db import connection; c = connection.cursor(); c.execute(\"select indexdef from pg_indexes where indexname = 'message_conversati_created_idx'\"); print(c.fetchone())";
        let indexes = manage(root, &["shell", settings, "-c", query], &env);
        assert!(text(&indexes).contains("(conversation_id, created_at DESC)"), "{name}: {}", text(&indexes));
        // And back: DROP INDEX CONCURRENTLY, leaving the database as it was for the next case.
        let back = manage(root, &["migrate", "--noinput", settings, app, "0001"], &env);
        assert!(back.status.success(), "{name}: migrate back: {}", text(&back));
        let gone = manage(root, &["shell", settings, "-c", query], &env);
        assert!(text(&gone).trim_end().ends_with("None"), "{name}: {}", text(&gone));
        let zero = manage(root, &["migrate", "--noinput", settings, app, "zero"], &env);
        assert!(zero.status.success(), "{name}: migrate zero: {}", text(&zero));
    }
}

/// An OR as a query's only filter proposes nothing, and the app's answer says why.
#[test]
fn an_or_alone_is_named_in_the_reason() {
    let case = common::cases("db-indexes").into_iter().find(|c| c.name == "q-objects").unwrap();
    let copy = case.copy();
    let views = "from django.db.models import Q\n\nfrom .models import Lead\n\n\ndef matching(term):\n    return Lead.objects.filter(Q(email=term) | Q(region=term)).count()\n";
    std::fs::write(copy.path().join("crm/views.py"), views).unwrap();
    let (outcomes, diff, _) = case.plan(copy.path());
    assert!(diff.is_empty(), "{diff}");
    let reasons: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            scalepatch::engine::outcome::Outcome::Ok { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    let expected = "`email` | `region` at crm/views.py:7 is an OR: no composite index serves it";
    assert!(reasons.iter().any(|r| r.contains(expected)), "{outcomes:?}");
}

/// Times the patch's own planning (no engine, no self-check) on the tree named by
/// `SCALEPATCH_INDEXES_TREE`: `bench/indexes.sh` reports the whole command, this says how much of
/// it is the patch. `cargo test --release --test db_indexes -- --ignored plan_time`.
#[test]
#[ignore]
fn plan_time() {
    use scalepatch::engine::patch::Patch;
    let tree = std::env::var("SCALEPATCH_INDEXES_TREE").expect("SCALEPATCH_INDEXES_TREE names a tree");
    let config = scalepatch::project::config::Config::default();
    let start = std::time::Instant::now();
    let project = scalepatch::project::Project::open(Path::new(&tree), config).unwrap();
    let outcomes = scalepatch::patches::db_indexes::DbIndexes.plan(&project);
    eprintln!("db-indexes planned {} outcomes in {:.2?}", outcomes.len(), start.elapsed());
}

/// The words of every outcome of a case's plan: ok/skipped reasons, and each change's why and
/// assumptions.
fn plan_words(name: &str) -> String {
    use scalepatch::engine::outcome::Outcome;
    let case = common::cases("db-indexes").into_iter().find(|c| c.name == name).unwrap();
    let copy = case.copy();
    let (outcomes, _, _) = case.plan(copy.path());
    let words: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Change(change) => format!("{} {}", change.why, change.assumptions.join(" ")),
            other => other.describe(),
        })
        .collect();
    words.join("\n")
}

/// Every candidate a reader might expect names what covers it (each kind of existing index).
#[test]
fn covered_candidates_name_what_covers_them() {
    let words = plan_words("redundant-covered");
    for covered in [
        "(workspace, slug, -created) at workspaces/views.py:7: at most one row matches, unique_together (workspace, slug)",
        "(code, region) at workspaces/views.py:11: at most one row matches, Meta.constraints UniqueConstraint \"membership_code_region_uniq\"",
        "(code) at workspaces/views.py:15 is already covered by Meta.constraints UniqueConstraint \"membership_code_region_uniq\" (code, region)",
        "(role, -created) at workspaces/views.py:19 is already covered by Meta.indexes Index \"membership_role_created_idx\"",
        "(workspace) at workspaces/views.py:23 is already covered by unique_together (workspace, slug)",
        "(ref) at workspaces/views.py:27 is already covered by `ref` (db_index=True)",
        "(external_id) at workspaces/views.py:31: `external_id` is unique",
        "(id, -created) at workspaces/views.py:35: `id` is unique",
    ] {
        assert!(words.contains(covered), "missing {covered:?} in:\n{words}");
    }
}

/// A field with few values queried alone gets no index, and the why says so; with an order
/// column after it, it leads a composite.
#[test]
fn few_values_alone_get_no_index() {
    let words = plan_words("low-cardinality");
    for why in [
        "`severity` at alerts/views.py:5 is queried alone and has 3 choices",
        "`acknowledged` at alerts/views.py:9 is a boolean",
        "`kind` at alerts/views.py:13 is queried alone and has 2 choices",
        "Compared with the existing indexes: Alert: the primary key `id`",
    ] {
        assert!(words.contains(why), "missing {why:?} in:\n{words}");
    }
}

/// Production on MySQL (test settings on SQLite): plain AddIndex, and the assumption says why.
#[test]
fn mysql_production_gets_plain_add_index() {
    let words = plan_words("mysql-production");
    let expected = "production's database engines: mysql (config/settings.py:14)";
    assert!(words.contains(expected), "{words}");
    assert!(words.contains("not loaded by production: sqlite3 (config/test_settings.py:5)"), "{words}");
    assert!(words.contains("MySQL's InnoDB builds a secondary index online"), "{words}");
}
