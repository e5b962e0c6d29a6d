//! The operator's hook steps over HTTP: the [`StepHooks`] adapter, and the `steps` of each plan in
//! `TENANTRY_PLANS_FILE` that declare them.
//!
//! A call is `POST {url}` with the JSON body
//! `{"action": "apply"|"release", "tenant": {…}, "step": NAME, "attempt": N, "provisioning_attempt": M}`
//! and the headers
//!
//! - `X-Tenantry-Timestamp: <unix seconds>`,
//! - `X-Tenantry-Signature: sha256=<hex>`: HMAC-SHA256 keyed with the hook's secret over
//!   `"{timestamp}.{body}"` (the timestamp, a dot, the body's exact bytes), so a receiver checks
//!   both and refuses old timestamps (replays),
//! - `Idempotency-Key: {tenant id}:{step}:{action}:{provisioning attempt}`, the same on every try
//!   of one action in one provisioning attempt.
//!
//! The answer: 2xx is done (its JSON body, `null` if empty, is the step's outputs); 408 and 429
//! are retried, counted; any other 4xx is a permanent failure (the attempt rolls back at once);
//! 5xx is retried, counted against the step's tries (the hook itself is failing: a broken hook
//! fails the tenant after `TENANTRY_PROVISIONING_MAX_TRIES` instead of holding it for the
//! transient deadline); connection refused, other connect errors and timeouts are transient (the
//! hook is down: retried without spending tries, issue 11's rule). The secret is never logged,
//! never in an event, never in an error message.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;
use tenantry_application::provisioning::{HookCall, ProvisionError, StepHooks};
use tenantry_domain::HookName;

/// The longest outputs kept (bytes of JSON): they go into an event.
pub const MAX_OUTPUTS_BYTES: usize = 16 * 1024;
/// A hook's time limit when its declaration names none.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest time limit a hook may have.
pub const MAX_HOOK_TIMEOUT: Duration = Duration::from_secs(300);
/// The shortest secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// One declared hook.
#[derive(Clone)]
pub struct HookDefinition {
    pub name: HookName,
    pub url: reqwest::Url,
    pub secret: SecretString,
    pub timeout: Duration,
}

impl std::fmt::Debug for HookDefinition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookDefinition")
            .field("name", &self.name)
            .field("url", &self.url.as_str())
            .field("secret", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl HookDefinition {
    fn same_as(&self, other: &Self) -> bool {
        self.url == other.url
            && self.timeout == other.timeout
            && self.secret.expose_secret() == other.secret.expose_secret()
    }
}

/// Each plan's hooks, in declared order.
#[derive(Debug, Clone, Default)]
pub struct PlanHooks {
    by_plan: BTreeMap<String, Vec<HookDefinition>>,
}

impl PlanHooks {
    pub fn is_empty(&self) -> bool {
        self.by_plan.values().all(Vec::is_empty)
    }

    /// The hook names of each plan, in order (what the tenant service gives a new attempt).
    pub fn names(&self) -> BTreeMap<String, Vec<HookName>> {
        self.by_plan
            .iter()
            .map(|(plan, hooks)| (plan.clone(), hooks.iter().map(|h| h.name).collect()))
            .collect()
    }

    /// Every hook once, by name (a name shared by plans is one hook: checked identical).
    pub fn definitions(&self) -> BTreeMap<HookName, HookDefinition> {
        self.by_plan
            .values()
            .flatten()
            .map(|hook| (hook.name, hook.clone()))
            .collect()
    }

    /// Takes the `steps` out of each plan of a plans file (its JSON, as `serde_json` read it),
    /// checking them, and leaves the rest for the plan catalog. An error names the plan, the
    /// field and why, e.g. `plans[1] ("pro").steps[0].url: …`.
    pub fn take_from(plans_file: &mut serde_json::Value) -> Result<Self, String> {
        let Some(plans) = plans_file
            .get_mut("plans")
            .and_then(serde_json::Value::as_array_mut)
        else {
            // The catalog's own parsing says what is wrong.
            return Ok(Self::default());
        };
        let mut by_plan: BTreeMap<String, Vec<HookDefinition>> = BTreeMap::new();
        let mut seen: BTreeMap<HookName, (String, HookDefinition)> = BTreeMap::new();
        for (i, plan) in plans.iter_mut().enumerate() {
            let Some(object) = plan.as_object_mut() else {
                continue;
            };
            let plan_name = object
                .get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_owned();
            let Some(steps) = object.remove("steps") else {
                continue;
            };
            let at = format!("plans[{i}] ({plan_name:?}).steps");
            let serde_json::Value::Array(steps) = steps else {
                return Err(format!(
                    "{at}: must be a list of hooks {{name, url, secret, timeout}}"
                ));
            };
            let mut hooks: Vec<HookDefinition> = Vec::new();
            for (j, step) in steps.into_iter().enumerate() {
                let at = format!("{at}[{j}]");
                let hook = parse_hook(step, &at)?;
                if hooks.iter().any(|h| h.name == hook.name) {
                    return Err(format!(
                        "{at}.name: the hook {:?} is declared twice in this plan",
                        hook.name.as_str()
                    ));
                }
                if let Some((other_plan, other)) = seen.get(&hook.name)
                    && !other.same_as(&hook)
                {
                    return Err(format!(
                        "{at}.name: the hook {:?} is declared differently in plan {other_plan:?}; \
                         a hook name is one hook (same url, secret and timeout in every plan)",
                        hook.name.as_str()
                    ));
                }
                seen.insert(hook.name, (plan_name.clone(), hook.clone()));
                hooks.push(hook);
            }
            by_plan.insert(plan_name, hooks);
        }
        Ok(Self { by_plan })
    }
}

/// A hook as the plans file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookConfig {
    name: String,
    url: String,
    secret: String,
    #[serde(default)]
    timeout: Option<String>,
}

fn parse_hook(value: serde_json::Value, at: &str) -> Result<HookDefinition, String> {
    if !value.is_object() {
        return Err(format!(
            "{at}: must be an object {{name, url, secret, timeout}}"
        ));
    }
    for field in ["name", "url", "secret"] {
        if value.get(field).is_none() {
            return Err(format!("{at}.{field}: missing"));
        }
    }
    let config: HookConfig = serde_json::from_value(value).map_err(|e| format!("{at}: {e}"))?;
    let name = HookName::parse(&config.name).map_err(|e| format!("{at}.name: {e}"))?;
    let url = reqwest::Url::parse(&config.url)
        .map_err(|e| format!("{at}.url: {:?} is not a URL ({e})", config.url))?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(format!(
                "{at}.url: https is not supported by this build (its HTTP client has no TLS); \
                 call the hook over http on a private network or through a local TLS proxy"
            ));
        }
        other => return Err(format!("{at}.url: the scheme must be http, not {other:?}")),
    }
    if url.host_str().is_none() {
        return Err(format!("{at}.url: {:?} has no host", config.url));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{at}.url: must not carry credentials (the hook is authenticated by its signature)"
        ));
    }
    if config.secret.chars().count() < MIN_SECRET_LEN {
        // Never the secret itself.
        return Err(format!(
            "{at}.secret: must be at least {MIN_SECRET_LEN} characters"
        ));
    }
    let timeout = match config.timeout.as_deref() {
        None => DEFAULT_HOOK_TIMEOUT,
        Some(text) => {
            let timeout = humantime::parse_duration(text).map_err(|e| {
                format!("{at}.timeout: {text:?} is not a duration like \"10s\" or \"500ms\" ({e})")
            })?;
            if timeout.is_zero() || timeout > MAX_HOOK_TIMEOUT {
                return Err(format!(
                    "{at}.timeout: {text:?} must be more than 0 and at most {}s",
                    MAX_HOOK_TIMEOUT.as_secs()
                ));
            }
            timeout
        }
    };
    Ok(HookDefinition {
        name,
        url,
        secret: SecretString::from(config.secret),
        timeout,
    })
}

/// The headers of a signed call.
pub const SIGNATURE_HEADER: &str = "x-tenantry-signature";
pub const TIMESTAMP_HEADER: &str = "x-tenantry-timestamp";

/// `sha256=<hex>`: HMAC-SHA256 keyed with `secret` over `"{timestamp}.{body}"`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// The [`StepHooks`] adapter: calls the declared hooks over HTTP.
pub struct HttpHooks {
    client: reqwest::Client,
    hooks: BTreeMap<HookName, HookDefinition>,
}

impl HttpHooks {
    pub fn new(hooks: &PlanHooks) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tenantry/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            hooks: hooks.definitions(),
        })
    }

    async fn call(&self, call: &HookCall) -> Result<serde_json::Value, ProvisionError> {
        let action = call.action.as_str();
        let name = call.hook;
        let Some(hook) = self.hooks.get(&name) else {
            // Retried (counted; releases for as long as it takes): declaring the hook again
            // lets it finish.
            return Err(ProvisionError::retryable(anyhow!(
                "hook {name}: not declared in TENANTRY_PLANS_FILE any more, so it cannot be \
                 called to {action}; declare it again"
            )));
        };
        let body = serde_json::json!({
            "action": action,
            "tenant": call.tenant,
            "step": name.as_str(),
            "attempt": call.attempt,
            "provisioning_attempt": call.provisioning_attempt,
        });
        let body = serde_json::to_vec(&body).map_err(ProvisionError::permanent)?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature(hook.secret.expose_secret().as_bytes(), timestamp, &body);
        let key = format!(
            "{}:{}:{action}:{}",
            call.tenant.id,
            name.step_name(),
            call.provisioning_attempt
        );
        let sent = self
            .client
            .post(hook.url.clone())
            .timeout(hook.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header("idempotency-key", key)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if error.is_timeout() => {
                return Err(ProvisionError::unavailable(anyhow!(
                    "hook {name} ({action}): no answer within {}s",
                    hook.timeout.as_secs_f64()
                )));
            }
            Err(error) => {
                // Connection refused, reset, DNS: the hook is down or unreachable. The error's
                // chain names the URL, never the secret (it is in a header only).
                return Err(ProvisionError::unavailable(
                    anyhow::Error::new(error.without_url())
                        .context(format!("hook {name} ({action}) at {}", hook.url)),
                ));
            }
        };
        let status = response.status();
        let text = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) if error.is_timeout() => {
                return Err(ProvisionError::unavailable(anyhow!(
                    "hook {name} ({action}): its answer did not finish within {}s",
                    hook.timeout.as_secs_f64()
                )));
            }
            Err(error) => {
                return Err(ProvisionError::unavailable(
                    anyhow::Error::new(error.without_url())
                        .context(format!("hook {name} ({action}): reading its answer")),
                ));
            }
        };
        if status.is_success() {
            if text.len() > MAX_OUTPUTS_BYTES {
                return Err(ProvisionError::permanent(anyhow!(
                    "hook {name} ({action}) answered {status} with {} bytes; outputs are at most {MAX_OUTPUTS_BYTES}",
                    text.len()
                )));
            }
            if text.iter().all(u8::is_ascii_whitespace) {
                return Ok(serde_json::Value::Null);
            }
            return serde_json::from_slice(&text).map_err(|e| {
                ProvisionError::permanent(anyhow!(
                    "hook {name} ({action}) answered {status} with a body that is not JSON ({e})"
                ))
            });
        }
        let excerpt = excerpt(&text);
        let message = if excerpt.is_empty() {
            format!("hook {name} ({action}) answered {status}")
        } else {
            format!("hook {name} ({action}) answered {status}: {excerpt}")
        };
        Err(match status.as_u16() {
            408 | 429 => ProvisionError::retryable(anyhow!(message)),
            400..=499 => ProvisionError::permanent(anyhow!(message)),
            _ => ProvisionError::retryable(anyhow!(message)),
        })
    }
}

/// The start of an error answer, on one line, for the step's error message.
fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[async_trait]
impl StepHooks for HttpHooks {
    #[tracing::instrument(skip_all, fields(tenant_id = %call.tenant.id, hook = %call.hook), err)]
    async fn apply(&self, call: &HookCall) -> Result<serde_json::Value, ProvisionError> {
        self.call(call).await
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %call.tenant.id, hook = %call.hook), err)]
    async fn release(&self, call: &HookCall) -> Result<(), ProvisionError> {
        self.call(call).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans(steps: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "default_plan": "pro",
            "plans": [
                {"name": "free", "default_isolation": "shared_schema"},
                {"name": "pro", "default_isolation": "schema_per_tenant", "steps": steps},
            ]
        })
    }

    fn error(steps: serde_json::Value) -> String {
        PlanHooks::take_from(&mut plans(steps)).unwrap_err()
    }

    #[test]
    fn hooks_are_taken_out_of_the_plans_in_order() {
        let mut file = plans(serde_json::json!([
            {"name": "whatsapp", "url": "http://127.0.0.1:9/a", "secret": "0123456789abcdef"},
            {"name": "crm", "url": "http://127.0.0.1:9/b", "secret": "0123456789abcdef", "timeout": "2s"},
        ]));
        let hooks = PlanHooks::take_from(&mut file).unwrap();
        let names = hooks.names();
        let pro: Vec<&str> = names["pro"].iter().map(|h| h.as_str()).collect();
        assert_eq!(pro, ["whatsapp", "crm"]);
        assert!(file["plans"][1].get("steps").is_none());
        assert_eq!(
            hooks.definitions()[&names["pro"][1]].timeout,
            Duration::from_secs(2)
        );
    }

    #[test]
    fn a_bad_hook_is_refused_naming_the_plan_and_the_field() {
        let secret = "0123456789abcdef";
        let e = error(serde_json::json!([{"name": "x", "url": "ftp://h/", "secret": secret}]));
        assert!(e.starts_with("plans[1] (\"pro\").steps[0].url:"), "{e}");
        let e = error(serde_json::json!([{"name": "x", "url": "http://h/", "secret": "short"}]));
        assert!(e.starts_with("plans[1] (\"pro\").steps[0].secret:"), "{e}");
        assert!(
            !e.contains("short"),
            "the secret is never in the message: {e}"
        );
        let e =
            error(serde_json::json!([{"name": "Bad Name", "url": "http://h/", "secret": secret}]));
        assert!(e.starts_with("plans[1] (\"pro\").steps[0].name:"), "{e}");
        let e = error(serde_json::json!([{"name": "x", "secret": secret}]));
        assert_eq!(e, "plans[1] (\"pro\").steps[0].url: missing");
        let e = error(
            serde_json::json!([{"name": "x", "url": "http://h/", "secret": secret, "timeout": "soon"}]),
        );
        assert!(e.starts_with("plans[1] (\"pro\").steps[0].timeout:"), "{e}");
        let e = error(
            serde_json::json!([{"name": "x", "url": "http://h/", "secret": secret, "retries": 3}]),
        );
        assert!(e.contains("unknown field `retries`"), "{e}");
        let twice = serde_json::json!({"name": "x", "url": "http://h/", "secret": secret});
        let e = error(serde_json::json!([twice.clone(), twice]));
        assert!(e.starts_with("plans[1] (\"pro\").steps[1].name:"), "{e}");
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231-style check against an independent computation.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.{}");
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            signature(b"key", 1_700_000_000, b"{}"),
            format!("sha256={expected}")
        );
    }
}
