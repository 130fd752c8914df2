//! Which package a cache `BACKEND` string belongs to, by its dotted path: the OPTIONS keys a
//! Redis backend accepts depend on the package, and a project class (`myapp.cache.SafeRedisCache`)
//! takes the keys of the package it subclasses, read from its base class in the project.

use std::path::PathBuf;

use tree_sitter::Node;

use crate::facts::django::production::Production;
use crate::lang::python::{self, PyFile};
use crate::project::Project;

/// A Redis cache package, by the OPTIONS keys it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    /// django-redis: `CONNECTION_POOL_KWARGS`, `SOCKET_CONNECT_TIMEOUT`, `SOCKET_TIMEOUT`.
    DjangoRedis,
    /// Django's own RedisCache: lower-case redis-py keys.
    BuiltIn,
    /// django-redis-cache (`redis_cache.RedisCache`): `CONNECTION_POOL_CLASS_KWARGS`,
    /// `SOCKET_CONNECT_TIMEOUT`, `SOCKET_TIMEOUT` (its `redis_cache/backends/base.py`).
    DjangoRedisCache,
    /// django-valkey, a django-redis fork with its keys.
    Valkey,
}

impl Package {
    pub fn name(self) -> &'static str {
        match self {
            Package::DjangoRedis => "django-redis",
            Package::BuiltIn => "Django's RedisCache",
            Package::DjangoRedisCache => "django-redis-cache",
            Package::Valkey => "django-valkey",
        }
    }
}

/// What a BACKEND string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Redis(Package, Option<String>),
    /// Django's in-memory cache, one per process.
    LocMem,
    /// Another known kind of cache (memcached, database, file, dummy).
    Other,
    /// A backend scalepatch does not know the OPTIONS of, and why.
    Unknown(String),
}

/// The package of a known dotted path.
fn known(dotted: &str) -> Option<Kind> {
    Some(match dotted {
        "django_redis.cache.RedisCache" => Kind::Redis(Package::DjangoRedis, None),
        "django.core.cache.backends.redis.RedisCache" => Kind::Redis(Package::BuiltIn, None),
        "redis_cache.RedisCache" | "redis_cache.cache.RedisCache" | "redis_cache.backends.single.RedisCache" => {
            Kind::Redis(Package::DjangoRedisCache, None)
        }
        "django_valkey.cache.ValkeyCache" => Kind::Redis(Package::Valkey, None),
        "django.core.cache.backends.locmem.LocMemCache" => Kind::LocMem,
        d if d.starts_with("django.core.cache.backends.") => Kind::Other,
        _ => return None,
    })
}

/// The kind of cache `backend` names; a project class is judged by its base class (through a
/// few levels of project classes), with the chain said (`via myapp.cache.SafeRedisCache`).
pub fn kind(project: &Project, backend: &str) -> Kind {
    let mut dotted = backend.to_owned();
    let mut via = Vec::new();
    for _ in 0..4 {
        if let Some(kind) = known(&dotted) {
            return match kind {
                Kind::Redis(package, _) if !via.is_empty() => {
                    Kind::Redis(package, Some(format!("{} subclasses {dotted}", via.join(" -> "))))
                }
                other => other,
            };
        }
        match base_class(project, &dotted) {
            Ok(base) => {
                via.push(dotted);
                dotted = base;
            }
            Err(why) => {
                let shown = if via.is_empty() { backend.to_owned() } else { format!("{backend} (base {dotted})") };
                return Kind::Unknown(format!(
                    "the backend `{shown}` is not one scalepatch knows the OPTIONS of (django-redis, Django's \
                     RedisCache, django-redis-cache, django-valkey, or a project class subclassing one): {why}"
                ));
            }
        }
    }
    Kind::Unknown(format!("the backend `{backend}` subclasses too many project classes to follow"))
}

/// The dotted name of the first base class of the project class `dotted`.
fn base_class(project: &Project, dotted: &str) -> Result<String, String> {
    let (module, class) = dotted.rsplit_once('.').ok_or("not a dotted path")?;
    let suffixes = Production::suffixes(module);
    let path: PathBuf = suffixes
        .iter()
        .flat_map(|suffix| project.files_ending_with(suffix))
        .min()
        .cloned()
        .ok_or_else(|| format!("module {module} is not in the project"))?;
    let source = project.read(&path).map_err(|e| e.to_string())?;
    let file = python::parse(source).map_err(|_| format!("{} does not parse", path.display()))?;
    let definition = python::named_children(file.root())
        .into_iter()
        .find(|n| {
            n.kind() == "class_definition" && n.child_by_field_name("name").is_some_and(|c| file.text(c) == class)
        })
        .ok_or_else(|| format!("no class {class} in {}", path.display()))?;
    let base = definition
        .child_by_field_name("superclasses")
        .and_then(|args| python::named_children(args).into_iter().find(|a| a.kind() != "keyword_argument"))
        .and_then(|b| python::dotted_name(b, &file.source.text))
        .ok_or_else(|| format!("class {class} ({}) has no base class", path.display()))?;
    Ok(imported_name(&file, &base).unwrap_or_else(|| match base.contains('.') {
        true => base.clone(),
        false => format!("{module}.{base}"),
    }))
}

/// The full dotted name a name of `file` was imported as (`from django_redis.cache import RedisCache as R`).
fn imported_name(file: &PyFile, name: &str) -> Option<String> {
    let (head, tail) = name.split_once('.').map_or((name, None), |(h, t)| (h, Some(t)));
    for statement in python::named_children(file.root()) {
        let found = match statement.kind() {
            "import_from_statement" => from_import(file, statement, head),
            _ => None,
        };
        if let Some(full) = found {
            return Some(tail.map_or(full.clone(), |t| format!("{full}.{t}")));
        }
    }
    None
}

fn from_import(file: &PyFile, statement: Node, head: &str) -> Option<String> {
    let module = file.text(statement.child_by_field_name("module_name")?);
    for child in python::named_children(statement).into_iter().skip(1) {
        let (imported, local) = match child.kind() {
            "aliased_import" => (child.child_by_field_name("name")?, child.child_by_field_name("alias")?),
            "dotted_name" => (child, child),
            _ => continue,
        };
        if file.text(local) == head {
            return Some(format!("{module}.{}", file.text(imported)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_project_subclasses() {
        let (_dir, project) = crate::project::test_project(&[
            (
                "shop/cache.py",
                "from django_redis.cache import RedisCache as Base\n\nclass SafeCache(Base):\n    pass\n\nclass Safer(SafeCache):\n    pass\n",
            ),
            ("shop/other.py", "class Odd(object):\n    pass\n"),
        ]);
        assert_eq!(kind(&project, "redis_cache.RedisCache"), Kind::Redis(Package::DjangoRedisCache, None));
        let found = kind(&project, "shop.cache.Safer");
        let Kind::Redis(Package::DjangoRedis, Some(via)) = found else { panic!("{found:?}") };
        assert_eq!(via, "shop.cache.Safer -> shop.cache.SafeCache subclasses django_redis.cache.RedisCache");
        let Kind::Unknown(why) = kind(&project, "shop.other.Odd") else { panic!() };
        assert!(why.contains("`shop.other.Odd (base shop.other.object)`"), "{why}");
        assert_eq!(kind(&project, "django.core.cache.backends.locmem.LocMemCache"), Kind::LocMem);
    }
}
