//! The secret store: values encrypted at rest, bound to their reference, readable only with the
//! key that wrote them.

use tenantry_application::provisioning::{SecretError, SecretStore, SecretValue};
use tenantry_domain::SecretRef;
use tenantry_infrastructure::secrets::{PgSecretStore, SecretKey};

use crate::support::Harness;

#[tokio::test]
async fn secrets_round_trip_encrypted_and_put_if_absent_keeps_the_first() {
    let h = Harness::new().await;
    let reference = SecretRef::parse("tenant/test/postgres").unwrap();
    let first = SecretValue::new("first-password-value");
    assert_eq!(h.secrets.get(&reference).await.unwrap(), None);
    let kept = h.secrets.put_if_absent(&reference, &first).await.unwrap();
    assert_eq!(kept, first);
    let again = h
        .secrets
        .put_if_absent(&reference, &SecretValue::new("second"))
        .await
        .unwrap();
    assert_eq!(again, first, "the first value stays");

    let raw: Vec<u8> = sqlx::query_scalar("SELECT ciphertext FROM secrets WHERE reference = $1")
        .bind(reference.as_str())
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert!(!raw.windows(5).any(|w| w == b"first"), "stored encrypted");

    h.secrets
        .put(&reference, &SecretValue::new("replaced"))
        .await
        .unwrap();
    assert_eq!(
        h.secrets.get(&reference).await.unwrap(),
        Some(SecretValue::new("replaced"))
    );
    let listed = h.secrets.list("tenant/").await.unwrap();
    assert_eq!(listed, std::slice::from_ref(&reference));
    h.secrets.delete(&reference).await.unwrap();
    h.secrets.delete(&reference).await.unwrap();
    assert_eq!(h.secrets.get(&reference).await.unwrap(), None);
}

#[tokio::test]
async fn a_secret_does_not_open_with_another_key_or_under_another_reference() {
    let h = Harness::new().await;
    let (a, b) = (
        SecretRef::parse("tenant/a/redis").unwrap(),
        SecretRef::parse("tenant/b/redis").unwrap(),
    );
    h.secrets
        .put(&a, &SecretValue::new("value-of-a"))
        .await
        .unwrap();

    let other_key = PgSecretStore::new(h.db.pool.clone(), &SecretKey::generate());
    match other_key.get(&a).await {
        Err(SecretError::Undecryptable { reason, .. }) => {
            assert!(reason.contains(&h.key.id()), "{reason}")
        }
        other => panic!("expected Undecryptable, got {other:?}"),
    }

    // Copy a's ciphertext under b's reference: the reference is authenticated.
    sqlx::query(
        "INSERT INTO secrets (reference, key_id, nonce, ciphertext) \
         SELECT $2, key_id, nonce, ciphertext FROM secrets WHERE reference = $1",
    )
    .bind(a.as_str())
    .bind(b.as_str())
    .execute(&h.db.pool)
    .await
    .unwrap();
    assert!(matches!(
        h.secrets.get(&b).await,
        Err(SecretError::Undecryptable { .. })
    ));
}

#[tokio::test]
async fn without_a_configured_key_every_start_uses_the_one_generated_first() {
    let h = Harness::new().await;
    let first = SecretKey::load(None, &h.db.pool).await.unwrap();
    let second = SecretKey::load(Some("  "), &h.db.pool).await.unwrap();
    assert_eq!(first.id(), second.id());
    let configured = SecretKey::generate();
    let hex: String = (0..32).map(|i| format!("{:02x}", i * 3)).collect();
    let parsed = SecretKey::load(Some(&hex), &h.db.pool).await.unwrap();
    assert_ne!(parsed.id(), first.id());
    assert_ne!(configured.id(), first.id());
    let error = SecretKey::load(Some("too short"), &h.db.pool)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("TENANTRY_SECRET_KEY"), "{error}");
}
