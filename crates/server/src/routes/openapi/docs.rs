//! `/docs`: the OpenAPI document rendered as one self-contained HTML page (inline CSS, no
//! script, nothing fetched from elsewhere). It reads the document only, so it cannot drift.

use serde_json::{Map, Value};

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1f2328}\
code,pre{font:13px ui-monospace,monospace}h2{border-bottom:1px solid #d0d7de;margin-top:2.5rem}\
.op{border:1px solid #d0d7de;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}\
.m{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}\
.get{color:#0969da}.post{color:#1a7f37}.put,.patch{color:#9a6700}.delete{color:#cf222e}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:left;vertical-align:top}\
nav ul{columns:2}";

/// The CSP source that allows exactly [`STYLE`]: `sha256-<base64 of its digest>`.
pub fn style_source() -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(STYLE.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Renders the whole reference page.
pub fn render(document: &utoipa::openapi::OpenApi) -> String {
    let doc = serde_json::to_value(document).unwrap_or(Value::Null);
    let mut out = String::with_capacity(256 * 1024);
    let title = text(&doc["info"]["title"]);
    out.push_str(&format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} API reference</title>\
         <style>{STYLE}</style></head><body><h1>{} API reference</h1><p>{}</p>\
         <p>The machine-readable document: <a href=\"/openapi.json\"><code>/openapi.json</code></a> (OpenAPI {}).</p>",
        esc(&title),
        esc(&title),
        prose(&text(&doc["info"]["description"])),
        esc(&text(&doc["openapi"])),
    ));
    security_schemes(&mut out, &doc["components"]["securitySchemes"]);
    let operations = collect(&doc);
    out.push_str("<nav><h2>Operations</h2><ul>");
    for (method, path, op) in &operations {
        out.push_str(&format!(
            "<li><a href=\"#{}\"><span class=\"m {method}\">{method}</span> <code>{}</code></a></li>",
            esc(&text(&op["operationId"])),
            esc(path)
        ));
    }
    out.push_str("</ul></nav>");
    let mut tag = String::new();
    for (method, path, op) in &operations {
        let this_tag = text(&op["tags"][0]);
        if this_tag != tag {
            out.push_str(&format!("<h2>{}</h2>", esc(&this_tag)));
            tag = this_tag;
        }
        operation(&mut out, method, path, op);
    }
    out.push_str("<h2>Schemas</h2>");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            out.push_str(&format!(
                "<div class=\"op\" id=\"schema-{0}\"><h3>{0}</h3>",
                esc(name)
            ));
            describe_schema(&mut out, schema);
            out.push_str("</div>");
        }
    }
    out.push_str("</body></html>");
    out
}

/// Operations in tag order (as the document lists its tags), then in path order.
fn collect(doc: &Value) -> Vec<(&'static str, String, &Value)> {
    let mut all = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(*method) {
                    all.push((*method, path.clone(), op));
                }
            }
        }
    }
    let order: Vec<String> = doc["tags"]
        .as_array()
        .map(|t| t.iter().map(|t| text(&t["name"])).collect())
        .unwrap_or_default();
    all.sort_by_key(|(_, _, op)| {
        let tag = text(&op["tags"][0]);
        order.iter().position(|t| *t == tag).unwrap_or(usize::MAX)
    });
    all
}

fn security_schemes(out: &mut String, schemes: &Value) {
    let Some(schemes) = schemes.as_object() else {
        return;
    };
    out.push_str("<h2>Authentication</h2><table><tr><th>Scheme</th><th>How</th><th>What</th></tr>");
    for (name, s) in schemes {
        let how = match text(&s["type"]).as_str() {
            "http" => format!("HTTP {}", text(&s["scheme"])),
            "apiKey" => format!("header <code>{}</code>", esc(&text(&s["name"]))),
            other => esc(other),
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{how}</td><td>{}</td></tr>",
            esc(name),
            prose(&text(&s["description"]))
        ));
    }
    out.push_str("</table>");
}

fn operation(out: &mut String, method: &str, path: &str, op: &Value) {
    out.push_str(&format!(
        "<div class=\"op\" id=\"{}\"><h3><span class=\"m {method}\">{method}</span> <code>{}</code></h3>",
        esc(&text(&op["operationId"])),
        esc(path)
    ));
    for key in ["summary", "description"] {
        if let Some(t) = op[key].as_str() {
            out.push_str(&format!("<p>{}</p>", prose(t)));
        }
    }
    let security = match op["security"].as_array() {
        Some(list) if list.is_empty() => "none (public)".to_string(),
        Some(list) => list
            .iter()
            .map(|r| match r.as_object().and_then(|o| o.keys().next()) {
                Some(name) => format!("<code>{}</code>", esc(name)),
                None => "none".to_string(),
            })
            .collect::<Vec<_>>()
            .join(" or "),
        None => "none".to_string(),
    };
    out.push_str(&format!("<p>Credential: {security}</p>"));
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str(
            "<table><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>",
        );
        for p in params {
            let required = if p["required"].as_bool() == Some(true) {
                " (required)"
            } else {
                ""
            };
            out.push_str(&format!(
                "<tr><td><code>{}</code>{required}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&text(&p["name"])),
                esc(&text(&p["in"])),
                type_of(&p["schema"]),
                prose(&text(&p["description"]))
            ));
        }
        out.push_str("</table>");
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        for (media, c) in content {
            out.push_str(&format!(
                "<p>Body (<code>{}</code>): {}</p>",
                esc(media),
                type_of(&c["schema"])
            ));
        }
    }
    out.push_str("<table><tr><th>Status</th><th>Description</th><th>Body</th></tr>");
    if let Some(responses) = op["responses"].as_object() {
        for (status, r) in responses {
            let body = r["content"]
                .as_object()
                .map(|c| {
                    c.iter()
                        .map(|(media, c)| {
                            format!("<code>{}</code> {}", esc(media), type_of(&c["schema"]))
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{body}</td></tr>",
                esc(status),
                prose(&text(&r["description"]))
            ));
        }
    }
    out.push_str("</table></div>");
}

fn describe_schema(out: &mut String, schema: &Value) {
    if let Some(d) = schema["description"].as_str() {
        out.push_str(&format!("<p>{}</p>", prose(d)));
    }
    let Some(properties) = schema["properties"].as_object() else {
        out.push_str(&format!("<p>{}</p>", type_of(schema)));
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>");
    for (name, p) in properties {
        let req = if required.contains(&name.as_str()) {
            " (required)"
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code>{req}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            type_of(p),
            prose(&text(&p["description"]))
        ));
    }
    out.push_str("</table>");
    if schema["additionalProperties"] == Value::Bool(false) {
        out.push_str("<p>Unknown fields are refused (400).</p>");
    }
}

/// A short, linked description of a schema's type.
fn type_of(schema: &Value) -> String {
    let Some(object) = schema.as_object() else {
        return "any".into();
    };
    if let Some(r) = object.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return format!("<a href=\"#schema-{0}\">{0}</a>", esc(name));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = object.get(key).and_then(Value::as_array) {
            return list.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    let types: Vec<String> = match object.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(list)) => list.iter().map(text).collect(),
        _ => {
            return if object.is_empty() {
                "any".into()
            } else {
                "object".into()
            };
        }
    };
    types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!("array of {}", type_of(&object_items(object))),
            other => esc(other),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn object_items(object: &Map<String, Value>) -> Value {
    object.get("items").cloned().unwrap_or(Value::Null)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A description's text as HTML: escaped, with its Markdown code spans (`` `x` ``) as `<code>`
/// and `*(Domino)*` marks as emphasis; nothing else of Markdown is read.
fn prose(s: &str) -> String {
    let escaped = esc(s).replace("*(Domino)*", "<em>(Domino)</em>");
    let mut out = String::with_capacity(escaped.len() + 16);
    let mut parts = escaped.split('`');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let rest: Vec<&str> = parts.collect();
    // An odd count of backticks leaves the last one as it was written.
    let pairs = rest.len() / 2 * 2;
    for (i, part) in rest.iter().enumerate() {
        if i >= pairs {
            out.push('`');
            out.push_str(part);
        } else if i % 2 == 0 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::prose;

    #[test]
    fn code_spans_and_domino_marks_are_rendered_and_the_rest_escaped() {
        assert_eq!(
            prose("use `expiresIn` <b> *(Domino)*"),
            "use <code>expiresIn</code> &lt;b&gt; <em>(Domino)</em>"
        );
        assert_eq!(prose("a `b` c `d"), "a <code>b</code> c `d");
        assert_eq!(prose("`<x>`"), "<code>&lt;x&gt;</code>");
    }
}
