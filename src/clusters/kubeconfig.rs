//! Kubeconfig policy: parse what a user pasted, pick one context, refuse what would make our
//! server run programs, read its files or talk without TLS verification, and keep only what that
//! context needs.

use kube::config::{
    AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};
use secrecy::ExposeSecret;

/// Why a kubeconfig was refused. Messages name the reason and never echo credential text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KubeconfigError {
    /// The text is not a kubeconfig.
    #[error("kubeconfig is not valid YAML for a kubeconfig: {0}")]
    Parse(String),
    /// No context was named and the file has no usable current-context.
    #[error("kubeconfig has {0} contexts and no current-context: name one in `context`")]
    NoContext(usize),
    /// The named context does not exist.
    #[error("context {name:?} is not in the kubeconfig (it has: {available})")]
    UnknownContext {
        /// The requested context.
        name: String,
        /// The contexts the file has.
        available: String,
    },
    /// The context names a cluster entry that is missing or has no server.
    #[error("context {0:?} refers to cluster {1:?}, which is missing or has no server")]
    MissingCluster(String, String),
    /// The context names a user entry that is missing.
    #[error("context {0:?} refers to user {1:?}, which is missing")]
    MissingUser(String, String),
    /// The server URL carries credentials, which would be returned to viewers and logged.
    #[error(
        "the server URL must not contain credentials (user:password@host): they would be shown \
         to every viewer; put a token or client certificate in the kubeconfig's user instead"
    )]
    UserInfo,
    /// The server URL is not an absolute http(s) URL.
    #[error("server {0:?} is not an absolute https:// URL")]
    BadServer(String),
    /// A credential plugin would run a program on our server.
    #[error(
        "exec credential plugins are not allowed: they run programs on the orchestrator's server \
         (CVE-2022-24817); use a service-account token or client certificate instead"
    )]
    Exec,
    /// An auth-provider would run a program or refresh tokens on our server.
    #[error(
        "auth-provider {0:?} is not allowed: it runs code on the orchestrator's server; use a \
         service-account token or client certificate instead"
    )]
    AuthProvider(String),
    /// A field refers to a file on our server.
    #[error("{0} refers to a file path, which is not allowed: embed the data ({0}-data) instead")]
    FilePath(&'static str),
    /// A token file refers to a file on our server.
    #[error("tokenFile refers to a file path, which is not allowed: embed the token instead")]
    TokenFile,
    /// Basic auth is gone from Kubernetes.
    #[error("username/password (basic auth) is not supported: Kubernetes removed it in 1.19")]
    BasicAuth,
    /// Only one half of a client certificate pair was given.
    #[error("client-certificate-data and client-key-data must be given together")]
    HalfClientCert,
    /// Proxies are not supported.
    #[error("proxy-url is not supported")]
    Proxy,
    /// TLS verification is off and the caller did not allow it.
    #[error("insecure-skip-tls-verify is set: refused unless the request sets allowInsecure: true")]
    InsecureTls,
    /// Plain HTTP and the caller did not allow it.
    #[error("server {0:?} uses plain http://: refused unless the request sets allowInsecure: true")]
    PlainHttp(String),
}

/// A kubeconfig that passed the policy, reduced to one context.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The API server URL.
    pub server_url: String,
    /// The context that was kept.
    pub context: String,
    /// TLS verification is off or the server is plain HTTP (allowed explicitly).
    pub insecure: bool,
    /// The reduced kubeconfig: one cluster, one user, one context.
    pub kubeconfig: Kubeconfig,
}

/// Parse `text`, choose `context` (default: current-context, or the only context), apply the
/// policy and reduce the file to what that context needs.
pub fn accept(
    text: &str,
    context: Option<&str>,
    allow_insecure: bool,
) -> Result<Accepted, KubeconfigError> {
    let config =
        Kubeconfig::from_yaml(text).map_err(|e| KubeconfigError::Parse(redact(&e.to_string())))?;
    let named = choose_context(&config, context)?;
    let ctx = named.context.clone().unwrap_or_else(|| Context {
        cluster: String::new(),
        ..Context::default()
    });
    let cluster = config
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.clone())
        .filter(|c| c.server.is_some())
        .ok_or_else(|| KubeconfigError::MissingCluster(named.name.clone(), ctx.cluster.clone()))?;
    let user = match &ctx.user {
        Some(user) => Some(
            config
                .auth_infos
                .iter()
                .find(|u| &u.name == user)
                .map(|u| u.auth_info.clone().unwrap_or_default())
                .ok_or_else(|| KubeconfigError::MissingUser(named.name.clone(), user.clone()))?,
        ),
        None => None,
    };
    let (cluster, insecure) = check_cluster(cluster, allow_insecure)?;
    let user = user.map(check_user).transpose()?;
    let server_url = cluster.server.clone().unwrap_or_default();
    Ok(Accepted {
        server_url,
        context: named.name.clone(),
        insecure,
        kubeconfig: reduced(&named.name, cluster, user),
    })
}

fn choose_context<'a>(
    config: &'a Kubeconfig,
    wanted: Option<&str>,
) -> Result<&'a NamedContext, KubeconfigError> {
    let name = match wanted
        .or(config.current_context.as_deref())
        .filter(|n| !n.is_empty())
    {
        Some(name) => name,
        None if config.contexts.len() == 1 => return Ok(&config.contexts[0]),
        None => return Err(KubeconfigError::NoContext(config.contexts.len())),
    };
    config
        .contexts
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
            KubeconfigError::UnknownContext {
                name: name.to_string(),
                available: if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                },
            }
        })
}

fn check_cluster(c: Cluster, allow_insecure: bool) -> Result<(Cluster, bool), KubeconfigError> {
    let server = c.server.clone().unwrap_or_default();
    // Before anything that quotes the URL in a message.
    if has_userinfo(&server) {
        return Err(KubeconfigError::UserInfo);
    }
    let plain_http = match server.split_once("://") {
        Some(("https", rest)) if !rest.is_empty() => false,
        Some(("http", rest)) if !rest.is_empty() => true,
        _ => return Err(KubeconfigError::BadServer(server)),
    };
    if server.parse::<http::Uri>().is_err() {
        return Err(KubeconfigError::BadServer(server));
    }
    if c.certificate_authority
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(KubeconfigError::FilePath("certificate-authority"));
    }
    if c.proxy_url.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(KubeconfigError::Proxy);
    }
    let skip_verify = c.insecure_skip_tls_verify == Some(true);
    if skip_verify && !allow_insecure {
        return Err(KubeconfigError::InsecureTls);
    }
    if plain_http && !allow_insecure {
        return Err(KubeconfigError::PlainHttp(server));
    }
    let kept = Cluster {
        server: Some(server),
        insecure_skip_tls_verify: c.insecure_skip_tls_verify.filter(|v| *v),
        certificate_authority_data: c.certificate_authority_data,
        tls_server_name: c.tls_server_name,
        ..Cluster::default()
    };
    Ok((kept, skip_verify || plain_http))
}

/// `scheme://user:pw@host…`: the authority (up to the first '/', '?' or '#') holds an '@'.
fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
}

/// `url` without any `user:password@`, for showing and logging server URLs stored before
/// registration refused them.
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

fn check_user(u: AuthInfo) -> Result<AuthInfo, KubeconfigError> {
    if u.exec.is_some() {
        return Err(KubeconfigError::Exec);
    }
    if let Some(provider) = &u.auth_provider {
        return Err(KubeconfigError::AuthProvider(provider.name.clone()));
    }
    if u.client_certificate
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(KubeconfigError::FilePath("client-certificate"));
    }
    if u.client_key.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(KubeconfigError::FilePath("client-key"));
    }
    if u.token_file.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(KubeconfigError::TokenFile);
    }
    if u.username.is_some() || u.password.is_some() {
        return Err(KubeconfigError::BasicAuth);
    }
    if u.client_certificate_data.is_some() != u.client_key_data.is_some() {
        return Err(KubeconfigError::HalfClientCert);
    }
    let token = u.token.filter(|t| !t.expose_secret().is_empty());
    Ok(AuthInfo {
        token,
        client_certificate_data: u.client_certificate_data,
        client_key_data: u.client_key_data,
        impersonate: u.impersonate,
        impersonate_groups: u.impersonate_groups,
        ..AuthInfo::default()
    })
}

fn reduced(context: &str, cluster: Cluster, user: Option<AuthInfo>) -> Kubeconfig {
    let user_name = user.as_ref().map(|_| "user".to_string());
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: "cluster".into(),
            cluster: Some(cluster),
            other: Default::default(),
        }],
        auth_infos: user
            .map(|u| NamedAuthInfo {
                name: "user".into(),
                auth_info: Some(u),
                other: Default::default(),
            })
            .into_iter()
            .collect(),
        contexts: vec![NamedContext {
            name: context.to_string(),
            context: Some(Context {
                cluster: "cluster".into(),
                user: user_name,
                ..Context::default()
            }),
            other: Default::default(),
        }],
        current_context: Some(context.to_string()),
        ..Kubeconfig::default()
    }
}

/// Keep a parser's message useful but drop anything quoted from the input, which could be a
/// token or key that was pasted in the wrong place.
fn redact(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or_default();
    let mut out = String::with_capacity(first_line.len());
    let mut quoted = None;
    for ch in first_line.chars() {
        match quoted {
            Some(q) if ch == q => {
                out.push('…');
                out.push(ch);
                quoted = None;
            }
            Some(_) => {}
            None => {
                out.push(ch);
                if ch == '"' || ch == '\'' || ch == '`' {
                    quoted = Some(ch);
                }
            }
        }
    }
    if quoted.is_some() {
        out.push('…');
    }
    out.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str =
        "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMtLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";

    fn kubeconfig(cluster_extra: &str, user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: {CA}\n{cluster_extra}contexts:\n- name: prod\n  context:\n    cluster: prod\n    user: admin\n    namespace: flux-system\n- name: other\n  context:\n    cluster: prod\n    user: admin\nusers:\n- name: admin\n  user:\n{user}"
        )
    }

    fn refused(text: &str) -> KubeconfigError {
        accept(text, None, false).expect_err("should be refused")
    }

    #[test]
    fn token_kubeconfig_is_reduced_to_the_current_context() {
        let text = kubeconfig("", "    token: sekret-token\n");
        let accepted = accept(&text, None, false).unwrap();
        assert_eq!(accepted.server_url, "https://10.0.0.1:6443");
        assert_eq!(accepted.context, "prod");
        assert!(!accepted.insecure);
        let k = &accepted.kubeconfig;
        assert_eq!(
            (k.clusters.len(), k.auth_infos.len(), k.contexts.len()),
            (1, 1, 1)
        );
        let ctx = k.contexts[0].context.as_ref().unwrap();
        assert_eq!(
            ctx.namespace, None,
            "namespace is not needed to watch cluster-wide"
        );
        let user = k.auth_infos[0].auth_info.as_ref().unwrap();
        assert_eq!(user.token.as_ref().unwrap().expose_secret(), "sekret-token");
    }

    #[test]
    fn named_context_is_chosen_and_unknown_context_lists_the_available_ones() {
        let text = kubeconfig("", "    token: t\n");
        assert_eq!(
            accept(&text, Some("other"), false).unwrap().context,
            "other"
        );
        let err = accept(&text, Some("nope"), false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "context \"nope\" is not in the kubeconfig (it has: prod, other)"
        );
    }

    #[test]
    fn exec_plugins_are_refused_naming_the_cve() {
        let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      args: [eks, get-token]\n";
        let err = refused(&kubeconfig("", user));
        assert_eq!(err, KubeconfigError::Exec);
        assert!(
            err.to_string()
                .contains("exec credential plugins are not allowed")
        );
        assert!(err.to_string().contains("CVE-2022-24817"));
    }

    #[test]
    fn auth_providers_are_refused() {
        let user = "    auth-provider:\n      name: gcp\n      config: {}\n";
        assert_eq!(
            refused(&kubeconfig("", user)),
            KubeconfigError::AuthProvider("gcp".into())
        );
    }

    #[test]
    fn file_paths_are_refused() {
        let cases = [
            (
                "    certificate-authority: /etc/ca.crt\n",
                "    token: t\n",
                "certificate-authority",
            ),
            (
                "",
                "    client-certificate: /c.crt\n    client-key-data: eA==\n",
                "client-certificate",
            ),
            (
                "",
                "    client-certificate-data: eA==\n    client-key: /k.key\n",
                "client-key",
            ),
        ];
        for (cluster, user, field) in cases {
            let err = refused(&kubeconfig(cluster, user));
            assert_eq!(err, KubeconfigError::FilePath(field));
            assert!(err.to_string().contains("refers to a file path"));
        }
        assert_eq!(
            refused(&kubeconfig("", "    tokenFile: /var/run/token\n")),
            KubeconfigError::TokenFile
        );
    }

    #[test]
    fn insecure_tls_and_plain_http_need_allow_insecure() {
        let insecure = kubeconfig("    insecure-skip-tls-verify: true\n", "    token: t\n");
        assert_eq!(refused(&insecure), KubeconfigError::InsecureTls);
        assert!(accept(&insecure, None, true).unwrap().insecure);

        let http = kubeconfig("", "    token: t\n")
            .replace("https://10.0.0.1:6443", "http://10.0.0.1:8080");
        assert!(matches!(refused(&http), KubeconfigError::PlainHttp(_)));
        assert!(accept(&http, None, true).unwrap().insecure);
    }

    #[test]
    fn basic_auth_half_certificates_and_proxies_are_refused() {
        assert_eq!(
            refused(&kubeconfig("", "    username: a\n    password: b\n")),
            KubeconfigError::BasicAuth
        );
        assert_eq!(
            refused(&kubeconfig("", "    client-certificate-data: eA==\n")),
            KubeconfigError::HalfClientCert
        );
        assert_eq!(
            refused(&kubeconfig(
                "    proxy-url: http://proxy:3128\n",
                "    token: t\n"
            )),
            KubeconfigError::Proxy
        );
    }

    #[test]
    fn bad_servers_missing_clusters_and_users_are_named() {
        let ftp = kubeconfig("", "    token: t\n").replace("https://10.0.0.1:6443", "ftp://x");
        assert!(matches!(refused(&ftp), KubeconfigError::BadServer(_)));
        let no_user = kubeconfig("", "    token: t\n").replace("name: admin", "name: someone");
        assert_eq!(
            refused(&no_user),
            KubeconfigError::MissingUser("prod".into(), "admin".into())
        );
        let no_cluster = kubeconfig("", "    token: t\n")
            .replace("- name: prod\n  cluster:", "- name: x\n  cluster:");
        assert_eq!(
            refused(&no_cluster),
            KubeconfigError::MissingCluster("prod".into(), "prod".into())
        );
    }

    #[test]
    fn credentials_in_the_server_url_are_refused_without_echoing_them() {
        for server in [
            "https://admin:hunter2-pw@10.0.0.1:6443",
            "https://hunter2-token@k.example.com",
            "http://admin:hunter2-pw@10.0.0.1:8080",
            "admin:hunter2-pw@10.0.0.1",
        ] {
            let text = kubeconfig("", "    token: t\n").replace("https://10.0.0.1:6443", server);
            let err = accept(&text, None, true).expect_err(server);
            assert_eq!(err, KubeconfigError::UserInfo, "{server}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
        let at_in_path = kubeconfig("", "    token: t\n").replace(
            "https://10.0.0.1:6443",
            "https://10.0.0.1:6443/k8s/@cluster",
        );
        assert!(accept(&at_in_path, None, false).is_ok());
    }

    #[test]
    fn userinfo_is_dropped_when_showing_stored_urls() {
        assert_eq!(
            without_userinfo("https://admin:pw@10.0.0.1:6443/p@th"),
            "https://10.0.0.1:6443/p@th"
        );
        assert_eq!(
            without_userinfo("https://k.example.com"),
            "https://k.example.com"
        );
    }

    #[test]
    fn without_current_context_a_single_context_is_used_and_several_are_ambiguous() {
        let text = kubeconfig("", "    token: t\n").replace("current-context: prod\n", "");
        assert_eq!(refused(&text), KubeconfigError::NoContext(2));
        let single = text.replace(
            "- name: other\n  context:\n    cluster: prod\n    user: admin\n",
            "",
        );
        assert_eq!(accept(&single, None, false).unwrap().context, "prod");
    }

    #[test]
    fn parse_errors_never_echo_quoted_input() {
        let text = "clusters: \"sekret-token-in-the-wrong-place\"\n";
        let err = refused(text);
        assert!(matches!(err, KubeconfigError::Parse(_)));
        assert!(!err.to_string().contains("sekret"), "{err}");
        let err = refused("contexts: [sekret-token-value]\n");
        assert!(!err.to_string().contains("sekret"), "{err}");
    }
}
