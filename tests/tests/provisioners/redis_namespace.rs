//! The Redis steps: the tenant's ACL user reaches its own namespace only; its queue works.

use redis::aio::MultiplexedConnection;
use tenantry_domain::{IsolationModel, ProvisionedResource, TenantNames};

use crate::support::{Harness, redis_url};

#[tokio::test]
async fn a_tenant_redis_user_reaches_its_own_namespace_only() {
    Harness::new()
        .await
        .run(|h| async move {
            let (a, b) = (
                h.tenant(IsolationModel::SharedSchema),
                h.tenant(IsolationModel::SharedSchema),
            );
            let made = h.apply_all(&a).await;
            h.apply_all(&b).await;
            let (names, names_b) = (TenantNames::of(a.id), TenantNames::of(b.id));
            let (ns_a, ns_b) = (names.redis_namespace(), names_b.redis_namespace());
            let (user, secret) = (names.redis_user(), names.redis_secret());
            assert_eq!(
                made[1],
                ProvisionedResource::RedisNamespace {
                    namespace: ns_a.to_owned(),
                    acl_user: user.to_owned(),
                    password_secret: secret.clone(),
                }
            );
            let queue = names.queue();
            assert_eq!(
                made[2],
                ProvisionedResource::Queue {
                    queue: queue.clone()
                }
            );
            let password = h.secrets.get(&secret).await.unwrap().expect("stored");

            let mut admin = h.redis.get_multiplexed_async_connection().await.unwrap();
            let _: () = redis::cmd("SET")
                .arg(format!("{ns_b}x"))
                .arg("b's")
                .query_async(&mut admin)
                .await
                .unwrap();

            let mut conn = login(user, password.expose())
                .await
                .expect("the tenant logs in");
            let _: () = redis::cmd("SET")
                .arg(format!("{ns_a}x"))
                .arg("mine")
                .query_async(&mut conn)
                .await
                .unwrap();
            let mine: String = redis::cmd("GET")
                .arg(format!("{ns_a}x"))
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(mine, "mine");
            for command in [
                redis::cmd("GET").arg(format!("{ns_b}x")).clone(),
                redis::cmd("SET")
                    .arg(format!("{ns_b}x"))
                    .arg("stolen")
                    .clone(),
                redis::cmd("DEL").arg(format!("{ns_b}x")).clone(),
                redis::cmd("RENAME")
                    .arg(format!("{ns_a}x"))
                    .arg(format!("{ns_b}y"))
                    .clone(),
                redis::cmd("PUBLISH")
                    .arg(format!("{ns_b}events"))
                    .arg("hi")
                    .clone(),
                redis::cmd("SCAN").arg(0).clone(),
                redis::cmd("KEYS").arg("*").clone(),
                redis::cmd("SELECT").arg(1).clone(),
                redis::cmd("FLUSHALL").clone(),
                redis::cmd("CONFIG").arg("GET").arg("*").clone(),
                redis::cmd("EVAL")
                    .arg("return redis.call('GET', KEYS[1])")
                    .arg(1)
                    .arg(format!("{ns_b}x"))
                    .clone(),
            ] {
                let refused = command
                    .query_async::<redis::Value>(&mut conn)
                    .await
                    .expect_err("refused");
                assert_eq!(refused.code(), Some("NOPERM"), "{refused}");
            }
            let theirs: String = redis::cmd("GET")
                .arg(format!("{ns_b}x"))
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(theirs, "b's");

            // The queue: produce, then consume through the workers group.
            let _: String = redis::cmd("XADD")
                .arg(&queue)
                .arg("*")
                .arg("job")
                .arg("1")
                .query_async(&mut conn)
                .await
                .unwrap();
            let read: redis::Value = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(TenantNames::CONSUMER_GROUP)
                .arg("worker-1")
                .arg("COUNT")
                .arg(1)
                .arg("STREAMS")
                .arg(&queue)
                .arg(">")
                .query_async(&mut conn)
                .await
                .expect("the tenant consumes its queue");
            assert!(format!("{read:?}").contains("job"), "{read:?}");

            assert!(login(user, "wrong password").await.is_err());

            h.release_all(&a).await;
            assert!(
                login(user, password.expose()).await.is_err(),
                "the user is gone"
            );
            let left: i64 = redis::cmd("EXISTS")
                .arg(format!("{ns_a}x"))
                .arg(&queue)
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(left, 0, "the namespace's keys are gone");
            assert!(
                h.remaining(a.id).await.is_empty(),
                "{:?}",
                h.remaining(a.id).await
            );
            let kept: i64 = redis::cmd("EXISTS")
                .arg(format!("{ns_b}x"))
                .query_async(&mut admin)
                .await
                .unwrap();
            assert_eq!(kept, 1, "another tenant's keys stay");
            h.release_all(&b).await;
        })
        .await;
}

async fn login(user: &str, password: &str) -> redis::RedisResult<MultiplexedConnection> {
    let mut info: redis::ConnectionInfo = redis_url().parse()?;
    info.redis.username = Some(user.to_owned());
    info.redis.password = Some(password.to_owned());
    redis::Client::open(info)?
        .get_multiplexed_async_connection()
        .await
}
