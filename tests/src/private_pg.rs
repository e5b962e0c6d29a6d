//! A PostgreSQL cluster of the test's own, so that a test can stop, start and starve it without
//! touching the machine's server: `initdb` into a fresh temp directory, a free port on
//! 127.0.0.1, trust authentication for `postgres`, `max_connections` as asked, and durability
//! off (`fsync`, `synchronous_commit`, `full_page_writes`) for a fast start. Dropping it stops
//! the server at once and removes the directory, also when the test panics.
//!
//! The binaries come from `TENANTRY_TEST_PG_BIN` or the newest `/usr/lib/postgresql/*/bin`
//! (Debian's layout). `initdb` refuses to run as root: as root, the cluster is made and run as
//! the `postgres` user (`runuser`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running (or stopped) private cluster.
pub struct PrivatePg {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// How a [`PrivatePg`] is made.
#[derive(Debug, Clone)]
pub struct PrivatePgOptions {
    pub max_connections: u32,
}

impl Default for PrivatePgOptions {
    fn default() -> Self {
        Self {
            max_connections: 100,
        }
    }
}

impl PrivatePg {
    /// A new cluster with the default options, started.
    pub fn start_new() -> Self {
        Self::start_with(PrivatePgOptions::default())
    }

    /// A new cluster, started.
    ///
    /// # Panics
    /// When no PostgreSQL binaries are found, or `initdb` or the first start fails.
    pub fn start_with(options: PrivatePgOptions) -> Self {
        let bin = binaries();
        let port = free_port();
        let data = std::env::temp_dir().join(format!(
            "tenantry-private-pg-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let as_postgres = is_root();
        let cluster = Self {
            bin,
            data,
            port,
            as_postgres,
        };
        let data = cluster.data.to_string_lossy().into_owned();
        let out = cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb failed: {}", text(&out));
        let conf = format!(
            "\n# tenantry-tests: a private, throwaway cluster\n\
             port = {port}\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{data}'\n\
             max_connections = {max}\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             shared_buffers = 32MB\n\
             log_min_messages = warning\n",
            max = options.max_connections,
        );
        let path = cluster.data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&path).expect("initdb wrote postgresql.conf");
        existing.push_str(&conf);
        std::fs::write(&path, existing).expect("failed to write postgresql.conf");
        cluster.start();
        cluster
    }

    /// From now on every role but `postgres` must give its password over TCP (SCRAM-SHA-256);
    /// `postgres` keeps trust. For tests of what a password lets in.
    pub fn require_passwords(&self) {
        let hba = "local all all trust\n\
                   host all postgres 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";
        std::fs::write(self.data.join("pg_hba.conf"), hba).expect("failed to write pg_hba.conf");
        let data = self.data.to_string_lossy().into_owned();
        let out = self.run("pg_ctl", &["-D", &data, "reload"]);
        assert!(out.status.success(), "pg_ctl reload failed: {}", text(&out));
    }

    /// The port it listens on (the same across [`PrivatePg::stop`] and [`PrivatePg::start`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Where the cluster's files are (removed on drop).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres`: the server URL for
    /// [`crate::TestDb::on_server`].
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    ///
    /// # Panics
    /// When it does not start within 30 s.
    pub fn start(&self) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.data.join("server.log").to_string_lossy().into_owned();
        let out = self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "30", "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            text(&out),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (fast shutdown: sessions are ended with `admin_shutdown`) and waits
    /// until it is gone.
    ///
    /// # Panics
    /// When it does not stop.
    pub fn stop(&self) {
        let out = self.pg_ctl_stop("fast");
        assert!(out.status.success(), "pg_ctl stop failed: {}", text(&out));
    }

    fn pg_ctl_stop(&self, mode: &str) -> Output {
        let data = self.data.to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &["-D", &data, "-m", mode, "-w", "-t", "30", "stop"],
        )
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        command
            .args(args)
            // A directory the `postgres` user may enter, whatever the test's is.
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap_or_else(|e| panic!("failed to run {}: {e}", program.display()))
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = self.pg_ctl_stop("immediate");
        }
        if let Err(error) = std::fs::remove_dir_all(&self.data) {
            eprintln!(
                "warning: could not remove the private cluster {}: {error}",
                self.data.display()
            );
        }
    }
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
fn binaries() -> PathBuf {
    if let Ok(dir) = std::env::var("TENANTRY_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_binaries(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("no PostgreSQL binaries under /usr/lib/postgresql/*/bin (set TENANTRY_TEST_PG_BIN)")
}

fn has_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).exists())
}

/// A port nothing listens on now (the OS's pick of a free one).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("failed to find a free port");
    listener.local_addr().expect("a bound address").port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
