//! A Redis server of the test's own: `redis-server` on a free port (never 6379), its files in a
//! temporary directory, which the test may stop, start again on the same port, or restart empty,
//! without touching the machine's Redis. Killed (and its directory removed) on drop.
//!
//! Without persistence (the default) a restart loses everything, as a Redis without `appendonly`
//! or `aclfile` does; [`PrivateRedis::start_persistent`] keeps data (AOF) and users (an ACL file)
//! across [`PrivateRedis::start_again`].

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The machine's Redis, which no private server may take the place of.
const MACHINE_PORT: u16 = 6379;

/// How long a started server may take to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    persistent: bool,
    child: Option<Child>,
}

impl PrivateRedis {
    /// A server without persistence: a restart loses every key and ACL user.
    pub async fn start() -> Self {
        Self::launch(false).await
    }

    /// A server with an append-only file and an ACL file in its directory: data and users
    /// survive [`Self::start_again`] (not [`Self::restart_empty`]).
    pub async fn start_persistent() -> Self {
        Self::launch(true).await
    }

    async fn launch(persistent: bool) -> Self {
        let dir = std::env::temp_dir().join(format!("tenantry-redis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("failed to create the Redis directory");
        let mut last_error = String::new();
        // A free port can be taken between finding it and the server binding it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut redis = Self {
                port,
                dir: dir.clone(),
                persistent,
                child: None,
            };
            match redis.spawn() {
                Ok(()) => match redis.wait_ready().await {
                    Ok(()) => return redis,
                    Err(error) => last_error = error,
                },
                Err(error) => last_error = error,
            }
            redis.kill();
            // Keep the directory for the next try.
            redis.dir = PathBuf::new();
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("failed to start a private redis-server: {last_error}");
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client of this server.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid Redis URL")
    }

    /// Whether the server is running (between a start and a stop).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server (SIGKILL, as a crash or a lost host), and waits until it is gone and
    /// its port refuses connections.
    pub async fn stop(&mut self) {
        self.kill();
        let deadline = Instant::now() + READY_WITHIN;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "redis on {} did not stop",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the stopped server again on the same port and directory (with persistence, what
    /// it had is back), and waits until it answers.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "redis on {} is running", self.port);
        self.spawn().expect("failed to start redis-server again");
        self.wait_ready()
            .await
            .expect("redis-server did not come back");
    }

    /// Stops the server, deletes its files, and starts it again empty on the same port.
    pub async fn restart_empty(&mut self) {
        if self.child.is_some() {
            self.stop().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::create_dir_all(&self.dir).expect("failed to recreate the Redis directory");
        self.start_again().await;
    }

    fn spawn(&mut self) -> Result<(), String> {
        assert_ne!(self.port, MACHINE_PORT, "never the machine's Redis");
        let mut command = Command::new("redis-server");
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
            .args(["--daemonize", "no", "--save", ""])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"));
        if self.persistent {
            let acl = self.dir.join("users.acl");
            if !acl.exists() {
                std::fs::write(&acl, "").map_err(|e| format!("failed to write {acl:?}: {e}"))?;
            }
            command
                .args(["--appendonly", "yes", "--appendfsync", "always"])
                .arg("--aclfile")
                .arg(&acl);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("failed to run redis-server (is it installed?): {e}"))?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        let client = self.client();
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "redis-server on port {} exited ({status}): {}",
                    self.port,
                    log_tail(&self.dir)
                ));
            }
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "redis-server on port {} did not answer within {READY_WITHIN:?}",
                    self.port
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("failed to find a free port")
            .port();
        if port != MACHINE_PORT {
            return port;
        }
    }
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn set_and_get(redis: &PrivateRedis, value: Option<&str>) -> Option<String> {
        let mut conn = redis
            .client()
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        if let Some(value) = value {
            let () = redis::cmd("SET")
                .arg("k")
                .arg(value)
                .query_async(&mut conn)
                .await
                .expect("SET");
        }
        redis::cmd("GET")
            .arg("k")
            .query_async(&mut conn)
            .await
            .expect("GET")
    }

    #[tokio::test]
    async fn stops_and_comes_back_on_its_port_with_or_without_its_data() {
        let mut redis = PrivateRedis::start().await;
        assert_ne!(redis.port(), MACHINE_PORT);
        set_and_get(&redis, Some("v")).await;
        redis.stop().await;
        assert!(!redis.is_running());
        assert!(
            redis
                .client()
                .get_multiplexed_async_connection()
                .await
                .is_err(),
            "stopped means refused"
        );
        redis.start_again().await;
        assert_eq!(set_and_get(&redis, None).await, None, "no persistence");

        let mut kept = PrivateRedis::start_persistent().await;
        set_and_get(&kept, Some("v")).await;
        kept.stop().await;
        kept.start_again().await;
        assert_eq!(set_and_get(&kept, None).await.as_deref(), Some("v"));
        kept.restart_empty().await;
        assert_eq!(set_and_get(&kept, None).await, None);
        let dir = kept.dir.clone();
        drop(kept);
        assert!(!dir.exists(), "its directory goes with it");
    }
}
