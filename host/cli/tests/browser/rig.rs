//! The test rig: a served store with agents, chromedriver, browsers, and
//! helpers to wait for what a page shows.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use super::util::{command, json as cli_json};

/// Every agent's password in these tests.
pub const PASSWORD: &str = "correct horse battery";

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(20);

/// Whether the browser tests run here; when they do not, says how to
/// enable them. With `DOSSIER_BROWSER_TESTS=1` a missing browser fails.
pub fn enabled(test: &str) -> bool {
    if std::env::var("DOSSIER_BROWSER_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "{test}: skipped. The browser tests need Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver), axe-core \
             (npm ci --prefix host/cli/tests/browser) and DOSSIER_BROWSER_TESTS=1."
        );
        return false;
    }
    true
}

/// At most two journeys run at once: each starts one or two browsers, and
/// more would only fight over the cores and stretch what the journeys time.
static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Waits for a journey's turn; the turn ends when the answer is dropped.
pub async fn turn() -> tokio::sync::SemaphorePermit<'static> {
    SLOTS
        .acquire()
        .await
        .expect("the semaphore is never closed")
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A store served by `dossier serve`, with agents and chromedriver.
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub base: String,
    _server: Killed,
    _driver: Killed,
    driver_url: String,
    boss_token: String,
    http: ureq::Agent,
}

/// The store's config beyond `dossier init`'s: a chat queue `support`
/// that ann and bob serve.
const CONFIG: &str = "\n[chat.queues.support]\nmembers = [\"ann\", \"bob\"]\ncapacity = 6\n";

impl Rig {
    /// A store with admin `boss` and agents `ann` and `bob` (passwords
    /// [`PASSWORD`]), served, and chromedriver listening.
    pub fn new() -> Rig {
        Rig::with_config("")
    }

    /// [`Rig::new`] with `extra` added to its dossier.toml.
    pub fn with_config(extra: &str) -> Rig {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path();
        cli_json(path, &["init", "--admin", "boss"]);
        let config = path.join("dossier.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        std::fs::write(&config, format!("{text}{CONFIG}{extra}")).expect("config");
        std::fs::write(path.join("pw"), format!("{PASSWORD}\n")).expect("pw");
        for login in ["ann", "bob"] {
            cli_json(path, &["--as", "boss", "agent", "add", login]);
        }
        for login in ["ann", "bob", "boss"] {
            cli_json(
                path,
                &[
                    "--as",
                    "boss",
                    "agent",
                    "password",
                    login,
                    "--password-file",
                    "pw",
                ],
            );
        }
        let token = cli_json(path, &["--as", "boss", "agent", "token", "new", "boss"]);
        let boss_token = token["token"].as_str().expect("a token").to_owned();
        let (server, base) = serve(path);
        let (driver, driver_url) = chromedriver();
        Rig {
            base,
            _server: server,
            _driver: driver,
            driver_url,
            boss_token,
            http: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
            dir,
        }
    }

    /// Runs `dossier ARGS` on the store as the CLI's JSON.
    pub fn cli(&self, args: &[&str]) -> Value {
        cli_json(self.dir.path(), args)
    }

    /// The URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls the API as the admin (an API token): status and JSON body.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path))
            .header("authorization", format!("Bearer {}", self.boss_token));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let mut response = self
            .http
            .run(request.body(text).expect("request"))
            .expect("the server answers");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A new headless Chromium at 1280×800, in its own profile (a
    /// separate browser context: its own cookies and storage).
    pub async fn browser(&self) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,800",
            "--lang=en-GB",
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": args, "binary": chromium()}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.driver_url)
            .await
            .expect("chromedriver starts a browser")
    }
}

/// The Chromium binary.
fn chromium() -> String {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "DOSSIER_BROWSER_TESTS=1 but Chromium is not installed: apt-get install chromium chromium-driver"
    );
}

/// chromedriver on a port of its choosing; returns once it listens (it
/// says so on stdout).
fn chromedriver() -> (Killed, String) {
    let mut child = Command::new("chromedriver")
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "DOSSIER_BROWSER_TESTS=1 but chromedriver cannot start ({e}): \
                 apt-get install chromium chromium-driver"
            )
        });
    let stdout = child.stdout.take().expect("stdout");
    let killed = Killed(child);
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("chromedriver says where it listens")
            .expect("utf-8");
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (killed, format!("http://127.0.0.1:{port}"))
}

/// `dossier serve` on a free port in `dir`; returns once it listens.
fn serve(dir: &Path) -> (Killed, String) {
    let mut child = command(dir, &["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("dossier serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let base = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (Killed(child), base)
}

/// A web site of a contact centre's customer, on another origin
/// (`localhost`, where the server is `127.0.0.1`): one page, `html`, at
/// every path. Answers its address.
pub fn site(html: String) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("the site listens");
    let port = server.server_addr().to_ip().expect("an IP address").port();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let page = tiny_http::Response::from_string(html.clone()).with_header(
                tiny_http::Header::from_bytes("content-type", "text/html; charset=utf-8")
                    .expect("a header"),
            );
            let _ = request.respond(page);
        }
    });
    format!("http://localhost:{port}/")
}

/// Where screenshots go: `target/browser/`.
fn shots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir
}

/// Saves what `browser` shows as `target/browser/NAME.png`.
pub async fn screenshot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("a screenshot");
    std::fs::write(shots().join(format!("{name}.png")), png).expect("screenshot written");
}

/// The page waits, with a MutationObserver, until `arguments[0]` (a CSS
/// selector) matches a shown element whose text holds `arguments[1]`, or
/// `arguments[2]` milliseconds pass; it answers the element's text, or
/// null. The waiting is the page's own: it reacts to the change itself.
const WAIT_SCRIPT: &str = "
const [css, text, patience, done] = arguments;
const look = () => {
  for (const e of document.querySelectorAll(css)) {
    const shown = e.offsetParent !== null || e.getClientRects().length > 0;
    if (shown && e.innerText.includes(text)) return e.innerText;
  }
  return null;
};
const found = look();
if (found !== null) { done(found); return; }
const watch = new MutationObserver(() => {
  const now = look();
  if (now !== null) { watch.disconnect(); clearTimeout(timer); done(now); }
});
const timer = setTimeout(() => { watch.disconnect(); done(look()); }, patience);
watch.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
";

/// Waits until `css` matches a shown element whose text contains `text`;
/// answers that text. Fails with what the page showed.
pub async fn wait_text(browser: &Client, css: &str, text: &str) -> String {
    let patience = u64::try_from(PATIENCE.as_millis()).unwrap_or(u64::MAX);
    let found = browser
        .execute_async(WAIT_SCRIPT, vec![json!(css), json!(text), json!(patience)])
        .await
        .unwrap_or_else(|e| panic!("waiting for `{css}` showing `{text}` failed: {e}"));
    if let Some(found) = found.as_str() {
        return found.to_owned();
    }
    let shown = match browser.find(Locator::Css("body")).await {
        Ok(b) => b.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    panic!("no `{css}` showing `{text}` within {PATIENCE:?}; the page shows:\n{shown}");
}

/// Waits until `css` matches a shown element and answers it.
pub async fn wait_for(browser: &Client, css: &str) -> fantoccini::elements::Element {
    wait_text(browser, css, "").await;
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("`{css}` was shown, then not found: {e}"))
}

/// Sets a field's value as a paste would, and tells the page (an `input`
/// event): typing thousands of keys one by one would only slow the test.
pub async fn paste(browser: &Client, css: &str, text: &str) {
    browser
        .execute(
            "const f = document.querySelector(arguments[0]);
             f.value = arguments[1];
             f.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(css), json!(text)],
        )
        .await
        .expect("the field is set");
}

/// Picks `value` in the select `css`.
pub async fn select(browser: &Client, css: &str, value: &str) {
    wait_for(browser, css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("cannot pick `{value}` in `{css}`: {e}"));
}

/// The value of the field `css`.
pub async fn value_of(browser: &Client, css: &str) -> String {
    browser
        .execute(
            "return document.querySelector(arguments[0]).value;",
            vec![json!(css)],
        )
        .await
        .expect("read")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Types `text` into the field `css` (after clearing it).
pub async fn type_into(browser: &Client, css: &str, text: &str) {
    let field = wait_for(browser, css).await;
    field.clear().await.expect("cleared");
    field.send_keys(text).await.expect("typed");
}

/// Clicks `css`.
pub async fn click(browser: &Client, css: &str) {
    wait_for(browser, css).await.click().await.expect("clicked");
}

/// Signs `login` in on the desktop.
pub async fn sign_in(browser: &Client, rig: &Rig, login: &str) {
    browser
        .goto(&rig.url("/"))
        .await
        .expect("the desktop loads");
    type_into(browser, "#login", login).await;
    // With the keyboard: Enter in the password field signs in.
    type_into(browser, "#password", &format!("{PASSWORD}\u{E007}")).await;
    wait_text(browser, "#who", login).await;
}

/// Runs axe-core (from npm, in `tests/browser/node_modules`) in the page
/// and answers the serious and critical violations, described.
pub async fn axe(browser: &Client) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing at {} ({e}): run `npm ci --prefix host/cli/tests/browser`",
            path.display()
        )
    });
    browser
        .execute(&format!("{source}\nreturn typeof axe;"), vec![])
        .await
        .expect("axe-core loads in the page");
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).join(', ')})`)),
               e => done([`axe failed: ${e}`]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    result
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
