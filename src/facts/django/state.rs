//! State an app keeps inside one process: sessions in Django's in-memory cache
//! (`SESSION_ENGINE = "django.contrib.sessions.backends.cache"` with LocMemCache as the default
//! cache, or no CACHES at all: Django's default is LocMemCache), or channels' in-memory channel
//! layer. With more than one worker process each worker has its own copy: a user whose next
//! request lands on another worker is logged out (or misses its messages), at random. The worker
//! patch reads this before raising a count.

use crate::facts::django::cache_backends::{self, Kind};
use crate::facts::django::final_value::{self, Write};
use crate::facts::django::production::Production;
use crate::facts::django::settings::{Settings, SettingsModule};
use crate::lang::python::Literal;
use crate::project::Project;
use crate::text::location::Location;

const CACHE_SESSIONS: &str = "django.contrib.sessions.backends.cache";
const IN_MEMORY_LAYER: &str = "channels.layers.InMemoryChannelLayer";

/// Where production's settings keep per-process state, and a sentence naming the setting and the
/// fix; `None` when they do not (or it cannot be told).
pub fn per_process_state(project: &Project) -> Option<(Location, String)> {
    let settings = Settings::of(project);
    let production = Production::of(project);
    for top in tops(&settings, &production) {
        let writes = final_value::writes(&settings, top);
        if let Some(found) = cache_sessions(project, &writes).or_else(|| in_memory_layer(&writes)) {
            let (location, what) = found;
            let loaded = if production.loaded.is_empty() {
                "production's module is unknown".to_owned()
            } else {
                production.describe()
            };
            return Some((
                location,
                format!(
                    "{what} ({} settings; {loaded}): each worker process keeps its own copy, so with more than 1 \
                     worker users are logged out (or miss messages) at random; move it to a shared store first \
                     (a Redis cache: django.core.cache.backends.redis.RedisCache, or SESSION_ENGINE \
                     \"django.contrib.sessions.backends.cached_db\" / \"db\"; channels_redis for channel layers)",
                    top.path().display()
                ),
            ));
        }
    }
    None
}

/// The modules production loads; when that is unknown, every settings module whose name does not
/// say it is for tests or development.
fn tops<'s>(settings: &'s Settings, production: &Production) -> Vec<&'s SettingsModule> {
    let named: Vec<&SettingsModule> =
        settings.modules.iter().filter(|m| production.loaded.iter().any(|l| m.is_named(&l.name))).collect();
    if !named.is_empty() {
        return named;
    }
    let not_dev = |m: &&SettingsModule| {
        let stem = m.path().file_stem().and_then(|s| s.to_str()).unwrap_or("").to_lowercase();
        !["test", "dev", "local", "ci"].iter().any(|w| stem.contains(w))
    };
    settings.modules.iter().filter(not_dev).collect()
}

fn string_of(write: &Write) -> Option<String> {
    match write.literal() {
        Some(Literal::Str(s)) => Some(s),
        _ => None,
    }
}

/// Cache sessions whose default cache is LocMemCache.
fn cache_sessions(project: &Project, writes: &[Write]) -> Option<(Location, String)> {
    let engine = final_value::candidates(writes, &["SESSION_ENGINE"])
        .into_iter()
        .find(|w| string_of(w).as_deref() == Some(CACHE_SESSIONS))?;
    let session = format!("SESSION_ENGINE = \"{CACHE_SESSIONS}\" ({})", engine.location());
    if !final_value::mentions(writes, "CACHES") {
        return Some((engine.location(), format!("{session} with no CACHES: Django's default cache is LocMemCache")));
    }
    let backend = final_value::candidates(writes, &["CACHES", "default", "BACKEND"])
        .into_iter()
        .find(|w| string_of(w).is_some_and(|b| cache_backends::kind(project, &b) == Kind::LocMem))?;
    Some((engine.location(), format!("{session} with the default cache LocMemCache ({})", backend.location())))
}

/// The in-memory channel layer as the default layer.
fn in_memory_layer(writes: &[Write]) -> Option<(Location, String)> {
    let layer = final_value::candidates(writes, &["CHANNEL_LAYERS", "default", "BACKEND"])
        .into_iter()
        .find(|w| string_of(w).as_deref() == Some(IN_MEMORY_LAYER))?;
    Some((layer.location(), format!("CHANNEL_LAYERS uses \"{IN_MEMORY_LAYER}\" ({})", layer.location())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_sessions_in_locmem_or_without_caches() {
        let (_dir, project) = crate::project::test_project(&[
            ("manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings.prod')\n"),
            ("shop/settings/base.py", "DATABASES = {}\nSESSION_ENGINE = 'django.contrib.sessions.backends.cache'\n"),
            ("shop/settings/prod.py", "from .base import *\n"),
        ]);
        let (location, why) = per_process_state(&project).expect("cache sessions without CACHES");
        assert_eq!(location.to_string(), "shop/settings/base.py:2");
        assert!(why.contains("with no CACHES: Django's default cache is LocMemCache"), "{why}");
        let (_dir, project) = crate::project::test_project(&[(
            "shop/settings.py",
            "SESSION_ENGINE = 'django.contrib.sessions.backends.cache'\nCACHES = {'default': {'BACKEND': 'django_redis.cache.RedisCache'}}\n",
        )]);
        assert!(per_process_state(&project).is_none());
    }
}
