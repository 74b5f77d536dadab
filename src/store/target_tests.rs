use super::*;

fn ca_file(dir: &tempfile::TempDir) -> PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, params.self_signed(&key).unwrap().pem()).unwrap();
    path
}

fn refused(url: &str, ca: Option<&Path>) -> String {
    match parse(url, ca) {
        Ok(t) => panic!("{url} was accepted as {:?}", t.mode),
        Err(e) => e.to_string(),
    }
}

#[test]
fn tls_options_leave_the_url_and_the_rest_of_the_query_stays() {
    let (rest, options) = take_tls_options(
        "postgres://u:p%3Fw@db:5432/fluxo?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20dir%2Froot.pem&connect_timeout=3",
    )
    .unwrap();
    assert_eq!(
        rest,
        "postgres://u:p%3Fw@db:5432/fluxo?application_name=x&connect_timeout=3"
    );
    assert_eq!(options.sslmode.as_deref(), Some("verify-full"));
    assert_eq!(options.sslrootcert.as_deref(), Some("/etc/ca dir/root.pem"));

    let (rest, options) = take_tls_options("postgresql://db/fluxo?sslmode=require").unwrap();
    assert_eq!(rest, "postgresql://db/fluxo");
    assert_eq!(options.sslmode.as_deref(), Some("require"));
}

#[test]
fn key_value_settings_keep_quoted_values_and_lose_the_tls_options() {
    let text = "host=db  user = fluxo password='a b' sslmode=verify-ca sslrootcert='/a b/ca.pem'";
    let (rest, options) = take_tls_options(text).unwrap();
    assert_eq!(options.sslmode.as_deref(), Some("verify-ca"));
    assert_eq!(options.sslrootcert.as_deref(), Some("/a b/ca.pem"));
    let pg: tokio_postgres::Config = rest.parse().unwrap();
    assert_eq!(pg.get_user(), Some("fluxo"));
    assert_eq!(pg.get_password(), Some(&b"a b"[..]), "{rest}");
    for bad in ["host", "host=db password='open", "a=\\"] {
        assert!(take_tls_options(bad).is_err(), "{bad}");
    }
}

#[test]
fn a_quoted_value_with_escapes_survives_the_round_trip() {
    let (rest, _) = take_tls_options(r"host=db password='a \'b\' c\\d' sslmode=require").unwrap();
    let pg: tokio_postgres::Config = rest.parse().unwrap();
    assert_eq!(pg.get_password(), Some(&br"a 'b' c\d"[..]), "{rest}");
}

#[test]
fn without_sslmode_tls_is_preferred_as_libpq_does() {
    let target = parse("postgres://u@127.0.0.1/db", None).unwrap();
    assert_eq!(target.mode, SslMode::Prefer);
    assert_eq!(
        target.pg.get_ssl_mode(),
        tokio_postgres::config::SslMode::Prefer
    );
    let target = parse("postgres://u@127.0.0.1/db?sslmode=disable", None).unwrap();
    assert_eq!(
        target.pg.get_ssl_mode(),
        tokio_postgres::config::SslMode::Disable
    );
}

#[test]
fn verify_modes_require_tls_and_use_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir);
    for (mode, expected) in [
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ] {
        let url = format!("postgres://u@db/x?sslmode={mode}");
        let target = parse(&url, Some(&ca)).unwrap();
        assert_eq!(target.mode, expected);
        assert_eq!(
            target.pg.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        let url = format!("{url}&sslrootcert={}", ca.display());
        assert_eq!(parse(&url, None).unwrap().mode, expected);
    }
}

#[test]
fn unusable_tls_settings_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(&dir);
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(String, Option<&Path>, &str); 5] = [
        (
            "postgres://u@db/x?sslmode=verify".into(),
            None,
            "verify-full",
        ),
        (
            "postgres://u@db/x?sslmode=require&sslrootcert=system".into(),
            None,
            "sslrootcert=system needs sslmode=verify-full",
        ),
        (
            format!("postgres://u@db/x?sslrootcert={}", ca.display()),
            Some(&ca),
            "not both",
        ),
        (
            "postgres://u@db/x?sslmode=verify-ca".into(),
            Some(&junk),
            "no usable certificate",
        ),
        (
            "postgres://u@db/x?sslmode=verify-ca".into(),
            Some(&missing),
            "missing.pem",
        ),
    ];
    for (url, ca, needle) in cases {
        let message = refused(&url, ca);
        assert!(message.contains(needle), "{url}: {message}");
    }
}
