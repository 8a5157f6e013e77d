//! A real OpenADR 3.1 VTN for the tests: `openleadr-vtn` from crates.io (the binary named
//! by `AEMS_TEST_OPENADR_VTN`, which `.ci/run` installs) on a database of its own on the
//! PostgreSQL 16 server named by `AEMS_TEST_VTN_POSTGRES` (`.ci/run` starts it; the VTN's
//! migrations need 16). Its internal OAuth provider holds two clients made here: a business
//! logic (`bl-client`) and a VEN (`ven-client`). Listens on a free port (the VTN binds
//! 0.0.0.0: its code, not a setting); killed on drop. Without the variables a test says so
//! and does nothing, except under `CI=true`, where that is a failure.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The VEN client's secret.
pub const VEN_SECRET: &str = "ven-secret-for-the-aems-tests";
const BL_SECRET: &str = "bl-secret-for-the-aems-tests";

/// A running VTN.
pub struct Vtn {
    child: Child,
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    bl_token: String,
    log: std::path::PathBuf,
}

impl Drop for Vtn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Vtn {
    /// Starts one with its log in `dir`, or None (outside CI) when none is configured.
    pub fn start(dir: &std::path::Path, name: &str) -> Option<Self> {
        let (Ok(bin), Ok(admin)) = (
            std::env::var("AEMS_TEST_OPENADR_VTN"),
            std::env::var("AEMS_TEST_VTN_POSTGRES"),
        ) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no OpenADR VTN: AEMS_TEST_OPENADR_VTN / AEMS_TEST_VTN_POSTGRES unset (.ci/run sets them)"
            );
            eprintln!("no OpenADR VTN (AEMS_TEST_OPENADR_VTN / AEMS_TEST_VTN_POSTGRES unset): {name} not run");
            return None;
        };
        let db_url = crate::postgres_server::database_on(
            &admin,
            &format!("vtn_{name}_{}", std::process::id()),
        );
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = dir.join("vtn.log");
        let secret: String = (0..64)
            .map(|i| char::from(b'A' + ((i * 7 + std::process::id() as usize) % 26) as u8))
            .collect();
        let child = Command::new(&bin)
            .env("DATABASE_URL", &db_url)
            .env("PORT", port.to_string())
            .env("OAUTH_TYPE", "INTERNAL")
            .env("OAUTH_KEY_TYPE", "HMAC")
            .env("OAUTH_BASE64_SECRET", secret)
            .env("OAUTH_TOKEN_URL", format!("{url}/auth/token"))
            .env("RUST_LOG", "info")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the VTN {bin}: {e}"));
        let mut vtn = Self {
            child,
            url,
            bl_token: String::new(),
            log,
        };
        // Its migrations made the tables (it says it listens once they ran): the clients go in.
        let t0 = Instant::now();
        loop {
            let log = std::fs::read_to_string(&vtn.log).unwrap_or_default();
            assert!(
                !log.contains("migration failed"),
                "the VTN's migrations failed; log:\n{}",
                vtn.log_tail()
            );
            if log.contains("VTN listening on") {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the VTN did not come up; log:\n{}",
                vtn.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut db = postgres::Client::connect(&db_url, postgres::NoTls).unwrap();
        for (user, client, secret, scopes) in [
            ("bl", "bl-client", BL_SECRET, "{read_all,write_vens_bl,write_programs,write_events,write_subscriptions_bl,write_reports_bl}"),
            ("ven", "ven-client", VEN_SECRET, "{read_targets,read_ven_objects,write_reports_ven,write_subscriptions_ven,write_vens_ven}"),
        ] {
            let hash = operator::credentials::hash_secret(secret).unwrap();
            db.execute(
                "INSERT INTO \"user\" (id, reference, description, scopes, created, modified)
                 VALUES ($1, $1, NULL, $2::text::scope[], now(), now())",
                &[&user, &scopes],
            )
            .unwrap();
            db.execute(
                "INSERT INTO user_credentials (user_id, client_id, client_secret) VALUES ($1, $2, $3)",
                &[&user, &client, &hash],
            )
            .unwrap();
        }
        let token: serde_json::Value = ureq::post(&format!("{}/auth/token", vtn.url))
            .send_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "bl-client"),
                ("client_secret", BL_SECRET),
            ])
            .unwrap_or_else(|e| panic!("VTN token: {e}; log:\n{}", vtn.log_tail()))
            .into_json()
            .unwrap();
        vtn.bl_token = token["access_token"].as_str().unwrap().to_string();
        Some(vtn)
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        s[s.len().saturating_sub(4000)..].to_string()
    }

    /// A business-logic request; the JSON answer.
    pub fn bl(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let req = ureq::request(method, &format!("{}/{path}", self.url))
            .set("Authorization", &format!("Bearer {}", self.bl_token));
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match r {
            Ok(r) => r.into_json().unwrap(),
            Err(ureq::Error::Status(code, r)) => panic!(
                "VTN {method} {path}: {code} {}",
                r.into_string().unwrap_or_default()
            ),
            Err(e) => panic!("VTN {method} {path}: {e}"),
        }
    }
}
