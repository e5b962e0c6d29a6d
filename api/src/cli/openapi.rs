//! `tenantry openapi`: the service's OpenAPI document (what `/openapi.json` serves, for the
//! configured plans and reserved subdomains), as JSON or as the markdown reference; `--write DIR`
//! writes both, as `docs/` holds them (`cargo run -q -p tenantry-api -- openapi --write docs`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::Settings;
use crate::http::openapi;

/// The file names `--write` uses.
pub const JSON_FILE: &str = "openapi.json";
pub const MARKDOWN_FILE: &str = "API.md";

#[derive(Debug, Args)]
pub struct OpenApiCommand {
    /// Print the markdown reference (docs/API.md) instead of the JSON.
    #[arg(long, conflicts_with = "write")]
    pub markdown: bool,
    /// Write DIR/openapi.json and DIR/API.md instead of printing.
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
}

impl OpenApiCommand {
    pub fn run(&self, settings: &Settings, out: &mut impl Write) -> anyhow::Result<()> {
        let doc = crate::startup::openapi_document(settings)?;
        let json = openapi::to_text(&doc);
        let markdown = openapi::markdown(&doc);
        match &self.write {
            Some(dir) => {
                for (name, text) in [(JSON_FILE, &json), (MARKDOWN_FILE, &markdown)] {
                    let path = dir.join(name);
                    std::fs::write(&path, text)
                        .with_context(|| format!("failed to write {}", path.display()))?;
                    writeln!(out, "wrote {}", path.display())?;
                }
            }
            None if self.markdown => out.write_all(markdown.as_bytes())?,
            None => out.write_all(json.as_bytes())?,
        }
        Ok(())
    }
}
