//! A database of its own on the test PostgreSQL server: `AEMS_TEST_POSTGRES` holds an
//! administrator's URL (`postgres://aems@127.0.0.1:PORT/postgres`, set by `.ci/run`, which
//! starts the server: `.ci/postgres`). Without it a test says so and does nothing, except
//! under `CI=true`, where a missing server is a failure.

/// A fresh database `aems_<name>_<pid>` on the test server; its URL, or None without one.
pub fn database(name: &str) -> Option<String> {
    let Ok(admin) = std::env::var("AEMS_TEST_POSTGRES") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no PostgreSQL: AEMS_TEST_POSTGRES is unset (.ci/run starts one)"
        );
        eprintln!("no PostgreSQL (AEMS_TEST_POSTGRES unset): {name} did not run against it");
        return None;
    };
    Some(database_on(
        &admin,
        &format!("aems_{name}_{}", std::process::id()),
    ))
}

/// A fresh database `db` on the server of the administrator's URL `admin`; its URL.
pub fn database_on(admin: &str, db: &str) -> String {
    let mut c = postgres::Client::connect(admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {admin}: {e}"));
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let (server, _) = admin
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{admin} has no /database"));
    format!("{server}/{db}")
}
