//! `tenantry serve` as a child process (the built binary), logging JSON to stderr, for the tests
//! and benchmarks about processes: several on one database, one frozen with SIGSTOP while its
//! connections stay open, then resumed with SIGCONT.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::TestDb;

/// A running `tenantry serve`; killed when dropped.
pub struct ServeProcess {
    child: Child,
    /// Every JSON line it wrote to stderr so far.
    lines: Arc<Mutex<Vec<Value>>>,
    /// `http://127.0.0.1:PORT`, once it logged `serving`.
    pub address: String,
}

impl ServeProcess {
    /// Starts `binary serve` over `db` with the sagas on, `env` added to its environment, and
    /// waits (up to `deadline`) until it serves.
    pub fn start(binary: &Path, db: &TestDb, env: &[(&str, &str)], deadline: Duration) -> Self {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("TENANTRY_DATABASE_URL", &db.url)
            .env_remove("TENANTRY_EVENT_STORE_URL")
            .env("TENANTRY_HTTP_ADDR", "127.0.0.1:0")
            .env("TENANTRY_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,tenantry_application::sagas=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("tenantry serve starts");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let json = serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|_| serde_json::json!({"fields": {"message": line}}));
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(json);
            }
        });
        let mut process = Self {
            child,
            lines,
            address: String::new(),
        };
        let serving = process
            .wait_for_line(0, deadline, |line| message(line) == "serving")
            .unwrap_or_else(|| panic!("never served: {:#?}", process.messages(0)));
        let addr = serving["fields"]["addr"].as_str().expect("the address");
        process.address = format!("http://{addr}");
        process
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many lines it logged so far (an index for [`ServeProcess::lines_since`]).
    pub fn line_count(&self) -> usize {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The lines logged from index `from` on.
    pub fn lines_since(&self, from: usize) -> Vec<Value> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines.get(from..).map(<[Value]>::to_vec).unwrap_or_default()
    }

    /// The messages logged from index `from` on (for failure messages).
    pub fn messages(&self, from: usize) -> Vec<String> {
        self.lines_since(from)
            .iter()
            .map(|line| format!("{} {}", line["level"], message(line)))
            .collect()
    }

    /// The first line from index `from` on that `matches`, waiting for it up to `deadline`.
    pub fn wait_for_line(
        &self,
        from: usize,
        deadline: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let until = Instant::now() + deadline;
        loop {
            if let Some(line) = self.lines_since(from).into_iter().find(|l| matches(l)) {
                return Some(line);
            }
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether it logged a line with this message from index `from` on.
    pub fn logged(&self, from: usize, text: &str) -> bool {
        self.lines_since(from).iter().any(|l| message(l) == text)
    }

    /// Freezes it (SIGSTOP): its sockets stay open, it answers nothing.
    pub fn freeze(&self) {
        signal(self.pid(), "-STOP");
    }

    /// Resumes it (SIGCONT).
    pub fn resume(&self) {
        signal(self.pid(), "-CONT");
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too.
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A log line's message.
pub fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

fn signal(pid: u32, which: &str) {
    let status = Command::new("kill")
        .args([which, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {which} {pid}: {status:?}");
}
