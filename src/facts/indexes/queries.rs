//! Query mining: the querysets the code builds on each model, read from the Python files that
//! mention `.objects` or a manager/queryset of a model.
//!
//! A query is a chain of queryset methods on a model's manager (`Message.objects.filter(...)
//! .order_by(...)`), possibly started from a variable assigned a chain earlier in the same scope
//! (`qs = Message.objects.all()` ... `qs.filter(...)`), from a view's `queryset` attribute
//! (`self.queryset`, `super().get_queryset()`), or from `self` inside a manager or queryset class
//! that a model uses. Only the method names and the lookup keys are kept; their meaning for
//! indexes is decided by the proposals, which know the model's fields.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use super::names::{Imports, Names, Unresolved, imports};
use crate::lang::python::{self, PyFile};
use crate::text::location::Location;

/// One queryset method call of a chain: its name, keyword keys and string positional arguments.
///
/// `keys` holds every lookup the rows must all match: the keyword arguments and the keys of the
/// `Q(...)` objects joined with `&`. Lookups joined with `|` go to `any_of` instead: an OR is
/// served by one index per branch or by none, never by one composite index over its branches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Step {
    pub method: String,
    pub keys: Vec<String>,
    pub strings: Vec<String>,
    pub any_of: Vec<String>,
}

/// One query found in the code.
#[derive(Debug, Clone)]
pub struct Query {
    /// Index of the model in the project's model list.
    pub model: usize,
    pub location: Location,
    pub steps: Vec<Step>,
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

/// The shortcuts that run a query on a model, a manager or a queryset given as first argument, and
/// the queryset method they amount to (`django.shortcuts`).
const SHORTCUTS: &[(&str, &str)] = &[("get_object_or_404", "get"), ("get_list_or_404", "filter")];

/// Methods whose arguments are lookups (keywords and `Q` objects).
const LOOKUP_METHODS: &[&str] = &["filter", "exclude", "get", "get_or_create", "update_or_create"];

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
    /// The view class when this is its `queryset` attribute.
    view: Option<usize>,
    /// The line of the assignment, where a view's sorted `queryset` is reported.
    line: usize,
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
    imports: Imports,
    /// The line of the chain being resolved, and the name in it that could not be tied to one
    /// model (read by [`Miner::query_of`]).
    current_line: std::cell::Cell<usize>,
    unresolved: RefCell<Option<Unresolved>>,
    /// Queries on names that are not (or not surely) models of the project.
    pub(crate) skipped: Vec<Unresolved>,
    /// The conditional blocks enclosing the node being visited, outermost first.
    branches: Vec<usize>,
    /// The last chain-top call resolved (node id, model, steps, binding), which an assignment
    /// right after it takes instead of reading the chain again.
    last_chain: Option<(usize, Resolved)>,
    /// The query mined for each chain-top call node, so that a shortcut taking that chain as its
    /// argument (`get_list_or_404(Post.objects.filter(...), ...)`) replaces it instead of adding a
    /// second, narrower query.
    query_at: HashMap<usize, usize>,
    /// Per query: the view class whose `queryset` it is or starts from, whose declared `ordering`
    /// the view applies to it.
    origin: Vec<Option<usize>>,
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
pub fn mine(file: &PyFile, names: &Names) -> (Vec<Query>, Vec<Unresolved>) {
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
        current_line: std::cell::Cell::new(0),
        unresolved: RefCell::new(None),
        skipped: Vec::new(),
        branches: Vec::new(),
        last_chain: None,
        query_at: HashMap::new(),
        origin: Vec::new(),
    };
    let mut cursor = root.walk();
    miner.visit(&mut cursor, Context { scope: root.id(), class: None }, [None, None]);
    let extended = std::mem::take(&mut miner.extended);
    let queries = miner
        .queries
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !extended.get(*i).copied().unwrap_or(false))
        .map(|(_, q)| q)
        .collect();
    (queries, miner.skipped)
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
                if let Some((query, origin)) = self.query_of(node, context) {
                    self.query_at.insert(node.id(), self.queries.len());
                    self.queries.push(query);
                    self.extended.push(false);
                    self.origin.push(origin);
                }
            }
            "assignment" => self.bind(node, context),
            "class_definition" => self.apply_view_ordering(node),
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
        let name = self.file.text(left);
        let view = (name == "queryset" && context.class.is_some_and(|class| class.id() == context.scope))
            .then_some(context.scope);
        if let Some(query) = query
            && view.is_some()
        {
            self.origin[query] = view;
        }
        self.bindings.push(Binding {
            scope: context.scope,
            name: name.to_owned(),
            at: assignment.end_byte(),
            model,
            steps,
            query,
            branches: self.branches.clone(),
            view,
            line: self.file.source.line_of(assignment.start_byte()),
        });
    }

    /// The query a chain-top call runs, with the view class whose `queryset` it starts from.
    fn query_of(&mut self, call: Node<'t>, context: Context<'t>) -> Option<(Query, Option<usize>)> {
        self.current_line.set(self.file.source.line_of(call.start_byte()));
        let resolved = self.resolve_chain(call, context);
        self.last_chain = Some((call.id(), resolved.clone()));
        let unresolved = self.unresolved.take();
        let Some((model, steps, from)) = resolved else {
            // A query on a name that is not surely one of the project's models is said, not guessed.
            if let Some(unresolved) = unresolved
                && chain_methods(call, self.src)
                    .iter()
                    .any(|m| QUERY_METHODS.contains(m) || SHORTCUTS.iter().any(|(name, _)| name == m))
            {
                self.skipped.push(unresolved);
            }
            return None;
        };
        if !steps.iter().any(|s| QUERY_METHODS.contains(&s.method.as_str())) {
            return None;
        }
        if let Some(first) = shortcut_argument(call, self.src)
            && let Some(&inner) = self.query_at.get(&first.id())
        {
            self.extended[inner] = true;
        }
        let mut origin = None;
        if let Some(binding) = from {
            let binding = &self.bindings[binding];
            origin = binding.view.or_else(|| binding.query.and_then(|q| self.origin[q]));
            if let Some(query) = binding.query {
                self.extended[query] = true;
            }
        }
        let location = Location::new(self.path, self.file.source.line_of(call.start_byte()));
        Some((Query { model, location, steps }, origin))
    }

    /// A view's declared `ordering` (Django's generic list views apply it to their queryset; DRF
    /// applies it through `OrderingFilter`) is the order every list request reads: an `order_by`
    /// after the view's queries. Each of DRF's `ordering_fields` is an order a client may ask for:
    /// an alternative query, mined only when the queryset filters on this table, because a
    /// filtered and sorted page is what a composite index serves (an unfiltered sort by a
    /// client-chosen column is left to a later, measured decision).
    ///
    /// The admin's `ordering` and `list_filter` are not mined: an admin class has no `queryset`
    /// attribute, so they never reach here (the admin is low-traffic).
    fn apply_view_ordering(&mut self, class: Node<'t>) {
        let Some(body) = class.child_by_field_name("body") else { return };
        let (mut ordering, mut ordering_fields) = (None, None);
        // A list, a tuple or one string (`ordering = "-created_at"` is allowed too).
        let strings = |value| {
            super::py::string_list(value, self.src).or_else(|| python::string_value(value, self.src).map(|s| vec![s]))
        };
        for statement in python::named_children(body) {
            match super::py::named_assignment(statement, self.src) {
                Some((name, value)) if name == "ordering" => ordering = strings(value),
                Some((name, value)) if name == "ordering_fields" => ordering_fields = strings(value),
                _ => {}
            }
        }
        if ordering.is_none() && ordering_fields.is_none() {
            return;
        }
        let order_by = |strings: Vec<String>| Step { method: "order_by".into(), strings, ..Step::default() };
        let mut views: Vec<usize> =
            (0..self.queries.len()).filter(|&i| self.origin[i] == Some(class.id()) && !self.extended[i]).collect();
        // `queryset = Model.objects.all()` runs no query of its own until the view sorts it.
        if views.is_empty()
            && ordering.is_some()
            && let Some(binding) = self.bindings.iter().rev().find(|b| b.view == Some(class.id()))
        {
            let location = Location::new(self.path, binding.line);
            self.queries.push(Query { model: binding.model, location, steps: binding.steps.clone() });
            self.extended.push(false);
            self.origin.push(Some(class.id()));
            views.push(self.queries.len() - 1);
        }
        for i in views {
            if let Some(fields) = &ordering_fields
                && self.queries[i].steps.iter().any(|s| s.method == "filter" && !s.keys.is_empty())
            {
                let bare = |f: &str| f.trim_start_matches(['-', '+']).to_owned();
                let declared: Vec<String> = ordering.iter().flatten().map(|f| bare(f)).collect();
                for field in fields.iter().filter(|f| f.as_str() != "__all__" && !declared.contains(&bare(f))) {
                    let mut alternative = self.queries[i].clone();
                    alternative.steps.push(order_by(vec![field.clone()]));
                    self.queries.push(alternative);
                    self.extended.push(false);
                    self.origin.push(None);
                }
            }
            if let Some(ordering) = &ordering {
                self.queries[i].steps.push(order_by(ordering.clone()));
            }
        }
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
        self.step_named(self.file.text(name), call, 0)
    }

    /// A step for `call`'s arguments from its `skip`-th positional argument on (a shortcut's first
    /// argument is the model or queryset, not a lookup).
    fn step_named(&self, method: &str, call: Node, skip: usize) -> Step {
        let mut keys: Vec<String> =
            python::kwargs(call, self.src).into_iter().map(|(k, _)| k).filter(|k| k != "defaults").collect();
        let positional: Vec<Node> = python::positional_args(call).into_iter().skip(skip).collect();
        let strings = positional.iter().filter_map(|a| python::string_value(*a, self.src)).collect();
        let mut any_of = Vec::new();
        if LOOKUP_METHODS.contains(&method) {
            for argument in &positional {
                self.q_keys(*argument, &mut keys, &mut any_of);
            }
        }
        Step { method: method.to_owned(), keys, strings, any_of }
    }

    /// The lookups of a `Q` expression: those every row must match into `all`, those joined by
    /// `|` into `any`. A negation (`~Q(...)`) is like `exclude`: an index seldom serves it.
    fn q_keys(&self, node: Node, all: &mut Vec<String>, any: &mut Vec<String>) {
        match node.kind() {
            "parenthesized_expression" => {
                if let Some(inner) = python::named_children(node).first() {
                    self.q_keys(*inner, all, any);
                }
            }
            "boolean_operator" | "binary_operator" => {
                let (Some(left), Some(right), Some(operator)) = (
                    node.child_by_field_name("left"),
                    node.child_by_field_name("right"),
                    node.child_by_field_name("operator"),
                ) else {
                    return;
                };
                match self.file.text(operator) {
                    "&" => {
                        self.q_keys(left, all, any);
                        self.q_keys(right, all, any);
                    }
                    "|" => {
                        // Whatever a branch requires, the other branch does not.
                        for side in [left, right] {
                            let mut branch = Vec::new();
                            self.q_keys(side, &mut branch, any);
                            any.extend(branch);
                        }
                    }
                    _ => {}
                }
            }
            "call" => {
                let Some(function) = node.child_by_field_name("function") else { return };
                if super::py::last_segment(self.file.text(function)) != "Q" {
                    return;
                }
                all.extend(python::kwargs(node, self.src).into_iter().map(|(k, _)| k).filter(|k| !k.starts_with('_')));
                for nested in python::positional_args(node) {
                    self.q_keys(nested, all, any);
                }
            }
            _ => {}
        }
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
                let function = base.child_by_field_name("function")?;
                let called = super::py::last_segment(self.file.text(function));
                if let Some((_, method)) = SHORTCUTS.iter().find(|(name, _)| *name == called) {
                    return self.shortcut(base, method, context);
                }
                // super().get_queryset()
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

    /// `get_object_or_404(Model | Model.objects | <queryset>, **lookups)` and `get_list_or_404`:
    /// the first argument's chain (a model name starts a fresh one), then the shortcut's own step.
    /// The argument's own query, mined before, is replaced by this longer one.
    fn shortcut(
        &self,
        call: Node<'t>,
        method: &str,
        context: Context<'t>,
    ) -> Option<(usize, Vec<Step>, Option<usize>)> {
        let first = *python::positional_args(call).first()?;
        // A variable bound to a queryset first; else a name is the model itself.
        let (model, mut steps, from) = self.resolve_chain(first, context).or_else(|| {
            (first.kind() == "identifier")
                .then(|| self.model_named(self.file.text(first)))
                .flatten()
                .map(|m| (m, Vec::new(), None))
        })?;
        steps.push(self.step_named(method, call, 1));
        Some((model, steps, from))
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

    /// The model a class name means in this file ([`Names::resolve`]); a name that is not surely
    /// one is recorded as unresolved, for the query that uses it.
    fn model_named(&self, name: &str) -> Option<usize> {
        match self.names.resolve(name, &self.imports, self.path)? {
            Ok(model) => Some(model),
            Err(why) => {
                *self.unresolved.borrow_mut() = Some(Unresolved { name: name.to_owned(), location: self.here(), why });
                None
            }
        }
    }

    /// Where the chain being resolved is, for an unresolved name.
    fn here(&self) -> Location {
        Location::new(self.path, self.current_line.get())
    }
}

/// The method names of a chain, outermost last (`filter`, `order_by` of `X.objects.filter().order_by()`).
fn chain_methods<'s>(mut node: Node, src: &'s str) -> Vec<&'s str> {
    let mut methods = Vec::new();
    while node.kind() == "call" {
        let Some(function) = node.child_by_field_name("function") else { break };
        if let Some(attribute) = function.child_by_field_name("attribute").filter(|_| function.kind() == "attribute") {
            methods.push(&src[attribute.byte_range()]);
            match function.child_by_field_name("object") {
                Some(object) => node = object,
                None => break,
            }
        } else {
            methods.push(super::py::last_segment(&src[function.byte_range()]));
            break;
        }
    }
    methods
}

/// The first argument of a `get_object_or_404` / `get_list_or_404` call.
fn shortcut_argument<'t>(call: Node<'t>, src: &str) -> Option<Node<'t>> {
    let function = call.child_by_field_name("function")?;
    let called = super::py::last_segment(&src[function.byte_range()]);
    SHORTCUTS.iter().any(|(name, _)| *name == called).then(|| python::positional_args(call).first().copied())?
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
        let mut names = Names {
            managers: HashMap::from([("MessageQuerySet", 0)]),
            manager_attrs: vec![vec!["objects".into()]],
            ..Names::default()
        };
        names.add_model(0, "Message", Path::new("chat/models.py"), Path::new("chat"), Path::new(""));
        names
    }

    fn parse(path: &str, src: &str) -> PyFile {
        python::parse(std::sync::Arc::new(crate::text::source::SourceFile::from_text(path, src))).unwrap()
    }

    fn run(src: &str) -> Vec<Query> {
        mine(&parse("chat/views.py", src), &names()).0
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

    /// Each query as its methods, and its `&`-keys, strings and `|`-keys.
    fn summary(queries: &[Query]) -> Vec<(usize, String)> {
        queries
            .iter()
            .map(|q| {
                let steps: Vec<String> =
                    q.steps.iter().map(|s| format!("{}{:?}{:?}{:?}", s.method, s.keys, s.strings, s.any_of)).collect();
                (q.location.line, steps.join("."))
            })
            .collect()
    }

    #[test]
    fn shortcuts_and_non_filtering_calls() {
        let src = "def f(c, pk):\n    m = get_object_or_404(Message, pk=pk, status='x')\n    l = get_list_or_404(Message.objects.filter(conversation=c).only('id'), status='y')\n    Message.objects.filter(conversation=c).select_related('a').values_list('id').first()\n    qs = Message.objects.filter(conversation=c)\n    return get_object_or_404(qs, slug='s')\n";
        assert_eq!(
            summary(&run(src)),
            [
                (2, r#"get["pk", "status"][][]"#.to_owned()),
                (3, r#"filter["conversation"][][].only[]["id"][].filter["status"][][]"#.to_owned()),
                (
                    4,
                    r#"filter["conversation"][][].select_related[]["a"][].values_list[]["id"][].first[][][]"#
                        .to_owned()
                ),
                (6, r#"filter["conversation"][][].get["slug"][][]"#.to_owned()),
            ]
        );
    }

    #[test]
    fn q_objects_and_or_or() {
        let src = "from django.db.models import Q\nMessage.objects.filter(Q(a=1) & (Q(b=2) & ~Q(c=3)), d=4)\nMessage.objects.filter(Q(a=1) | Q(b=2, c=3)).count()\nMessage.objects.filter(Q(Q(a=1), e=5))\n";
        assert_eq!(
            summary(&run(src)),
            [
                (2, r#"filter["d", "a", "b"][][]"#.to_owned()),
                (3, r#"filter[][]["a", "b", "c"].count[][][]"#.to_owned()),
                (4, r#"filter["e", "a"][][]"#.to_owned()),
            ]
        );
    }

    #[test]
    fn view_ordering_and_ordering_fields() {
        let src = "class A(ModelViewSet):\n    queryset = Message.objects.filter(status='x')\n    ordering = ['-created_at']\n    ordering_fields = ['created_at', 'score']\n\nclass B(ListAPIView):\n    queryset = Message.objects.all()\n    ordering_fields = ['score']\n    def get_queryset(self):\n        return super().get_queryset().filter(conversation=1)\n\nclass C(admin.ModelAdmin):\n    ordering = ['-created_at']\n    list_filter = ['status']\n\nclass D(ListView):\n    queryset = Message.objects.all()\n    ordering = '-created_at'\n";
        assert_eq!(
            summary(&run(src)),
            [
                (2, r#"filter["status"][][].order_by[]["-created_at"][]"#.to_owned()),
                (2, r#"filter["status"][][].order_by[]["score"][]"#.to_owned()),
                (10, r#"all[][][].filter["conversation"][][]"#.to_owned()),
                (10, r#"all[][][].filter["conversation"][][].order_by[]["score"][]"#.to_owned()),
                (17, r#"all[][][].order_by[]["-created_at"][]"#.to_owned()),
            ]
        );
    }

    #[test]
    fn ambiguous_names_follow_the_imports() {
        let mut names = Names { manager_attrs: vec![vec![], vec![], vec![]], ..Names::default() };
        names.add_model(0, "Item", Path::new("shop/models.py"), Path::new("shop"), Path::new(""));
        names.add_model(1, "Item", Path::new("blog/models/item.py"), Path::new("blog"), Path::new(""));
        names.add_model(2, "Group", Path::new("src/teams/models.py"), Path::new("src/teams"), Path::new("src"));
        let run = |path: &str, src: &str| {
            let (queries, skipped) = mine(&parse(path, src), &names);
            let why: Vec<String> = skipped.iter().map(|s| format!("{}: {}", s.location, s.why)).collect();
            (queries.iter().map(|q| q.model).collect::<Vec<_>>(), why)
        };
        let none = Vec::<String>::new();
        assert_eq!(
            run("reports/views.py", "from blog.models import Item\nItem.objects.filter(a=1)\n"),
            (vec![1], none.clone())
        );
        assert_eq!(
            run("reports/views.py", "from shop.models import Item\nItem.objects.get(a=1)\n"),
            (vec![0], none.clone())
        );
        assert_eq!(
            run("shop/api/views.py", "from ..models import Item\nItem.objects.filter(a=1)\n"),
            (vec![0], none.clone())
        );
        assert_eq!(run("shop/views.py", "Item.objects.filter(a=1)\n"), (vec![0], none.clone()));
        assert_eq!(
            run("other/views.py", "from shop.models import *\nItem.objects.filter(a=1)\n"),
            (vec![0], none.clone())
        );
        let (found, why) = run("other/views.py", "Item.objects.filter(a=1)\n");
        assert!(found.is_empty() && why[0].contains("other/views.py:1: `Item` is defined by 2 apps"), "{why:?}");
        // Another app's model of the same name: django.contrib.auth's Group is not the project's.
        let auth = "from django.contrib.auth.models import Group\n\ndef f(n):\n    return Group.objects.filter(name=n).first()\n";
        let (found, why) = run("src/teams/views.py", auth);
        assert!(found.is_empty(), "{found:?}");
        assert!(
            why[0].contains("views.py:4: `Group` is imported from `django.contrib.auth.models`, outside"),
            "{why:?}"
        );
        assert_eq!(run("src/teams/views.py", "from teams.models import Group\nGroup.objects.get(a=1)\n").0, [2]);
        assert_eq!(run("src/teams/views.py", "from .models import Group\nGroup.objects.create(a=1)\n"), (vec![], none));
    }
}
