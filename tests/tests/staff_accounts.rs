//! Disabling, enabling and deleting staff accounts (`tenantry staff disable|enable|delete`, run as
//! the binary's code runs them): the account's tokens stop working on the very next request, its
//! login is refused like a wrong password, enabling lets it log in again (tokens from before the
//! disabling stay dead), deleting is final and frees the email; each change is one event in the
//! account's stream `staff-{id}`, shown by the audit log; the staff table only moves forward.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tenantry_api::Settings;
use tenantry_api::cli::staff::{AccountArg, StaffCommand};
use tenantry_api::http::auth::TokenKeys;
use tenantry_application::event_store::Actor;
use tenantry_tests::{STAFF_PASSWORD, TestApp, TestDb, event_log};
use uuid::Uuid;

const LOGIN: &str = "/platform/api/auth/login";
const ME: &str = "/platform/api/auth/me";
const SECRET: &str = "a-test-signing-secret-of-more-than-32-bytes";
const INACTIVE: &str = "the token's staff account is disabled or deleted";

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Runs `tenantry staff …` against the app's database; its output, or its error as the binary
/// prints it (with causes).
async fn staff(app: &TestApp, command: StaffCommand) -> Result<String, String> {
    let mut settings = Settings::from_env();
    settings.database_url = app.db.url.clone();
    settings.event_store_url = None;
    let mut out = Vec::new();
    command
        .run(&settings, &mut out)
        .await
        .map(|()| String::from_utf8(out).expect("UTF-8 output"))
        .map_err(|e| format!("{e:#}"))
}

fn disable(email: &str, reason: Option<&str>) -> StaffCommand {
    StaffCommand::Disable {
        account: AccountArg::email(email),
        reason: reason.map(str::to_owned),
    }
}

fn enable(email: &str) -> StaffCommand {
    StaffCommand::Enable {
        account: AccountArg::email(email),
    }
}

fn delete(email: &str) -> StaffCommand {
    StaffCommand::Delete {
        account: AccountArg::email(email),
    }
}

/// `GET /auth/me` with `token`: status and error message (empty on success).
async fn me(app: &TestApp, token: &str) -> (StatusCode, String) {
    let (status, body) = json_of(app.get_auth(ME, token).await).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    (status, message.to_owned())
}

/// The status and body of a login attempt.
async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    json_of(
        app.post_json(LOGIN, &json!({"email": email, "password": password}))
            .await,
    )
    .await
}

#[tokio::test]
async fn a_disabled_account_is_locked_out_at_once_and_an_enabled_one_logs_in_again() {
    let db = TestDb::new().await;
    let app = TestApp::spawn_with(db, |s| s.jwt_secret = Some(SECRET.into())).await;
    let id = app.create_staff("Kim@Example.com", STAFF_PASSWORD).await;
    let email = "kim@example.com";
    let token = app.login(email, STAFF_PASSWORD).await;
    // A token from well before the disabling, as the server mints them.
    let old = TokenKeys::from_secret(SECRET.as_bytes())
        .issue(
            id,
            email,
            Utc::now() - chrono::Duration::seconds(5),
            Duration::from_secs(900),
        )
        .expect("issue a token");
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    assert_eq!(me(&app, &old.token).await.0, StatusCode::OK);
    let (_, wrong_password) = login(&app, email, "not the password at all").await;

    let printed = staff(&app, disable("KIM@example.com", Some(" left the team ")))
        .await
        .expect("disable");
    assert_eq!(printed, format!("disabled staff account {id} ({email})\n"));

    // The tokens it had are refused on the next request; its login looks like a wrong password.
    assert_eq!(
        me(&app, &token).await,
        (StatusCode::UNAUTHORIZED, INACTIVE.to_owned())
    );
    assert_eq!(me(&app, &old.token).await.0, StatusCode::UNAUTHORIZED);
    let (status, refused) = login(&app, email, STAFF_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused, wrong_password,
        "no hint that the account is disabled"
    );
    assert_eq!(
        staff(&app, disable(email, None)).await.expect("again"),
        format!("staff account {id} ({email}) was already disabled\n")
    );
    let listed = staff(&app, StaffCommand::List).await.expect("list");
    assert!(listed.trim_end().ends_with("\tdisabled"), "{listed}");

    let printed = staff(&app, enable(email)).await.expect("enable");
    assert_eq!(printed, format!("enabled staff account {id} ({email})\n"));
    let fresh = app.login(email, STAFF_PASSWORD).await;
    assert_eq!(me(&app, &fresh).await.0, StatusCode::OK);
    // A token issued before the disabling does not come back to life.
    assert_eq!(
        me(&app, &old.token).await,
        (StatusCode::UNAUTHORIZED, INACTIVE.to_owned())
    );
    assert_eq!(
        staff(&app, enable(email)).await.expect("again"),
        format!("staff account {id} ({email}) was already active\n")
    );

    // One event per change, none for the repeats; the reason as given (trimmed), nothing secret.
    let events = event_log::stream(&*app.store, &format!("staff-{id}")).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "StaffAccountCreated",
            "StaffAccountDisabled",
            "StaffAccountEnabled"
        ]
    );
    assert_eq!(
        events[1].payload,
        json!({"staff_id": id, "reason": "left the team"})
    );
    assert_eq!(events[2].payload, json!({"staff_id": id}));
    assert!(events.iter().all(|e| e.metadata.actor == Actor::System));

    // The audit log shows them.
    let last = events.last().expect("events").position;
    let (status, audit) = json_of(
        app.get_auth(
            &format!("/platform/api/audit?min_position={last}&limit=500"),
            &fresh,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let shown: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["stream_id"] == format!("staff-{id}"))
        .filter_map(|i| i["event_type"].as_str())
        .collect();
    assert_eq!(shown, types);
}

#[tokio::test]
async fn a_deleted_account_is_locked_out_for_good_and_its_email_is_free() {
    let app = TestApp::spawn().await;
    let email = "lou@example.com";
    let id = app.create_staff(email, STAFF_PASSWORD).await;
    let token = app.login(email, STAFF_PASSWORD).await;
    // Disabled first: deleting a disabled account works too.
    staff(&app, disable(email, None)).await.expect("disable");

    let printed = staff(&app, delete(email)).await.expect("delete");
    assert_eq!(
        printed,
        format!("deleted staff account {id} ({email}); its email is free for a new account\n")
    );
    assert_eq!(
        me(&app, &token).await,
        (StatusCode::UNAUTHORIZED, INACTIVE.to_owned())
    );
    let (status, body) = login(&app, email, STAFF_PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "invalid email or password");

    // Final: not enabled or disabled again; deleting again changes nothing.
    let refused = staff(&app, enable(email)).await.expect_err("deleted");
    assert_eq!(
        refused,
        format!(
            "staff account {id} ({email}) is deleted; a deleted account cannot be disabled or \
             enabled"
        )
    );
    assert!(staff(&app, disable(email, None)).await.is_err());
    assert_eq!(
        staff(&app, delete(email)).await.expect("again"),
        format!("staff account {id} ({email}) was already deleted\n")
    );
    let types = event_log::event_types(&*app.store, &format!("staff-{id}")).await;
    assert_eq!(
        types,
        [
            "StaffAccountCreated",
            "StaffAccountDisabled",
            "StaffAccountDeleted"
        ]
    );
    // The row keeps no password hash.
    let hash: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM staff_accounts WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db.pool)
            .await
            .expect("the row");
    assert_eq!(hash, None);

    // A new account may take the email: a new id, and the old one's token stays dead.
    let new_id = app.create_staff(email, "another long password").await;
    assert_ne!(new_id, id);
    let new_token = app.login(email, "another long password").await;
    assert_eq!(me(&app, &new_token).await.0, StatusCode::OK);
    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    let listed = staff(&app, StaffCommand::List).await.expect("list");
    let statuses: Vec<(&str, &str)> = listed
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols[0], cols[3])
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (id.to_string().as_str(), "deleted"),
            (new_id.to_string().as_str(), "active")
        ]
    );
    // The email names the live account now; the deleted one is still reachable by id.
    assert_eq!(
        staff(
            &app,
            StaffCommand::Delete {
                account: AccountArg {
                    email: None,
                    id: Some(id),
                },
            },
        )
        .await
        .expect("by id"),
        format!("staff account {id} ({email}) was already deleted\n")
    );
    assert!(
        staff(&app, disable(email, None))
            .await
            .expect("the new one")
            .starts_with(&format!("disabled staff account {new_id} "))
    );
}

#[tokio::test]
async fn the_staff_commands_name_what_they_cannot_find_or_accept() {
    let app = TestApp::spawn().await;
    app.create_staff("max@example.com", STAFF_PASSWORD).await;
    for command in [
        disable("Nobody@Example.com", None),
        enable("nobody@example.com"),
        delete("nobody@example.com"),
    ] {
        assert_eq!(
            staff(&app, command).await.expect_err("unknown"),
            "no staff account has the email nobody@example.com"
        );
    }
    let unknown = Uuid::now_v7();
    let by_id = StaffCommand::Enable {
        account: AccountArg {
            email: None,
            id: Some(unknown),
        },
    };
    assert_eq!(
        staff(&app, by_id).await.expect_err("unknown id"),
        format!("no staff account has the id {unknown}")
    );
    let long = "x".repeat(501);
    let error = staff(&app, disable("max@example.com", Some(&long)))
        .await
        .expect_err("too long");
    assert_eq!(
        error,
        "--reason must be at most 500 characters long, got 501"
    );
    let error = staff(&app, disable("max@example.com", Some("a\u{202E}b")))
        .await
        .expect_err("bidi override");
    assert!(error.starts_with("--reason must not contain"), "{error}");
    // Nothing was recorded for the refused commands: the account still works.
    let token = app.login("max@example.com", STAFF_PASSWORD).await;
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
}

/// The staff table moves only forward: an update for an older stream version than the row
/// reflects (a slower command of a race) is ignored, so the row says what the later event says.
#[tokio::test]
async fn the_staff_table_ignores_an_update_older_than_its_row() {
    use tenantry_application::staff::{StaffAccounts, StaffKey, StaffStatus, TokenCheck};
    use tenantry_infrastructure::staff::PgStaffAccounts;

    let app = TestApp::spawn().await;
    let id = app.create_staff("ned@example.com", STAFF_PASSWORD).await;
    let accounts = PgStaffAccounts::new(app.db.pool.clone());
    let now = Utc::now();
    accounts
        .set_status(id, StaffStatus::Disabled, 3, now)
        .await
        .expect("disable at 3");
    accounts
        .set_status(id, StaffStatus::Active, 2, now)
        .await
        .expect("enable at 2");
    let account = accounts
        .find(&StaffKey::Id(id))
        .await
        .expect("find")
        .expect("the account");
    assert_eq!(account.status(), StaffStatus::Disabled);
    let check = accounts
        .check_token(Uuid::new_v4(), id, now + chrono::Duration::seconds(5))
        .await
        .expect("check");
    assert_eq!(check, TokenCheck::AccountInactive);
    // A token of an account nobody has is no better.
    let check = accounts
        .check_token(Uuid::new_v4(), Uuid::now_v7(), now)
        .await
        .expect("check");
    assert_eq!(check, TokenCheck::AccountInactive);
}
