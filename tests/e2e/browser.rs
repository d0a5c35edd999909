//! The portal as a child process, and Debian's Chromium driven through
//! chromedriver (WebDriver), both on loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One master key for every portal of a test, so that two instances on
/// one database read each other's records.
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub(crate) fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `target/debug` (or the profile the tests were built in).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let deps = exe.parent().ok_or("no parent")?;
    Ok(deps.parent().ok_or("no profile dir")?.to_path_buf())
}

/// The portal example, started on a free port; what it prints is kept.
pub(crate) struct Portal {
    child: Child,
    pub(crate) url: String,
    output: Arc<Mutex<String>>,
    /// How many text messages and emails a test has read codes from.
    read: Mutex<(usize, usize)>,
    _dir: Option<tempdir::Dir>,
}

pub(crate) mod tempdir {
    /// A folder removed when dropped.
    pub(crate) struct Dir(pub(crate) std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Portal {
    /// On a fresh SQLite file.
    pub(crate) fn sqlite() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "twofactor-e2e-{}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&dir)?;
        let db = dir.join("portal.db");
        let mut portal = Self::start(&["--db", db.to_str().ok_or("path")?])?;
        portal._dir = Some(tempdir::Dir(dir));
        Ok(portal)
    }

    /// On the PostgreSQL server of `TWOFACTOR_POSTGRES_URL`.
    pub(crate) fn postgres(url: &str) -> Result<Self> {
        Self::start(&["--postgres", url])
    }

    fn start(args: &[&str]) -> Result<Self> {
        let port = free_port()?;
        let exe = profile_dir()?.join("examples").join("portal");
        let mut child = Command::new(&exe)
            .args(args)
            .args(["--port", &port.to_string()])
            .env("PORTAL_MASTER_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "{}: {e} (built by `cargo test --features portal`)",
                    exe.display()
                )
            })?;
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let sink = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if let Ok(mut out) = sink.lock() {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        });
        let mut portal = Self {
            child,
            url: format!("http://localhost:{port}"),
            output,
            read: Mutex::new((0, 0)),
            _dir: None,
        };
        let started = Instant::now();
        while !portal.printed().contains("Acme Portal on") {
            if let Some(status) = portal.child.try_wait()? {
                return Err(format!("the portal exited: {status}").into());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the portal did not start".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(portal)
    }

    /// Everything the portal printed so far.
    pub(crate) fn printed(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// The code in the newest text message (or email) the console printed
    /// since the last one read, waiting for the portal's output to arrive
    /// (a code read earlier is never handed out again).
    pub(crate) fn last_code(&self, sms: bool) -> Result<String> {
        let marker = if sms { "--- SMS to" } else { "--- email to" };
        let started = Instant::now();
        let mut read = self.read.lock().map_err(|_| "poisoned")?;
        let seen = if sms { &mut read.0 } else { &mut read.1 };
        loop {
            let printed = self.printed();
            let count = printed.matches(marker).count();
            let last = printed.rfind(marker).and_then(|at| printed.get(at..));
            let code = last.filter(|_| count > *seen).and_then(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .find(|run| run.len() == 6)
                    .map(str::to_owned)
            });
            match code {
                Some(code) => {
                    *seen = count;
                    return Ok(code);
                }
                None if started.elapsed() > Duration::from_secs(5) => {
                    return Err(format!(
                        "no new code; the last message: {}",
                        last.unwrap_or("(none)")
                    )
                    .into())
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver with a fresh headless Chromium behind it.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    shots: PathBuf,
    name: String,
    count: usize,
    _profile: tempdir::Dir,
}

impl Browser {
    pub(crate) async fn start(name: &str) -> Result<Self> {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            if !std::path::Path::new(tool).exists() {
                return Err(format!("{tool} is missing: run scripts/test, which installs Debian's chromium and chromium-driver").into());
            }
        }
        let port = free_port()?;
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let profile =
            std::env::temp_dir().join(format!("twofactor-chromium-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile)?;
        let caps = json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-dev-shm-usage", "--window-size=1100,1100",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            return Err("caps".into());
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() > Duration::from_secs(30) => {
                    return Err(format!("chromedriver: {e}").into())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let shots = profile_dir()?.join("e2e-screenshots");
        std::fs::create_dir_all(&shots)?;
        Ok(Self {
            client,
            driver,
            shots,
            name: name.to_owned(),
            count: 0,
            _profile: tempdir::Dir(profile),
        })
    }

    pub(crate) async fn goto(&self, url: &str) -> Result {
        self.client.goto(url).await?;
        Ok(())
    }

    /// The element, or an error that says which page lacked it.
    async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => Ok(element),
            Err(_) => Err(format!(
                "no {css} on {}: {}",
                self.path().await.unwrap_or_default(),
                self.text().await.unwrap_or_default()
            )
            .into()),
        }
    }

    pub(crate) async fn fill(&self, css: &str, text: &str) -> Result {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Clicks what submits a form or follows a link, and waits for the
    /// next page to load.
    pub(crate) async fn click(&self, css: &str) -> Result {
        let old = self.client.find(Locator::Css("html")).await?;
        self.find(css).await?.click().await?;
        let started = Instant::now();
        // The old page's root goes stale once the next page replaced it.
        while old.tag_name().await.is_ok() {
            if let Ok(alert) = self.client.get_alert_text().await {
                return Err(format!("clicking {css} raised an alert: {alert}").into());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("clicking {css} loaded no page").into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.client.wait().for_element(Locator::Css("body")).await?;
        Ok(())
    }

    /// Picks `value` in the `<select>` at `css`.
    pub(crate) async fn choose(&self, css: &str, value: &str) -> Result {
        self.find(css).await?.select_by_value(value).await?;
        Ok(())
    }

    /// Ticks a checkbox.
    pub(crate) async fn tick(&self, css: &str) -> Result {
        self.client.find(Locator::Css(css)).await?.click().await?;
        Ok(())
    }

    /// The text of the page's main part.
    pub(crate) async fn text(&self) -> Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    pub(crate) async fn text_of(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    pub(crate) async fn has(&self, css: &str) -> Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    pub(crate) async fn path(&self) -> Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Saves a screenshot in `target/debug/e2e-screenshots/`.
    pub(crate) async fn shot(&mut self, what: &str) -> Result {
        self.count += 1;
        let png = self.client.screenshot().await?;
        std::fs::write(
            self.shots
                .join(format!("{}-{:02}-{what}.png", self.name, self.count)),
            png,
        )?;
        Ok(())
    }

    /// Chromium's virtual authenticator (WebAuthn), which answers
    /// `navigator.credentials` as a USB security key would.
    pub(crate) async fn virtual_authenticator(&self) -> Result {
        self.client.issue_cmd(AddAuthenticator).await?;
        Ok(())
    }

    pub(crate) async fn close(self) -> Result {
        let Browser {
            client, mut driver, ..
        } = self;
        let closed = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
        closed?;
        Ok(())
    }
}

/// WebDriver's "Add Virtual Authenticator" (Web Authentication, §11.3).
#[derive(Debug)]
struct AddAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddAuthenticator {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/webauthn/authenticator",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2", "transport": "usb", "hasResidentKey": true,
            "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true,
        });
        (http::Method::POST, Some(body.to_string()))
    }
}
