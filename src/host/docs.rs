//! The script API's reference, read from the engine's metadata (the `///`
//! doc comments of every registered function): REPL help, `resilient docs`.

use rhai::Engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    modules: BTreeMap<String, ModuleMeta>,
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
struct ModuleMeta {
    #[serde(default)]
    functions: Vec<FnMeta>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FnMeta {
    name: String,
    #[serde(default)]
    params: Vec<ParamMeta>,
    return_type: Option<String>,
    #[serde(default)]
    doc_comments: Vec<String>,
}

#[derive(Deserialize)]
struct ParamMeta {
    name: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
}

/// One documented script function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionDoc {
    /// The module (`deploy`, …), or `None` for a global function.
    pub module: Option<String>,
    /// The function's name.
    pub name: String,
    /// The signature in script types, e.g. `deploy::all() -> map`.
    pub signature: String,
    /// The doc comment's text, without the `///` markers.
    pub doc: String,
}

impl FunctionDoc {
    /// `module::name` or `name`.
    pub fn qualified_name(&self) -> String {
        match &self.module {
            Some(m) => format!("{m}::{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The doc comment's first sentence.
    pub fn summary(&self) -> String {
        let first_para = self.doc.split("\n\n").next().unwrap_or("");
        let joined = first_para.split_whitespace().collect::<Vec<_>>().join(" ");
        match joined.find(". ") {
            Some(i) => joined[..=i].to_string(),
            None => joined,
        }
    }
}

/// A Rust type name as scripts know it.
fn script_type(rust: &str) -> String {
    let t = rust.trim();
    let t = t
        .strip_prefix("Result<")
        .and_then(|r| r.rsplit_once(", Box<EvalAltResult>>").map(|(ok, _)| ok))
        .unwrap_or(t)
        .trim();
    match t {
        "&str" | "String" | "ImmutableString" | "&mut String" => "string".into(),
        "i64" | "INT" => "int".into(),
        "f64" | "FLOAT" => "float".into(),
        "bool" => "bool".into(),
        "Map" | "rhai::Map" => "map".into(),
        "Array" | "rhai::Array" => "array".into(),
        "FnPtr" => "Fn".into(),
        "Dynamic" => "?".into(),
        "()" => "()".into(),
        other => other.rsplit("::").next().unwrap_or(other).to_string(),
    }
}

fn to_doc(module: Option<&str>, f: FnMeta) -> FunctionDoc {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|p| {
            let ty =
                p.ty.as_deref()
                    .map(script_type)
                    .unwrap_or_else(|| "?".into());
            match &p.name {
                Some(n) => format!("{n}: {ty}"),
                None => ty,
            }
        })
        .collect();
    let ret = f
        .return_type
        .as_deref()
        .map(script_type)
        .unwrap_or_else(|| "()".into());
    let prefix = module.map(|m| format!("{m}::")).unwrap_or_default();
    let arrow = if ret == "()" {
        String::new()
    } else {
        format!(" -> {ret}")
    };
    let doc = f
        .doc_comments
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| {
            l.trim_start()
                .trim_start_matches("///")
                .trim_start_matches("/**")
                .trim_end_matches("*/")
                .strip_prefix(' ')
                .unwrap_or_else(|| l.trim_start().trim_start_matches("///"))
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string();
    FunctionDoc {
        module: module.map(str::to_string),
        signature: format!("{prefix}{}({}){arrow}", f.name, params.join(", ")),
        name: f.name,
        doc,
    }
}

/// Every function of the script API (the registered modules and global
/// functions, not Rhai's standard library), sorted by module and name.
pub fn function_docs(engine: &Engine) -> Vec<FunctionDoc> {
    let json = engine.gen_fn_metadata_to_json(false).unwrap_or_default();
    let meta: Metadata = serde_json::from_str(&json).unwrap_or(Metadata {
        modules: BTreeMap::new(),
        functions: Vec::new(),
    });
    let mut docs: Vec<FunctionDoc> = meta
        .modules
        .into_iter()
        .flat_map(|(m, module)| {
            module
                .functions
                .into_iter()
                .map(move |f| to_doc(Some(&m), f))
                .collect::<Vec<_>>()
        })
        .chain(meta.functions.into_iter().map(|f| to_doc(None, f)))
        .collect();
    docs.sort_by(|a, b| {
        (&a.module, &a.name, &a.signature).cmp(&(&b.module, &b.name, &b.signature))
    });
    docs
}

/// What each module is for, in one line.
pub fn module_summary(module: &str) -> &'static str {
    match module {
        "deploy" => "create the service, step by step or all at once",
        "inspect" => "look without touching: requests, target health, instances, parameters",
        "failure" => "break the service in realistic ways, and repair it",
        "destroy" => "tear everything down",
        "ui" => "headings, explanations, prompts and tables",
        "load" => "bounded load through the load balancer, with what customers saw",
        "check" => "steady-state assertions that decide the exit code",
        _ => "",
    }
}

/// The whole reference as Markdown.
pub fn markdown(docs: &[FunctionDoc]) -> String {
    let mut out = String::from(
        "# The resilient script API\n\nGenerated by `resilient docs` from the functions' doc comments.\n",
    );
    let mut current: Option<Option<String>> = None;
    for d in docs {
        if current.as_ref() != Some(&d.module) {
            current = Some(d.module.clone());
            match &d.module {
                Some(m) => out.push_str(&format!("\n## `{m}::` — {}\n", module_summary(m))),
                None => out.push_str("\n## Global functions\n"),
            }
        }
        out.push_str(&format!("\n### `{}`\n\n{}\n", d.signature, d.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_types_read_as_script_types() {
        assert_eq!(script_type("Result<Map, Box<EvalAltResult>>"), "map");
        assert_eq!(script_type("&str"), "string");
        assert_eq!(script_type("Result<(), Box<EvalAltResult>>"), "()");
        assert_eq!(script_type("resilient::api::load::LoadRun"), "LoadRun");
    }

    #[test]
    fn summary_is_the_first_sentence() {
        let d = FunctionDoc {
            module: None,
            name: "x".into(),
            signature: "x()".into(),
            doc: "Does a thing. Then more.\n\nDetails.".into(),
        };
        assert_eq!(d.summary(), "Does a thing.");
    }
}
