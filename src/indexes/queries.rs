//! Query mining: the querysets the code builds on each model, read from the Python files that
//! mention `.objects` or a manager/queryset of a model.
//!
//! A query is a chain of queryset methods on a model's manager (`Message.objects.filter(...)
//! .order_by(...)`), possibly started from a variable assigned a chain earlier in the same scope
//! (`qs = Message.objects.all()` ... `qs.filter(...)`), from a view's `queryset` attribute
//! (`self.queryset`, `super().get_queryset()`), or from `self` inside a manager or queryset class
//! that a model uses. Only the method names and the lookup keys are kept; their meaning for
//! indexes is decided by the proposals, which know the model's fields.

use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use crate::change::Location;
use crate::lang::python::{self, PyFile};

/// One queryset method call of a chain: its name, keyword keys and string positional arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub method: String,
    pub keys: Vec<String>,
    pub strings: Vec<String>,
}

/// One query found in the code.
#[derive(Debug, Clone)]
pub struct Query {
    /// Index of the model in the project's model list.
    pub model: usize,
    pub location: Location,
    pub steps: Vec<Step>,
}

/// What the miner needs to know about the project's models.
pub struct Names<'a> {
    /// Model class name -> model indices (several apps may reuse a name).
    pub models: HashMap<&'a str, Vec<usize>>,
    /// Manager or queryset class name -> model index.
    pub managers: HashMap<&'a str, usize>,
    /// Manager attribute names per model (`objects` and the declared ones).
    pub manager_attrs: Vec<Vec<String>>,
    /// The app folder of each model, to prefer the local model when a name is ambiguous.
    pub app_dirs: Vec<&'a Path>,
    /// The file each model is defined in, to follow a file's imports when a name is ambiguous.
    pub model_files: Vec<&'a Path>,
}

/// Methods that make a chain a query (evaluated against the table).
const QUERY_METHODS: &[&str] = &[
    "filter",
    "exclude",
    "get",
    "order_by",
    "latest",
    "earliest",
    "first",
    "last",
    "get_or_create",
    "update_or_create",
    "exists",
    "count",
];

/// Statements whose body runs on a condition, or another number of times than once: a
/// variable rebound in such a body holds one alternative of the query.
const CONDITIONAL_PARENTS: &[&str] = &[
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "with_statement",
    "match_statement",
    "case_clause",
];

/// One `.method(...)` link of a chain, before its arguments are read.
struct Link<'t> {
    name: Node<'t>,
    call: Node<'t>,
}

/// A queryset bound to a name in some scope.
#[derive(Debug, Clone)]
struct Binding {
    scope: usize,
    name: String,
    at: usize,
    model: usize,
    steps: Vec<Step>,
    /// The query mined for the right-hand side, dropped when another chain extends it.
    query: Option<usize>,
    /// The conditional blocks (if/elif/else, loop, try/except, with bodies) the assignment sits
    /// in: only code inside all of them sees this binding. A `q = q.filter(...)` under `if a:`
    /// is an alternative, not a step every later use of `q` takes.
    branches: Vec<usize>,
}

struct Miner<'a, 'n> {
    file: &'a PyFile,
    src: &'a str,
    path: &'a Path,
    names: &'n Names<'n>,
    bindings: Vec<Binding>,
    queries: Vec<Query>,
    extended: Vec<bool>,
    /// `from <module> import <Name>`: name -> the module as a relative path (`chat/models`).
    imports: HashMap<String, std::path::PathBuf>,
    /// The conditional blocks enclosing the node being visited, outermost first.
    branches: Vec<usize>,
    /// The last chain-top call resolved (node id, model, steps, binding), which an assignment
    /// right after it takes instead of reading the chain again.
    last_chain: Option<(usize, Resolved)>,
}

/// A chain resolved: its model, its steps, and the binding it starts from.
type Resolved = Option<(usize, Vec<Step>, Option<usize>)>;

/// Context of the node being visited: the enclosing function (scope) and class.
#[derive(Clone, Copy)]
struct Context<'t> {
    scope: usize,
    class: Option<Node<'t>>,
}

/// The queries of one parsed Python file.
pub fn mine(file: &PyFile, names: &Names) -> Vec<Query> {
    let (src, path, root) = (file.source.text.as_str(), file.source.path.as_path(), file.root());
    let imports = imports(file);
    let mut miner = Miner {
        file,
        src,
        path,
        names,
        bindings: Vec::new(),
        queries: Vec::new(),
        extended: Vec::new(),
        imports,
        branches: Vec::new(),
        last_chain: None,
    };
    let mut cursor = root.walk();
    miner.visit(&mut cursor, Context { scope: root.id(), class: None }, [None, None]);
    let extended = std::mem::take(&mut miner.extended);
    miner
        .queries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !extended.get(*i).copied().unwrap_or(false))
        .map(|(_, q)| q)
        .collect()
}

impl<'t> Miner<'_, '_> {
    /// Visits `node` below its `parent` and grandparent (passed down: tree-sitter finds a node's
    /// parent by walking from the root, too slow to ask at every call).
    /// One cursor walks the whole tree (a cursor per node would allocate at every node).
    fn visit(
        &mut self,
        cursor: &mut tree_sitter::TreeCursor<'t>,
        context: Context<'t>,
        [parent, grand]: [Option<Node<'t>>; 2],
    ) {
        let node = cursor.node();
        let mut context = context;
        let kind = node.kind();
        match kind {
            "function_definition" | "lambda" => context.scope = node.id(),
            "class_definition" => {
                context = Context { scope: node.id(), class: Some(node) };
            }
            _ => {}
        }
        let branch = kind == "block" && parent.is_some_and(|p| CONDITIONAL_PARENTS.contains(&p.kind()));
        if branch {
            self.branches.push(node.id());
        }
        if cursor.goto_first_child() {
            loop {
                if cursor.node().is_named() {
                    self.visit(cursor, context, [Some(node), parent]);
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
        match kind {
            "call" if is_chain_top(node, parent, grand) => {
                if let Some(query) = self.query_of(node, context) {
                    self.queries.push(query);
                    self.extended.push(false);
                }
            }
            "assignment" => self.bind(node, context),
            _ => {}
        }
        if branch {
            self.branches.pop();
        }
    }

    /// Records `name = <queryset chain>` so that later chains on `name` start from it.
    fn bind(&mut self, assignment: Node<'t>, context: Context<'t>) {
        let (Some(left), Some(right)) =
            (assignment.child_by_field_name("left"), assignment.child_by_field_name("right"))
        else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        // The right-hand side is usually the chain just resolved for its own query.
        let resolved = match self.last_chain.take() {
            Some((id, resolved)) if id == right.id() => resolved,
            _ => self.resolve_chain(right, context),
        };
        let Some((model, steps, _)) = resolved else { return };
        let query = self.queries.iter().rposition(|q| {
            q.location.line == self.file.source.line_of(right.start_byte()) && q.model == model && q.steps == steps
        });
        self.bindings.push(Binding {
            scope: context.scope,
            name: self.file.text(left).to_owned(),
            at: assignment.end_byte(),
            model,
            steps,
            query,
            branches: self.branches.clone(),
        });
    }

    fn query_of(&mut self, call: Node<'t>, context: Context<'t>) -> Option<Query> {
        let resolved = self.resolve_chain(call, context);
        self.last_chain = Some((call.id(), resolved.clone()));
        let (model, steps, from) = resolved?;
        if !steps.iter().any(|s| QUERY_METHODS.contains(&s.method.as_str())) {
            return None;
        }
        if let Some(binding) = from
            && let Some(query) = self.bindings[binding].query
        {
            self.extended[query] = true;
        }
        Some(Query { model, location: Location::new(self.path, self.file.source.line_of(call.start_byte())), steps })
    }

    /// The model and the full list of steps of a chain expression, and the binding it starts from.
    fn resolve_chain(&self, node: Node<'t>, context: Context<'t>) -> Option<(usize, Vec<Step>, Option<usize>)> {
        // The links first, as nodes: most calls do not start from a queryset, and their arguments
        // need not be read at all.
        let mut links = Vec::new();
        let mut base = node;
        while base.kind() == "call" {
            let function = base.child_by_field_name("function")?;
            if function.kind() != "attribute" {
                break;
            }
            links.push(Link { name: function.child_by_field_name("attribute")?, call: base });
            base = function.child_by_field_name("object")?;
        }
        links.reverse();
        let (model, prefix, from) = self.resolve_base(base, &mut links, context)?;
        let mut all = prefix;
        all.extend(links.into_iter().map(|link| self.step(link.name, link.call)));
        Some((model, all, from))
    }

    fn step(&self, name: Node, call: Node) -> Step {
        let keys = python::kwargs(call, self.src).into_iter().map(|(k, _)| k).filter(|k| k != "defaults").collect();
        let strings =
            python::positional_args(call).into_iter().filter_map(|a| python::string_value(a, self.src)).collect();
        Step { method: self.file.text(name).to_owned(), keys, strings }
    }

    /// What a chain starts from: a model's manager, a bound variable, a view's queryset, or `self`
    /// in a manager class. May consume a leading `get_queryset` step.
    fn resolve_base(
        &self,
        base: Node<'t>,
        steps: &mut Vec<Link<'t>>,
        context: Context<'t>,
    ) -> Option<(usize, Vec<Step>, Option<usize>)> {
        match base.kind() {
            "attribute" => {
                let object = base.child_by_field_name("object")?;
                let attribute = self.file.text(base.child_by_field_name("attribute")?);
                if object.kind() == "identifier" {
                    let object_name = self.file.text(object);
                    if matches!(object_name, "self" | "cls") && attribute == "queryset" {
                        return self.class_queryset(context);
                    }
                    let model = self.model_named(object_name)?;
                    let attrs = &self.names.manager_attrs[model];
                    if attribute == "objects"
                        || attribute.starts_with("_default_manager")
                        || attrs.iter().any(|a| a == attribute)
                    {
                        return Some((model, Vec::new(), None));
                    }
                }
                None
            }
            "identifier" => {
                let name = self.file.text(base);
                if name == "self" {
                    return self.start_from_self(steps, context);
                }
                let at = base.start_byte();
                let (index, binding) = self.bindings.iter().enumerate().rev().find(|(_, b)| {
                    b.name == name
                        && b.at <= at
                        && b.scope == context.scope
                        && b.branches.iter().all(|id| self.branches.contains(id))
                })?;
                Some((binding.model, binding.steps.clone(), Some(index)))
            }
            "call" => {
                // super().get_queryset()
                let function = base.child_by_field_name("function")?;
                if self.file.text(function) == "super"
                    && steps.first().is_some_and(|s| self.file.text(s.name) == "get_queryset")
                {
                    steps.remove(0);
                    return self.class_queryset(context).or_else(|| self.manager_model(context));
                }
                None
            }
            _ => None,
        }
    }

    /// `self.<queryset method>` in a manager or queryset class, `self.get_queryset()` in a view.
    fn start_from_self(
        &self,
        steps: &mut Vec<Link<'t>>,
        context: Context<'t>,
    ) -> Option<(usize, Vec<Step>, Option<usize>)> {
        if let Some(found) = self.manager_model(context) {
            if steps.first().is_some_and(|s| self.file.text(s.name) == "get_queryset") {
                steps.remove(0);
            }
            return Some(found);
        }
        if steps.first().is_some_and(|s| self.file.text(s.name) == "get_queryset") {
            steps.remove(0);
            return self.class_queryset(context);
        }
        None
    }

    fn manager_model(&self, context: Context<'t>) -> Option<(usize, Vec<Step>, Option<usize>)> {
        let class = context.class?;
        let name = self.file.text(class.child_by_field_name("name")?);
        self.names.managers.get(name).map(|&model| (model, Vec::new(), None))
    }

    /// The `queryset = ...` class attribute of the enclosing class (Django and DRF views).
    fn class_queryset(&self, context: Context<'t>) -> Option<(usize, Vec<Step>, Option<usize>)> {
        let class = context.class?;
        let (index, binding) =
            self.bindings.iter().enumerate().rev().find(|(_, b)| b.scope == class.id() && b.name == "queryset")?;
        Some((binding.model, binding.steps.clone(), Some(index)))
    }

    /// The model a class name means in this file: the only one of that name, else the one the
    /// file imports it from, else the one of the app the file belongs to.
    fn model_named(&self, name: &str) -> Option<usize> {
        match self.names.models.get(name)?.as_slice() {
            [only] => Some(*only),
            several => {
                let imported = self.imports.get(name).and_then(|module| {
                    several.iter().copied().find(|&m| {
                        let file = self.names.model_files[m];
                        file.with_extension("").ends_with(module)
                            || file.parent().is_some_and(|dir| dir.ends_with(module))
                    })
                });
                imported.or_else(|| several.iter().copied().find(|&m| self.path.starts_with(self.names.app_dirs[m])))
            }
        }
    }
}

/// The names a file imports with `from <module> import <Name>`, each with its module as a path
/// (relative imports resolved against the file's folder).
fn imports(file: &PyFile) -> HashMap<String, std::path::PathBuf> {
    let path = &file.source.path;
    let mut found = HashMap::new();
    for statement in python::named_children(file.root()) {
        if statement.kind() != "import_from_statement" {
            continue;
        }
        let Some(module) = statement.child_by_field_name("module_name") else { continue };
        let module_path = python::module_path(path, file.text(module));
        let mut cursor = statement.walk();
        for name in statement.children_by_field_name("name", &mut cursor) {
            let imported = match name.kind() {
                "aliased_import" => name.child_by_field_name("alias").map(|a| file.text(a)),
                _ => Some(file.text(name)),
            };
            if let Some(imported) = imported {
                found.insert(imported.to_owned(), module_path.clone());
            }
        }
    }
    found
}

/// Whether `call` is the outermost call of a method chain (not the object of a further `.method()`).
fn is_chain_top(call: Node, parent: Option<Node>, grand: Option<Node>) -> bool {
    let Some(parent) = parent else { return true };
    if parent.kind() != "attribute" || parent.child_by_field_name("object") != Some(call) {
        return true;
    }
    let Some(grand) = grand else { return true };
    !(grand.kind() == "call" && grand.child_by_field_name("function") == Some(parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names<'static> {
        Names {
            models: HashMap::from([("Message", vec![0])]),
            managers: HashMap::from([("MessageQuerySet", 0)]),
            manager_attrs: vec![vec!["objects".into()]],
            app_dirs: vec![Path::new("chat")],
            model_files: vec![Path::new("chat/models.py")],
        }
    }

    fn parse(path: &str, src: &str) -> PyFile {
        python::parse(std::sync::Arc::new(crate::source::SourceFile::from_text(path, src))).unwrap()
    }

    fn run(src: &str) -> Vec<Query> {
        mine(&parse("chat/views.py", src), &names())
    }

    #[test]
    fn chains_variables_and_views() {
        let src = "def f(c):\n    qs = Message.objects.filter(conversation=c)\n    return qs.order_by('-created_at')\n\nclass V(ListView):\n    queryset = Message.objects.all()\n    def get_queryset(self):\n        return super().get_queryset().filter(status='x')\n\nclass MessageQuerySet(QuerySet):\n    def unread(self):\n        return self.filter(read=False)\n";
        let queries = run(src);
        let shown: Vec<(usize, Vec<&str>)> =
            queries.iter().map(|q| (q.location.line, q.steps.iter().map(|s| s.method.as_str()).collect())).collect();
        assert_eq!(shown, [(3, vec!["filter", "order_by"]), (8, vec!["all", "filter"]), (12, vec!["filter"])]);
        assert_eq!(queries[0].steps[1].strings, ["-created_at"]);
        assert_eq!(queries[0].steps[0].keys, ["conversation"]);
    }

    #[test]
    fn conditional_refinements_are_alternatives_not_one_query() {
        let src = "def search(p, n, s):\n    q = Message.objects.filter(conversation=p)\n    if n:\n        q = q.filter(name=n)\n    if s:\n        q = q.filter(slug=s)\n    else:\n        q = q.exclude(slug='')\n    return q.order_by('-created_at')\n";
        let shown: Vec<(usize, Vec<String>)> = run(src)
            .iter()
            .map(|q| (q.location.line, q.steps.iter().flat_map(|s| s.keys.iter().chain(&s.strings).cloned()).collect()))
            .collect();
        let owned = |keys: &[&str]| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shown,
            [
                (4, owned(&["conversation", "name"])),
                (6, owned(&["conversation", "slug"])),
                (8, owned(&["conversation", "slug"])),
                (9, owned(&["conversation", "-created_at"])),
            ]
        );
    }

    #[test]
    fn ambiguous_names_follow_the_imports() {
        let names = Names {
            models: HashMap::from([("Item", vec![0, 1])]),
            managers: HashMap::new(),
            manager_attrs: vec![vec![], vec![]],
            app_dirs: vec![Path::new("shop"), Path::new("blog")],
            model_files: vec![Path::new("shop/models.py"), Path::new("blog/models/item.py")],
        };
        let run = |path: &str, src: &str| mine(&parse(path, src), &names).iter().map(|q| q.model).collect::<Vec<_>>();
        assert_eq!(run("reports/views.py", "from blog.models import Item\nItem.objects.filter(a=1)\n"), [1]);
        assert_eq!(run("reports/views.py", "from shop.models import Item\nItem.objects.get(a=1)\n"), [0]);
        assert_eq!(run("shop/api/views.py", "from ..models import Item\nItem.objects.filter(a=1)\n"), [0]);
        assert_eq!(run("shop/views.py", "Item.objects.filter(a=1)\n"), [0]);
        assert_eq!(run("other/views.py", "Item.objects.filter(a=1)\n"), Vec::<usize>::new());
    }
}
