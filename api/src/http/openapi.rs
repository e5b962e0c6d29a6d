//! `/openapi.json`: the HTTP contract as OpenAPI 3.1, generated from the handlers' and types'
//! annotations (utoipa), so it cannot drift from the code, then completed here with what the
//! annotations cannot say on their own:
//!
//! - the answers every route of a kind can give ([`common_responses`]): 401 on every secured
//!   route, 403 from the control-plane host check, 400 for malformed input, 413 for a body over
//!   the limit, 503 (with `Retry-After`) where `min_position` waits;
//! - the constraints of the request bodies ([`constrain_bodies`]), the same rules as the domain's
//!   parsers (`domain/src/values`), including the configured plans and reserved subdomains — so the
//!   document is that of the configuration it is served with;
//! - the links between operations ([`add_links`]: create → read, command → read your write), for
//!   clients and for stateful testing (`.ci/schemathesis`).
//!
//! `tenantry openapi` prints it; `docs/openapi.json` and `docs/API.md` are it for the default
//! configuration (checked by `tests/tests/openapi.rs`).

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use tenantry_domain::{PlanCatalog, ReservedSubdomains, Slug, TenantName};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::auth::handlers as auth;
use super::error::{ErrorBody, ErrorDetail};
use super::tenants::{commands, credentials, queries, rotation};
use super::{
    AppState, MAX_REQUEST_BODY, audit, directory, health, metrics, migrations, onboarding,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenantry control plane",
        description = "Event-sourced control plane for multi-tenant SaaS. Every 4xx/5xx body is \
            `{\"error\": {\"code\", \"message\", \"field\"?}}`; every response carries \
            `x-request-id`. Secured routes take `Authorization: Bearer <access_token>` from \
            `POST /platform/api/auth/login`."
    ),
    paths(
        health::healthz,
        health::readyz,
        metrics::render,
        serve,
        auth::login,
        auth::logout,
        auth::me,
        commands::create,
        queries::list,
        queries::get,
        queries::events,
        commands::update,
        commands::provision,
        commands::suspend,
        commands::reactivate,
        commands::delete,
        credentials::connection,
        credentials::reveal,
        rotation::rotate,
        audit::list,
        directory::resolve,
        directory::ask,
        migrations::progress,
        onboarding::provision,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "operations", description = "health, readiness, metrics and this document"),
        (name = "auth", description = "staff authentication"),
        (name = "tenants", description = "tenant lifecycle commands and queries"),
        (name = "audit", description = "the audit log: every event, flattened"),
        (name = "directory", description = "which tenant a host belongs to: for the application's router and a TLS proxy"),
        (name = "migrations", description = "the fleet migration of the tenant migrations: its progress"),
        (name = "onboarding", description = "one-shot tenant creation for signup flows")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// This document, as served (for the configuration the service runs with).
#[utoipa::path(get, path = "/openapi.json", tag = "operations", operation_id = "getOpenApi",
    responses((status = 200, content_type = "application/json", body = Object, description = "this document (OpenAPI 3.1)")))]
pub(super) async fn serve(State(state): State<AppState>) -> Json<Value> {
    Json((*state.openapi).clone())
}

/// The OpenAPI document of a service configured with `plans` and `reserved` subdomains.
pub fn document(plans: &PlanCatalog, reserved: &ReservedSubdomains) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
    constrain_bodies(&mut doc, plans, reserved);
    common_responses(&mut doc);
    add_links(&mut doc);
    doc
}

/// The document as `docs/openapi.json` holds it: pretty, with a final newline.
pub fn to_text(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("the document serializes");
    text.push('\n');
    text
}

// ---- constraints ------------------------------------------------------------------------------

/// White space as Rust's `str::trim` sees it (Unicode `White_Space`), which the name parser trims.
const WHITE_SPACE: &str =
    r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Zero-width and other invisible characters of the Basic Multilingual Plane that
/// [`TextFault`](tenantry_domain::TextFault) counts as invisible (text made only of them and white
/// space is refused).
const INVISIBLE: &str = r"\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8";

/// Free text as [`TenantName::parse`] and [`Reason::parse`](tenantry_domain::Reason::parse) take
/// it: after trimming white space, 1 to `max_len` characters, none a control character, a line
/// or paragraph separator or a bidirectional control, and not only invisible ones (the shared
/// [`TextFault`](tenantry_domain::TextFault) rules).
fn text_pattern(max_len: usize) -> String {
    // A character the text may hold, and one it may start and end with (not white space).
    let inner = r"[^\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]";
    let edge = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028-\u202f\u205f\u3000\u2066-\u2069]";
    let middle = max_len - 2;
    format!(
        "^(?=[\\s\\S]*[^{WHITE_SPACE}{INVISIBLE}])[{WHITE_SPACE}]*{edge}(?:{inner}{{0,{middle}}}{edge})?[{WHITE_SPACE}]*$"
    )
}

fn name_pattern() -> String {
    text_pattern(TenantName::MAX_LEN)
}

/// [`Slug::parse`]: 3–63 of `a-z`, `0-9` and `-`, no `-` at either end, not `--` as the 3rd and
/// 4th characters, and not one of the `reserved` words.
fn slug_pattern(reserved: &ReservedSubdomains) -> String {
    let words: Vec<String> = reserved.iter().map(regex_escape).collect();
    format!(
        "^(?!(?:{})$)(?!..--)[a-z0-9][a-z0-9-]{{{},{}}}[a-z0-9]$",
        words.join("|"),
        Slug::MIN_LEN - 2,
        Slug::MAX_LEN - 2
    )
}

fn regex_escape(word: &str) -> String {
    word.chars().fold(String::new(), |mut out, c| {
        if r"\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// The schema at `pointer`, which the derives made (a missing one is a bug in this module).
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut serde_json::Map<String, Value> {
    doc.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("the OpenAPI document has no object at {pointer}"))
}

/// `values`, plus `null` for a property that may be null (an `Option` the client may omit).
fn one_of(property: &serde_json::Map<String, Value>, values: Vec<Value>) -> Value {
    let nullable = property
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t == "null"));
    let mut values = values;
    if nullable {
        values.push(Value::Null);
    }
    Value::Array(values)
}

fn constrain_bodies(doc: &mut Value, plans: &PlanCatalog, reserved: &ReservedSubdomains) {
    let plan_names: Vec<Value> = plans
        .plans()
        .iter()
        .map(|plan| json!(plan.name.as_str()))
        .collect();
    let isolations: Vec<Value> = tenantry_domain::IsolationModel::ALL
        .iter()
        .map(|i| json!(i.as_str()))
        .collect();
    for schema in ["CreateRequest", "UpdateRequest"] {
        let props = format!("/components/schemas/{schema}/properties");
        at(doc, &format!("{props}/name")).insert("pattern".into(), json!(name_pattern()));
        let plan = at(doc, &format!("{props}/plan"));
        let values = one_of(plan, plan_names.clone());
        plan.insert("enum".into(), values);
    }
    at(doc, "/components/schemas/ReasonRequest/properties/reason").insert(
        "pattern".into(),
        json!(text_pattern(tenantry_domain::Reason::MAX_LEN)),
    );
    let props = "/components/schemas/CreateRequest/properties";
    at(doc, &format!("{props}/slug")).insert("pattern".into(), json!(slug_pattern(reserved)));
    let isolation = at(doc, &format!("{props}/isolation"));
    let values = one_of(isolation, isolations);
    isolation.insert("enum".into(), values);
    let email = at(doc, &format!("{props}/admin_email"));
    email.insert("format".into(), json!("email"));
    email.insert("maxLength".into(), json!(tenantry_domain::Email::MAX_LEN));

    // The one-shot's body: the same, with `admin_email` a required string.
    let mut one_shot = doc["components"]["schemas"]["CreateRequest"].clone();
    one_shot["properties"]["admin_email"]["type"] = json!("string");
    one_shot["required"]
        .as_array_mut()
        .expect("CreateRequest lists its required properties")
        .push(json!("admin_email"));
    one_shot["description"] = json!(
        "The body of `POST /platform/api/tenants`, with `admin_email` required: the tenant's \
         first admin is invited."
    );
    doc["components"]["schemas"]["OneShotRequest"] = one_shot;
    let body = "/paths/~1api~1tenants~1provision/post/requestBody/content/application~1json/schema";
    let schema = at(doc, body);
    schema.clear();
    schema.insert("$ref".into(), json!("#/components/schemas/OneShotRequest"));
}

// ---- responses --------------------------------------------------------------------------------

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

fn retry_after(mut response: Value) -> Value {
    response["headers"] = json!({
        "Retry-After": {
            "description": "seconds to wait before retrying",
            "required": true,
            "schema": {"type": "integer", "minimum": 1}
        }
    });
    response
}

/// Adds what every route of a kind can answer, where the handler did not document it itself.
fn common_responses(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            // A header is absent or a string, never `null` (utoipa makes an `Option` nullable).
            for param in operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                match (param["in"].as_str(), param["name"].as_str()) {
                    // A tenant's id (a UUID) or a slug: anything else names no tenant, and a
                    // control character in it is 400 (extract.rs `ApiPath`).
                    (Some("path"), Some("id")) => {
                        param["schema"]["pattern"] = json!("^[0-9A-Za-z-]{1,63}$");
                    }
                    // Positions and versions are what the event store can hold (`i64`).
                    (Some("query"), Some("min_position" | "after"))
                        if param["schema"]["type"] == "integer" =>
                    {
                        param["schema"]["maximum"] = json!(i64::MAX);
                    }
                    // Free text in a query: no control or bidirectional character (extract.rs
                    // `check_query`; a value may be blank).
                    (Some("query"), _)
                        if param["schema"]["type"] == "string"
                            && ["format", "enum", "pattern"]
                                .iter()
                                .all(|k| param["schema"].get(*k).is_none()) =>
                    {
                        param["schema"]["pattern"] =
                            json!(r"^[^\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]*$");
                    }
                    _ => {}
                }
                let ty = &mut param["schema"]["type"];
                if let Some(types) = ty.as_array() {
                    let types: Vec<Value> =
                        types.iter().filter(|t| *t != "null").cloned().collect();
                    if types.len() == 1 {
                        *ty = types[0].clone();
                    }
                }
            }
            let params = operation
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let has = |name: &str| params.iter().any(|p| p["name"] == name);
            let has_body = operation.contains_key("requestBody");
            let secured = operation
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| !s.is_empty());
            let mut add = Vec::new();
            // Every route checks the `Host` header's form (auth/host.rs).
            add.push((
                "400",
                error(if has_body || !params.is_empty() {
                    "malformed input: JSON that does not parse or has the wrong types or \
                     unknown fields, a query parameter or header of the wrong form, a doubled or \
                     malformed `Host`; `field` names what it can"
                } else {
                    "a header of the wrong form (`X-Correlation-Id` not a UUID) or a doubled or \
                     malformed `Host`"
                }),
            ));
            if secured {
                add.push((
                    "401",
                    error("a missing, malformed, expired, revoked or forged bearer token"),
                ));
            }
            if path.starts_with("/platform/api/") || path == "/api/tenants/provision" {
                add.push((
                    "403",
                    error(
                        "the request's host is not one of `TENANTRY_CONTROL_PLANE_HOSTS` (when \
                         that is set)",
                    ),
                ));
            }
            if path.contains("{id}") {
                add.push(("404", error("no such tenant")));
            }
            if has_body {
                add.push((
                    "413",
                    error(&format!(
                        "the body is larger than {} KiB",
                        MAX_REQUEST_BODY / 1024
                    )),
                ));
            }
            // Every route that reads the database or Redis (error.rs: an outage is 503
            // `unavailable`, never 500).
            let control_plane = path.starts_with("/platform/api/")
                || path == "/api/tenants/provision"
                || path.starts_with("/internal/");
            let outage = "`unavailable`: PostgreSQL or Redis is down, refuses connections or has \
                          none left, or no pooled connection became free in time";
            if has("min_position") || method == "patch" {
                add.push((
                    "503",
                    retry_after(error(&format!(
                        "`not_caught_up`: the read models have not reached `min_position` \
                         (or the change) within `TENANTRY_READ_MODEL_WAIT_MS`; or {outage}"
                    ))),
                ));
            } else if control_plane {
                add.push(("503", retry_after(error(outage))));
            }
            let responses = operation
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("responses is an object");
            for (status, response) in add {
                match responses.get_mut(status) {
                    // The handler's own description, with the shared headers.
                    Some(existing) => {
                        if let Some(headers) = response.get("headers") {
                            existing["headers"] = headers.clone();
                        }
                    }
                    None => {
                        responses.insert(status.into(), response);
                    }
                }
            }
        }
    }
}

// ---- links ------------------------------------------------------------------------------------

/// A link to `operation_id` with `parameters` taken from the response (runtime expressions).
fn link(operation_id: &str, description: &str, parameters: Value) -> Value {
    json!({"operationId": operation_id, "description": description, "parameters": parameters})
}

/// From a command's answer (`id`, `version`, `position`) to what can follow it.
fn from_command_answer() -> Value {
    let id = "$response.body#/id";
    json!({
        "GetTenant": link("getTenant", "read your write: the tenant once the read models have this command",
            json!({"path.id": id, "query.min_position": "$response.body#/position"})),
        "ListTenantEvents": link("listTenantEvents", "the tenant's history", json!({"path.id": id})),
        "UpdateTenant": link("updateTenant", "change the tenant", json!({"path.id": id})),
        "ProvisionTenant": link("provisionTenant", "(re)start provisioning", json!({"path.id": id})),
        "SuspendTenant": link("suspendTenant", "suspend the tenant", json!({"path.id": id})),
        "ReactivateTenant": link("reactivateTenant", "reactivate the tenant", json!({"path.id": id})),
        "DeleteTenant": link("deleteTenant", "delete the tenant", json!({"path.id": id})),
        "ListAudit": link("listAudit", "the tenant's audit entries", json!({"query.tenant": id})),
    })
}

fn add_links(doc: &mut Value) {
    let commands = [
        ("/platform/api/tenants", "post", "201"),
        ("/api/tenants/provision", "post", "201"),
        ("/platform/api/tenants/{id}/provision", "post", "202"),
        ("/platform/api/tenants/{id}/suspend", "post", "200"),
        ("/platform/api/tenants/{id}/reactivate", "post", "200"),
        ("/platform/api/tenants/{id}", "delete", "202"),
    ];
    for (path, method, status) in commands {
        let pointer = format!("/paths/{}/{method}/responses/{status}", escape(path));
        at(doc, &pointer).insert("links".into(), from_command_answer());
    }
    // From a tenant as read (`id`, `version`): change it, or read its history.
    let id = "$response.body#/id";
    let from_tenant = json!({
        "UpdateTenant": link("updateTenant", "change the tenant", json!({"path.id": id})),
        "ListTenantEvents": link("listTenantEvents", "the tenant's history", json!({"path.id": id})),
    });
    for (path, method) in [
        ("/platform/api/tenants/{id}", "get"),
        ("/platform/api/tenants/{id}", "patch"),
    ] {
        let pointer = format!("/paths/{}/{method}/responses/200", escape(path));
        at(doc, &pointer).insert("links".into(), from_tenant.clone());
    }
}

/// A path as a JSON pointer segment.
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

// ---- markdown ---------------------------------------------------------------------------------

/// `docs/API.md`: the document rendered for people, every operation with its parameters, body and
/// answers, then every schema with its properties and their constraints.
pub fn markdown(doc: &Value) -> String {
    let mut out = String::new();
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let _ = writeln!(out, "# {title}: API reference\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the OpenAPI document (`tenantry openapi --markdown`); do not edit. \
         Regenerate with `cargo run -q -p tenantry-api -- openapi --write docs`. -->\n"
    );
    if let Some(description) = doc["info"]["description"].as_str() {
        let _ = writeln!(out, "{description}\n");
    }
    let _ = writeln!(
        out,
        "The machine-readable contract is [`openapi.json`](openapi.json) (also served at \
         `/openapi.json`).\n"
    );
    let tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap_or_default().to_owned(),
                        t["description"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (tag, tag_description) in &tags {
        let _ = writeln!(out, "## {tag}: {tag_description}\n");
        for (path, item) in &paths {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let in_tag = operation["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == tag.as_str()));
                if in_tag {
                    render_operation(&mut out, path, method, operation);
                }
            }
        }
    }
    let _ = writeln!(out, "## Schemas\n");
    if let Some(schemas) = doc["components"]["schemas"].as_object() {
        for (name, schema) in schemas {
            render_schema(&mut out, name, schema);
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn render_operation(out: &mut String, path: &str, method: &str, operation: &Value) {
    let id = operation["operationId"].as_str().unwrap_or_default();
    let _ = writeln!(out, "### `{} {path}`\n", method.to_uppercase());
    let secured = operation["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    let _ = writeln!(
        out,
        "Operation `{id}`{}.\n",
        if secured { "; bearer token" } else { "" }
    );
    for key in ["summary", "description"] {
        if let Some(text) = operation[key].as_str() {
            let _ = writeln!(out, "{}\n", one_line(text));
        }
    }
    if let Some(params) = operation["parameters"].as_array().filter(|p| !p.is_empty()) {
        let _ = writeln!(out, "| parameter | in | required | schema | description |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for p in params {
            let description = p["description"]
                .as_str()
                .or_else(|| p["schema"]["description"].as_str())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                p["name"].as_str().unwrap_or_default(),
                p["in"].as_str().unwrap_or_default(),
                if p["required"] == true { "yes" } else { "no" },
                cell(&schema_summary(&p["schema"])),
                cell(description)
            );
        }
        out.push('\n');
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media, body) in content {
            let required = operation["requestBody"]["required"] == true;
            let _ = writeln!(
                out,
                "Body ({media}{}): {}\n",
                if required { "" } else { ", optional" },
                schema_summary(&body["schema"])
            );
        }
    }
    if let Some(responses) = operation["responses"].as_object() {
        let _ = writeln!(out, "| status | body | description |");
        let _ = writeln!(out, "|---|---|---|");
        for (status, response) in responses {
            let body = response["content"]
                .as_object()
                .and_then(|c| c.iter().next())
                .map(|(media, c)| format!("{} ({media})", schema_summary(&c["schema"])))
                .unwrap_or_else(|| "—".into());
            let mut description = response["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if let Some(headers) = response["headers"].as_object() {
                let names: Vec<String> = headers.keys().map(|h| format!("`{h}`")).collect();
                let _ = write!(description, " (headers: {})", names.join(", "));
            }
            if let Some(links) = response["links"].as_object() {
                let ids: Vec<String> = links
                    .values()
                    .filter_map(|l| l["operationId"].as_str())
                    .map(|id| format!("`{id}`"))
                    .collect();
                let _ = write!(description, " (links: {})", ids.join(", "));
            }
            let _ = writeln!(
                out,
                "| {status} | {} | {} |",
                cell(&body),
                cell(&description)
            );
        }
        out.push('\n');
    }
}

fn render_schema(out: &mut String, name: &str, schema: &Value) {
    let _ = writeln!(out, "### {name}\n");
    if let Some(description) = schema["description"].as_str() {
        let _ = writeln!(out, "{}\n", one_line(description));
    }
    let Some(properties) = schema["properties"].as_object() else {
        let _ = writeln!(out, "{}\n", schema_summary(schema));
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let _ = writeln!(out, "| property | required | schema | description |");
    let _ = writeln!(out, "|---|---|---|---|");
    for (property, value) in properties {
        let _ = writeln!(
            out,
            "| `{property}` | {} | {} | {} |",
            if required.contains(&property.as_str()) {
                "yes"
            } else {
                "no"
            },
            cell(&schema_summary(value)),
            cell(value["description"].as_str().unwrap_or_default())
        );
    }
    out.push('\n');
}

/// A schema in a few words: its type or reference, and its constraints.
fn schema_summary(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[combinator].as_array() {
            let parts: Vec<String> = options.iter().map(schema_summary).collect();
            return parts.join(" or ");
        }
    }
    let mut parts = Vec::new();
    let types = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let mut kind = types.join(" or ");
    if types.iter().any(|t| t == "array") {
        kind = kind.replace(
            "array",
            &format!("array of {}", schema_summary(&schema["items"])),
        );
    }
    if kind.is_empty() {
        kind = "any".into();
    }
    parts.push(kind);
    if let Some(format) = schema["format"].as_str() {
        parts.push(format!("format `{format}`"));
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    for (key, label) in [
        ("minimum", "min"),
        ("maximum", "max"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
    ] {
        if let Some(n) = schema[key].as_u64() {
            parts.push(format!("{label} {n}"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        parts.push(format!("pattern `{pattern}`"));
    }
    parts.join(", ")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe in a table cell.
fn cell(text: &str) -> String {
    one_line(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slug_pattern_names_the_reserved_words_escaped() {
        let pattern = slug_pattern(&ReservedSubdomains::from_list("a.b"));
        assert!(pattern.contains(r"a\.b|admin|api"), "{pattern}");
        assert!(
            pattern.ends_with("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"),
            "{pattern}"
        );
    }

    #[test]
    fn the_name_pattern_allows_the_longest_name() {
        assert!(name_pattern().contains("{0,198}"), "{}", name_pattern());
    }
}
