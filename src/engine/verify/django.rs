//! `--verify=django`: each settings module the project declares (`DJANGO_SETTINGS_MODULE` in
//! manage.py, wsgi.py, env and deployment files) imported with the project's interpreter, and
//! `DATABASES` / `CACHES` read through Django's own settings object. **This runs project code**
//! (a settings module is Python), which is why it is asked for by name.

use std::path::Path;
use std::process::Command;

use super::{Copies, Output, Run, Verdict, judge, project_program, run};
use crate::facts::django::settings::Settings;
use crate::project::Project;

const PROBE: &str =
    "import django\nfrom django.conf import settings\nsettings.DATABASES, settings.CACHES\nprint('imported')\n";

/// One run per declared settings module.
pub fn check(after: &Project, copies: &Copies) -> Vec<Run> {
    let settings = Settings::of(after);
    let mut modules: Vec<String> = settings.declared.iter().map(|(module, _)| module.clone()).collect();
    modules.sort();
    modules.dedup();
    let note = "runs project code: the settings module is imported";
    if modules.is_empty() {
        return vec![Run::new(
            "python -c 'import settings'",
            Verdict::NotRun("no DJANGO_SETTINGS_MODULE is declared in the project".into()),
        )];
    }
    let Some(python) = project_program(after, "python").or_else(|| project_program(after, "python3")) else {
        return vec![Run::new("python", Verdict::NotRun("no Python interpreter (project .venv/venv, PATH)".into()))];
    };
    modules
        .into_iter()
        .map(|module| {
            let tool = format!("DJANGO_SETTINGS_MODULE={module} python -c 'import django.conf.settings' ({note})");
            let import = |root: &Path| import(&python, root, &module);
            let after = import(&copies.after);
            let verdict = judge(|| import(&copies.before), &after, format!("{module} imports"));
            Run::new(tool, verdict)
        })
        .collect()
}

/// Imports `module` with the working folder at the copy's root (where manage.py usually is).
fn import(python: &Path, root: &Path, module: &str) -> Output {
    let mut command = Command::new(python);
    command.args(["-c", PROBE]).current_dir(root).env("DJANGO_SETTINGS_MODULE", module).env("PYTHONPATH", root);
    let output = run(&mut command);
    Output { stderr: super::last_lines(&output.stderr, 5), ..output }
}
