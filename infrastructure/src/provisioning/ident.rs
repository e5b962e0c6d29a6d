//! The quoting of PostgreSQL identifiers. SQL is only ever built from names that Tenantry derives
//! itself ([`TenantNames`](tenantry_domain::TenantNames), catalog names), never from input; they
//! are quoted anyway, so that no name can change what a statement means.

/// `name` as a quoted PostgreSQL identifier. Doubling embedded quotes makes any string safe; the
/// names used here are `[a-z0-9_]` anyway.
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("tenant_1"), "\"tenant_1\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
