//! A PostgreSQL database of its own for each test, dropped (forcibly) when the test ends.

use flux_orchestrator::config::DbConfig;
use flux_orchestrator::store::Store;

/// The admin URL of the test PostgreSQL server (`make test` sets DATABASE_URL).
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL must point at a PostgreSQL server whose user may CREATE DATABASE; `make test` sets it",
    )
}

/// A database of its own for one test; dropped (forcibly) when the value is dropped.
pub struct TestDb {
    /// Database name.
    pub name: String,
    /// Host of the server.
    pub host: String,
    /// Port of the server.
    pub port: u16,
    user: String,
}

impl TestDb {
    /// Create a fresh, empty database.
    pub async fn create() -> TestDb {
        super::install_crypto();
        let admin = admin_url();
        let config: tokio_postgres::Config = admin.parse().expect("DATABASE_URL parses");
        let host = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("postgres").to_string();
        let name = format!("fluxo_test_{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("connect to DATABASE_URL");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        TestDb {
            name,
            host,
            port,
            user,
        }
    }

    /// URL of this database.
    pub fn url(&self) -> String {
        self.url_via(&self.host, self.port)
    }

    /// URL of this database reached through another host/port (a proxy).
    pub fn url_via(&self, host: &str, port: u16) -> String {
        format!("postgres://{}@{host}:{port}/{}", self.user, self.name)
    }

    /// A direct client to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to test database");
        tokio::spawn(conn);
        client
    }

    /// A [`Store`] on this database, as the server connects (for writing through the real
    /// batch writer, "replica A").
    pub fn store(&self) -> Store {
        store(&self.url())
    }
}

/// A [`Store`] on the database at `url`, with small pools and no statement timeout.
pub fn store(url: &str) -> Store {
    Store::connect(&DbConfig {
        database_url: url.to_string(),
        db_pool_size: 4,
        db_timeout_secs: 5,
        db_api_pool_size: 4,
        db_api_statement_timeout_ms: 0,
        db_ca_file: None,
        read_database_url: None,
        db_connection_budget: 0,
    })
    .expect("store")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_url();
        let name = self.name.clone();
        // Drop runs inside the test's runtime; use a thread with its own runtime to finish the
        // asynchronous DROP before the test ends.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}
