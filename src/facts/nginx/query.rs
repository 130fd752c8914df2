//! Questions asked of the whole configuration rather than one file: what a block holds once its
//! `include` lines are followed (a `proxy_pass` kept in a snippet is the server's all the same),
//! which directive is in effect in a block, and where things are, for messages.

use crate::text::location::Location;

use super::proxy::header_context;
use super::{BlockRef, DirRef, Model, Role};

/// How deep `include` lines are followed (nginx itself has no limit, but a cycle must end).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Directives that make a server send content; a server with none of them only redirects or
/// refuses.
const CONTENT: &[&str] =
    &["proxy_pass", "uwsgi_pass", "fastcgi_pass", "grpc_pass", "scgi_pass", "root", "alias", "try_files", "index"];

/// A directive found inside a block, possibly in a project file that an `include` line loads.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub dir: DirRef,
    /// The block whose proxy_set_header lines apply to it (see [`header_context`]): for a
    /// directive at a snippet's top level, the block of the `include` line that loads it.
    pub context: BlockRef,
}

/// Every directive named `name` inside `block` (any depth), following the `include` lines that
/// load project files (`include snippets/proxy.conf;`). Those of the block's own file first, in
/// file order, then those of included files.
pub fn find_within(model: &Model, block: BlockRef, name: &str) -> Vec<Found> {
    let mut found = Vec::new();
    // (block to walk, the context of an included file's top level, include depth)
    let mut stack = vec![(block, block, 0usize)];
    while let Some((current, outer, depth)) = stack.pop() {
        let config = model.config(current.file);
        let context_of =
            |scope| header_context(config, scope).map_or(outer, |id| BlockRef { file: current.file, scope: Some(id) });
        for child in config.children(current.scope) {
            let here = DirRef { file: current.file, id: child };
            if config.name(child) == name {
                found.push(Found { dir: here, context: context_of(config.parent(child)) });
            }
            if config.directive(child).block.is_some() {
                stack.push((here.block(), outer, depth));
            } else if config.name(child) == "include" && depth < MAX_INCLUDE_DEPTH {
                let context = context_of(current.scope);
                for &target in model.includes.get(&here).into_iter().flatten() {
                    stack.push((BlockRef { file: target, scope: None }, context, depth + 1));
                }
            }
        }
    }
    found.sort_by_key(|f| (f.dir.file != block.file, f.dir, f.context));
    found.dedup_by_key(|f| (f.dir, f.context));
    found
}

/// The project files that `include` lines inside `block` load, at any depth.
pub fn included_files(model: &Model, block: BlockRef) -> Vec<usize> {
    let mut files: Vec<usize> = find_within(model, block, "include")
        .into_iter()
        .flat_map(|site| model.includes.get(&site.dir).cloned().unwrap_or_default())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Every block inside `server` (any depth, `server` included), and those of the project files
/// its `include` lines load (`location` blocks kept in a snippet).
pub fn blocks_within(model: &Model, server: DirRef) -> Vec<BlockRef> {
    let config = model.config(server.file);
    let mut blocks: Vec<BlockRef> =
        config.blocks_within(server.id).into_iter().map(|id| BlockRef { file: server.file, scope: Some(id) }).collect();
    for snippet in included_files(model, server.block()) {
        let snippet_config = model.config(snippet);
        for top in snippet_config.children(None).filter(|&d| snippet_config.directive(d).block.is_some()) {
            blocks.extend(
                snippet_config.blocks_within(top).into_iter().map(|id| BlockRef { file: snippet, scope: Some(id) }),
            );
        }
    }
    blocks
}

impl Model {
    /// `path:line` of a block (line 0 for a file's top level), for messages.
    pub fn block_location(&self, block: BlockRef) -> Location {
        let file = self.file(block.file);
        Location::new(file.path.clone(), block.scope.map_or(0, |id| file.config.line(id)))
    }

    /// The directive as one line of text (`proxy_pass http://app`), for messages.
    pub fn describe(&self, dir: DirRef) -> String {
        self.config(dir.file).describe(dir.id)
    }

    /// The directive's argument at `index`, unquoted.
    pub fn arg(&self, dir: DirRef, index: usize) -> Option<String> {
        self.config(dir.file).arg(dir.id, index).map(|a| a.into_owned())
    }

    /// The directive named `name` in effect inside `block`: the last one of the innermost level
    /// that sets it (see [`Model::inherited`]).
    pub fn effective(&self, block: BlockRef, name: &str) -> Option<DirRef> {
        self.inherited(block, name).and_then(|(_, found)| found.last().copied())
    }

    /// Whether `name` is in effect inside `block` with `value` as its first argument
    /// (`gzip off`, `proxy_buffering off`): the directive saying so, if it is.
    pub fn effective_is(&self, block: BlockRef, name: &str, value: &str) -> Option<DirRef> {
        self.effective(block, name).filter(|&dir| self.arg(dir, 0).as_deref() == Some(value))
    }

    /// The `http {}` blocks of the project's main nginx.conf files.
    pub fn main_http_blocks(&self) -> Vec<BlockRef> {
        self.files
            .iter()
            .enumerate()
            .filter(|(_, file)| file.role == Role::Main)
            .flat_map(|(index, file)| {
                file.config.children_named(None, "http").map(move |id| BlockRef { file: index, scope: Some(id) })
            })
            .collect()
    }

    /// The `include` lines that load project file `file`, in file order.
    pub fn includers(&self, file: usize) -> Vec<DirRef> {
        let mut sites: Vec<DirRef> =
            self.includes.iter().filter(|(_, targets)| targets.contains(&file)).map(|(site, _)| *site).collect();
        sites.sort();
        sites
    }

    /// The `include` lines inside `block` (any depth, in file order) that load no project file and
    /// name no distro file: files from outside the project, whose contents are unknown. One per
    /// pattern.
    pub fn outside_includes(&self, block: DirRef) -> Vec<(DirRef, String)> {
        let mut outside: Vec<(DirRef, String)> = Vec::new();
        for id in self.config(block.file).descendants_named(block.id, "include") {
            let site = DirRef { file: block.file, id };
            let Some(pattern) = self.arg(site, 0) else { continue };
            if self.includes.get(&site).is_none_or(|targets| targets.is_empty())
                && !Model::is_distro_include(&pattern)
                && !outside.iter().any(|(_, seen)| *seen == pattern)
            {
                outside.push((site, pattern));
            }
        }
        outside
    }

    /// Whether a server only redirects (`return`, as the usual port-80 server does): it has no
    /// directive that sends content and no `include` that might hold one.
    pub fn only_redirects(&self, server: DirRef) -> bool {
        let config = self.config(server.file);
        let mut stack = vec![server.id];
        let mut redirects = false;
        while let Some(id) = stack.pop() {
            for child in config.children(Some(id)) {
                let name = config.name(child);
                if CONTENT.contains(&name) || name == "include" {
                    return false;
                }
                redirects |= name == "return";
                if config.directive(child).block.is_some() {
                    stack.push(child);
                }
            }
        }
        redirects
    }
}
