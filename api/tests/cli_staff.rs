//! `tenantry staff disable|enable|delete`, run as the binary: one line saying what happened, one
//! `error: …` line naming an unknown email, the account named by exactly one of `--email` and
//! `--id`, and the help saying what deleting does to the email.

use std::process::{Command, Output};

use tenantry_tests::TestDb;

fn tenantry(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(args)
        .env("TENANTRY_DATABASE_URL", &db.url)
        .env_remove("TENANTRY_EVENT_STORE_URL")
        .env("TENANTRY_STAFF_PASSWORD", "correct horse battery staple")
        .env("RUST_LOG", "warn")
        .output()
        .expect("tenantry runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[tokio::test]
async fn the_staff_commands_print_one_line_and_name_an_unknown_email() {
    let db = TestDb::new().await;
    let id = stdout(&tenantry(
        &db,
        &["staff", "create", "--email", "ops@example.com"],
    ));
    let id = id.trim();

    let disabled = stdout(&tenantry(
        &db,
        &[
            "staff",
            "disable",
            "--email",
            "OPS@example.com",
            "--reason",
            "on leave",
        ],
    ));
    assert_eq!(
        disabled,
        format!("disabled staff account {id} (ops@example.com)\n")
    );
    let enabled = stdout(&tenantry(&db, &["staff", "enable", "--id", id]));
    assert_eq!(
        enabled,
        format!("enabled staff account {id} (ops@example.com)\n")
    );
    let deleted = stdout(&tenantry(
        &db,
        &["staff", "delete", "--email", "ops@example.com"],
    ));
    assert_eq!(
        deleted,
        format!(
            "deleted staff account {id} (ops@example.com); its email is free for a new account\n"
        )
    );

    let unknown = tenantry(&db, &["staff", "disable", "--email", "who@example.com"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(unknown.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "error: no staff account has the email who@example.com\n"
    );

    // Exactly one of --email and --id (clap's usage error, exit 2).
    let both = tenantry(
        &db,
        &["staff", "enable", "--email", "ops@example.com", "--id", id],
    );
    assert_eq!(both.status.code(), Some(2), "{both:?}");
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
    let neither = tenantry(&db, &["staff", "delete"]);
    assert_eq!(neither.status.code(), Some(2), "{neither:?}");

    let help = stdout(&tenantry(&db, &["staff", "delete", "--help"]));
    assert!(help.contains("email is free for a new account"), "{help}");
}
