//! Headless Chromium for the admin panel's browser tests and benchmark: Debian's `chromium`,
//! driven over WebDriver by `fantoccini` through a `chromedriver` started on a free port. A
//! missing browser or driver is a panic naming the packages to install, never a skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

pub const INSTALL: &str = "the browser tests need Debian's Chromium and its WebDriver: \
    `apt-get install -y chromium chromium-driver`";

/// How long chromedriver may take to answer.
const SOON: Duration = Duration::from_secs(20);

/// `chromedriver`, stopped when dropped.
pub struct Driver {
    child: Child,
    /// The driver's WebDriver endpoint.
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([
        PathBuf::from("/usr/bin"),
        PathBuf::from("/usr/lib/chromium"),
    ]) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

pub async fn start_driver() -> Driver {
    let driver = find_program(&["chromedriver"])
        .unwrap_or_else(|| panic!("chromedriver not found: {INSTALL}"));
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to start chromedriver ({e}): {INSTALL}"));
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + SOON;
    loop {
        if let Ok(response) = reqwest::get(format!("{url}/status")).await
            && response.status().is_success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url }
}

pub async fn browser(driver: &Driver) -> Client {
    let chromium = find_program(&["chromium", "chromium-browser"])
        .unwrap_or_else(|| panic!("chromium not found: {INSTALL}"));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1366,900", "--lang=en-US"],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| {
            panic!("failed to start Chromium through chromedriver ({e}): {INSTALL}")
        })
}
