//! The patch catalog, one module per patch id, in review order.

pub mod celery_workers;
pub mod db_indexes;
pub mod db_persistent_connections;
pub mod gunicorn_worker_class;
pub mod gunicorn_workers;
pub mod nginx_gzip;
pub mod nginx_proxy_buffering;
pub mod redis_pool;

use crate::engine::patch::Patch;

/// Every patch, in the order they are planned and reviewed. Ids are a public contract.
pub const ALL: &[&dyn Patch] = &[
    &gunicorn_workers::GunicornWorkers,
    &gunicorn_worker_class::GunicornWorkerClass,
    &db_persistent_connections::DbPersistentConnections,
    &redis_pool::RedisPool,
    &nginx_gzip::NginxGzip,
    &nginx_proxy_buffering::NginxProxyBuffering,
    &db_indexes::DbIndexes,
    &celery_workers::CeleryWorkers,
];

/// The patch with this id.
pub fn by_id(id: &str) -> Option<&'static dyn Patch> {
    ALL.iter().copied().find(|patch| patch.id() == id)
}

/// Every id, in catalog order (for error messages).
pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|patch| patch.id()).collect()
}
