//! `index.d.ts`: the wire types, `UpdateType`, `QueryPath`, `UPDATE_QUERY_MAP` and `AppRouter`,
//! a router type built from `@trpc/server`'s exported types so that `createTRPCClient<AppRouter>`
//! infers every procedure's input and output. Dotted paths become nested routers.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use specta::Types;
use specta::datatype::DataType;
use specta_typescript::{Error, Exporter, FrameworkExporter, Typescript};

use super::{ExportError, quote};
use crate::procedure::ProcedureKind;

/// What the router type needs to know of one procedure.
pub(super) struct Signature {
    /// The dotted path.
    pub path: &'static str,
    /// Query, mutation or subscription.
    pub kind: ProcedureKind,
    /// The input's type; `None` for a procedure that takes no input.
    pub input: Option<DataType>,
    /// The output's type (for a subscription, each event's).
    pub output: DataType,
}

/// Names this module declares; a wire type of the same name would clash.
const DECLARED: [&str; 4] = ["AppRouter", "QueryPath", "RouterInputs", "RouterOutputs"];

/// Everything rendered after the wire types, which the specta exporter calls back into.
struct Plan {
    signatures: Vec<Signature>,
    update_types: Vec<String>,
    map: BTreeMap<String, Vec<&'static str>>,
}

/// The text of `index.d.ts` after its header.
pub(super) fn render(
    types: &Types,
    signatures: Vec<Signature>,
    update_types: &[&str],
    map: BTreeMap<String, Vec<&'static str>>,
) -> Result<String, ExportError> {
    let plan = Arc::new(Plan {
        signatures,
        update_types: update_types.iter().map(|t| t.to_string()).collect(),
        map,
    });
    let exporter = Exporter::from(Typescript::default())
        .framework_prelude("")
        .framework_runtime(move |mut fe| plan.render(&mut fe).map(Cow::Owned));
    Ok(exporter.export(types, specta_serde::Format)?)
}

impl Plan {
    fn render(&self, fe: &mut FrameworkExporter<'_>) -> Result<String, Error> {
        self.refuse_clashes(fe.types)?;
        let mut out = String::from(IMPORTS);
        let wire_types = fe.render_types()?;
        if !wire_types.trim().is_empty() {
            out += "\n";
            out += wire_types.trim_end();
            out += "\n";
        }
        out += &self.update_type(fe)?;
        out += &self.query_paths();
        out += &self.update_query_map();
        out += ROUTER_PRELUDE;
        out += &self.app_router(fe)?;
        Ok(out)
    }

    fn refuse_clashes(&self, types: &Types) -> Result<(), Error> {
        match types
            .into_unsorted_iter()
            .find(|ndt| DECLARED.contains(&ndt.name.as_ref()))
        {
            Some(ndt) => Err(Error::framework(
                format!(
                    "the wire type {} clashes with a generated declaration",
                    ndt.name
                ),
                "rename it with #[serde(rename = \"…\")]",
            )),
            None => Ok(()),
        }
    }

    /// `UpdateType`: the wire type of that name when one exists (it must list exactly the update
    /// types), else a union of the update types.
    fn update_type(&self, fe: &FrameworkExporter<'_>) -> Result<String, Error> {
        let union = self
            .update_types
            .iter()
            .map(|t| quote(t))
            .collect::<Vec<_>>();
        let Some(ndt) = fe
            .types
            .into_unsorted_iter()
            .find(|ndt| ndt.name == "UpdateType" && ndt.ty.is_some())
        else {
            return Ok(format!(
                "\n/** What kind of resource changed: the `type` of an update notice. */\n\
                 export type UpdateType = {};\n",
                union.join(" | ")
            ));
        };
        let found = without_comments(&fe.inline(&DataType::Reference(ndt.reference(vec![])))?);
        let mut members = found.split('|').map(str::trim).collect::<Vec<_>>();
        let mut expected = union.iter().map(String::as_str).collect::<Vec<_>>();
        members.sort_unstable();
        expected.sort_unstable();
        if members != expected {
            return Err(Error::framework(
                format!("the wire type UpdateType is {}", members.join(" | ")),
                format!("the update types are {}", union.join(" | ")),
            ));
        }
        Ok(String::new())
    }

    fn query_paths(&self) -> String {
        let queries = self
            .signatures
            .iter()
            .filter(|s| s.kind == ProcedureKind::Query)
            .map(|s| quote(s.path))
            .collect::<Vec<_>>();
        let union = if queries.is_empty() {
            "never".to_owned()
        } else {
            queries.join("\n  | ")
        };
        format!("\n/** The path of every query. */\nexport type QueryPath =\n  | {union};\n")
    }

    /// The declaration of the map; its type is checked against `Record<UpdateType, readonly
    /// QueryPath[]>` wherever the package is type-checked.
    fn update_query_map(&self) -> String {
        let mut out = String::from(
            "\n/** `A` when it satisfies `B`, else a type error where it is used. */\n\
             type Satisfies<A extends B, B> = A;\n\
             \n/** For each update type, the query paths a notice of that type invalidates. */\n\
             export declare const UPDATE_QUERY_MAP: Satisfies<\n  {\n",
        );
        for ty in &self.update_types {
            let paths = self.map[ty].iter().map(|p| quote(p)).collect::<Vec<_>>();
            let _ = writeln!(
                out,
                "    readonly {}: readonly {};",
                quote(ty),
                list(&paths, "    ")
            );
        }
        out += "  },\n  Record<UpdateType, readonly QueryPath[]>\n>;\n";
        out += "\n/** Every update type, in declaration order. */\n";
        let _ = writeln!(
            out,
            "export declare const UPDATE_TYPES: readonly [{}];",
            self.update_types
                .iter()
                .map(|t| quote(t))
                .collect::<Vec<_>>()
                .join(", ")
        );
        out
    }

    fn app_router(&self, fe: &FrameworkExporter<'_>) -> Result<String, Error> {
        let mut root = Node::Router(BTreeMap::new());
        for signature in &self.signatures {
            root.insert(signature.path, procedure(fe, signature)?)?;
        }
        let mut out = String::from(
            "\n/** The server's router, for `createTRPCClient<AppRouter>` and \
             `createTRPCReact<AppRouter>`. */\n\
             export type AppRouter = TRPCBuiltRouter<Root, ",
        );
        root.write(&mut out, 0);
        out += ">;\n\n/** Every procedure's input, by path. */\n\
                export type RouterInputs = inferRouterInputs<AppRouter>;\n\
                \n/** Every procedure's output, by path. */\n\
                export type RouterOutputs = inferRouterOutputs<AppRouter>;\n";
        Ok(out)
    }
}

/// `Query<Input, Output>` (or `Mutation`, `Subscription`) for one procedure. A nullable input
/// may also be left out, which the server reads as `null`.
fn procedure(fe: &FrameworkExporter<'_>, signature: &Signature) -> Result<String, Error> {
    let input = match &signature.input {
        None => "void".to_owned(),
        Some(dt @ DataType::Nullable(_)) => format!("{} | undefined", fe.reference(dt)?),
        Some(dt) => fe.reference(dt)?,
    };
    let output = fe.reference(&signature.output)?;
    let kind = match signature.kind {
        ProcedureKind::Query => "Query",
        ProcedureKind::Mutation => "Mutation",
        ProcedureKind::Subscription => "Subscription",
    };
    Ok(format!("{kind}<{input}, {output}>"))
}

/// The router tree: dotted paths split into nested records.
enum Node {
    Procedure(String),
    Router(BTreeMap<String, Node>),
}

impl Node {
    fn insert(&mut self, path: &str, procedure: String) -> Result<(), Error> {
        let clash = || {
            Error::framework(
                format!("procedure path {path} clashes with another one"),
                "a path cannot be both a procedure and a prefix of another",
            )
        };
        let Node::Router(children) = self else {
            return Err(clash());
        };
        match path.split_once('.') {
            None if children.contains_key(path) => Err(clash()),
            None => {
                children.insert(path.to_owned(), Node::Procedure(procedure));
                Ok(())
            }
            Some((head, rest)) => children
                .entry(head.to_owned())
                .or_insert_with(|| Node::Router(BTreeMap::new()))
                .insert(rest, procedure)
                .map_err(|_| clash()),
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Node::Procedure(ts) => out.push_str(ts),
            Node::Router(children) => {
                out.push_str("{\n");
                for (name, child) in children {
                    out.push_str(&"  ".repeat(depth + 1));
                    out.push_str(&property_name(name));
                    out.push_str(": ");
                    child.write(out, depth + 1);
                    out.push_str(";\n");
                }
                out.push_str(&"  ".repeat(depth));
                out.push('}');
            }
        }
    }
}

/// `[a, b]` on one line when short, else one item per line indented under `indent`.
pub(super) fn list(items: &[String], indent: &str) -> String {
    let line = format!("[{}]", items.join(", "));
    if line.len() + indent.len() <= 80 {
        return line;
    }
    let mut out = String::from("[\n");
    for item in items {
        let _ = writeln!(out, "{indent}  {item},");
    }
    out + indent + "]"
}

/// `ts` without its `/** … */` comments (doc comments of enum variants).
fn without_comments(ts: &str) -> String {
    let mut out = String::new();
    let mut rest = ts;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// `name` as an object type's property name: bare when it is an identifier, quoted otherwise.
fn property_name(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        quote(name)
    }
}

const IMPORTS: &str = "\
import type {
  TRPCBuiltRouter,
  TRPCDefaultErrorShape,
  TRPCMutationProcedure,
  TRPCQueryProcedure,
  TRPCSubscriptionProcedure,
  inferRouterInputs,
  inferRouterOutputs,
} from \"@trpc/server\";
";

const ROUTER_PRELUDE: &str = "
/** The root types the client reads: plain JSON (no transformer) and tRPC's default error shape. */
type Root = {
  ctx: object;
  meta: object;
  errorShape: TRPCDefaultErrorShape;
  transformer: false;
};

/** A query taking `TInput` (`void`: none) and returning `TOutput`. */
type Query<TInput, TOutput> = TRPCQueryProcedure<{ input: TInput; output: TOutput; meta: object }>;

/** A mutation taking `TInput` (`void`: none) and returning `TOutput`. */
type Mutation<TInput, TOutput> = TRPCMutationProcedure<{
  input: TInput;
  output: TOutput;
  meta: object;
}>;

/** A tracked event: the client resumes from `id` (sent back as `lastEventId`). */
type Tracked<TData> = { id: string; data: TData };

/** A subscription whose events are tracked, so the client yields `{ id, data }`. */
type Subscription<TInput, TEvent> = TRPCSubscriptionProcedure<{
  input: TInput;
  output: AsyncIterable<Tracked<TEvent>, void, any>;
  meta: object;
}>;
";
