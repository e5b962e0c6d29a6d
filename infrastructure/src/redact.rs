//! Connection URLs as they may be shown in an error or a log: with the password (of the userinfo,
//! or a `password=` query parameter) replaced by `***`. Done on the text, without parsing it as a
//! URL, because the URLs shown are mostly the ones that did not parse.

/// `url` with its passwords replaced by `***`; a string without `://` (not recognisably a URL,
/// so anything in it could be a password) is replaced whole.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let rest = redact_parameters(rest);
    // The userinfo ends at the last `@`: a password may hold `@`, `/` or `?` unencoded. A later
    // `@` (in the query, say) only redacts more.
    let Some(at) = rest.rfind('@') else {
        return format!("{scheme}://{rest}");
    };
    let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => format!("{scheme}://{userinfo}@{host}"),
    }
}

/// `text` with the value of every `…password=` parameter, up to the next `&`, replaced.
fn redact_parameters(text: &str) -> String {
    const NAME: &str = "password=";
    let lower = text.to_ascii_lowercase();
    let mut shown = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower[from..].find(NAME) {
        let value = from + found + NAME.len();
        let end = text[value..].find('&').map_or(text.len(), |i| value + i);
        shown.push_str(&text[from..value]);
        shown.push_str("***");
        from = end;
    }
    shown.push_str(&text[from..]);
    shown
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn the_userinfo_password_is_replaced() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/tenantry"),
            "postgres://app:***@db.internal:5432/tenantry"
        );
        assert_eq!(
            redact_url("redis://:s3cret@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact_url("postgres://u:s3cretpw@[bad"),
            "postgres://u:***@[bad"
        );
    }

    #[test]
    fn passwords_holding_url_delimiters_are_replaced_whole() {
        let shown = redact_url("postgres://app:p@ss/w?rd@db/tenantry");
        assert_eq!(shown, "postgres://app:***@db/tenantry");
    }

    #[test]
    fn password_parameters_are_replaced() {
        assert_eq!(
            redact_url("postgres://db/tenantry?user=app&password=s3cret&sslmode=require"),
            "postgres://db/tenantry?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://db/x?sslpassword=s3cret"),
            "postgres://db/x?sslpassword=***"
        );
    }

    #[test]
    fn urls_without_a_password_are_shown_as_they_are() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/tenantry",
            "redis://127.0.0.1:6379",
            "postgres://db/tenantry?sslmode=require",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn a_password_parameter_holding_an_at_sign_is_replaced_whole() {
        assert_eq!(
            redact_url("postgres://db/x?password=s@cret&user=app"),
            "postgres://db/x?password=***&user=app"
        );
        assert_eq!(
            redact_url("postgres://db/x?PASSWORD=s@cret"),
            "postgres://db/x?PASSWORD=***"
        );
    }

    #[test]
    fn what_is_not_a_url_is_not_shown() {
        assert_eq!(redact_url("u:s3cret@host"), "***");
    }
}
