//! `login`, `logout`, `whoami`.

use std::io::{BufRead, IsTerminal};

use super::api::Api;
use super::args::{Conn, LoginArgs};
use super::config::{self, Saved, Target};
use super::error::{Error, Result};
use super::output::print;

/// `login`: check the token with `GET /api/v1/session`, then save server and token.
pub async fn login(args: &LoginArgs) -> Result<()> {
    let server = args
        .conn
        .server
        .clone()
        .ok_or_else(|| Error::Usage("login needs --server URL (or FLUXO_SERVER)".into()))?;
    let token = token(args)?;
    let target = Target {
        server: server.trim_end_matches('/').to_string(),
        token: Some(token.clone()),
    };
    let api = Api::new(target.clone())?;
    let who = api
        .client
        .get_session()
        .send()
        .await
        .map_err(|e| api.err(e))?
        .into_inner();
    let path = config::path()?;
    config::save(
        &path,
        &Saved {
            server: target.server.clone(),
            token,
        },
    )?;
    print(&format!(
        "logged in to {} as {} ({}); saved in {}\n",
        target.server,
        who.subject,
        who.role,
        path.display()
    ))
}

/// The token: `--token`/`FLUXO_TOKEN`, else `--token-file`, else a prompt (no echo on a
/// terminal; a line from stdin otherwise).
fn token(args: &LoginArgs) -> Result<String> {
    let token = if let Some(t) = &args.conn.token {
        t.clone()
    } else if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Config {
            what: "reading the token file",
            path: path.display().to_string(),
            source,
        })?;
        text.lines().next().unwrap_or_default().to_string()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password("API token: ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(Error::Usage("no token given".into()));
    }
    Ok(token)
}

/// `logout`.
pub fn logout(_conn: &Conn) -> Result<()> {
    let path = config::path()?;
    if config::remove(&path)? {
        print(&format!("logged out (removed {})\n", path.display()))
    } else {
        print("not logged in\n")
    }
}

/// `whoami`.
pub async fn whoami(api: &Api) -> Result<()> {
    let who = api
        .client
        .get_session()
        .send()
        .await
        .map_err(|e| api.err(e))?
        .into_inner();
    let mut out = format!(
        "server:  {}\nsubject: {}\nrole:    {}\nmethod:  {}\n",
        api.target.server, who.subject, who.role, who.method
    );
    if let Some(scope) = &who.scope {
        let mut pairs: Vec<String> = scope.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.sort();
        out.push_str(&format!("scope:   clusters labelled {}\n", pairs.join(",")));
    }
    if let Some(expires) = who.expires_at {
        out.push_str(&format!(
            "expires: {}\n",
            expires.format("%Y-%m-%dT%H:%M:%SZ")
        ));
    }
    if let Some(warning) = &who.warning {
        out.push_str(&format!("warning: {warning}\n"));
    }
    print(&out)
}
