//! `deploy/Dockerfile`, checked without Docker: a small parser reads its instructions and
//! stages, and the tests check the stages, the runtime user, the listen address, and that every
//! file it copies from the build context exists and is not excluded by `.dockerignore`.

use std::path::{Path, PathBuf};

use crate::support::files::repo;

// ---- parser ----------------------------------------------------------------------------------

/// One instruction: `COPY --from=web a b` is keyword `COPY`, args `--from=web a b`.
#[derive(Debug, Clone)]
struct Instruction {
    line: usize,
    keyword: String,
    args: String,
}

/// A build stage: `FROM base AS name` and the instructions up to the next `FROM`.
#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

/// Instructions of a Dockerfile: comments and blank lines dropped, `\` continuations joined
/// (comment lines inside a continuation are skipped, as Docker does).
fn parse(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let (continues, body) = match trimmed.strip_suffix('\\') {
            Some(b) => (true, b.trim_end()),
            None => (false, trimmed),
        };
        let (line, mut acc) = current.take().unwrap_or((i + 1, String::new()));
        if !acc.is_empty() && !body.is_empty() {
            acc.push(' ');
        }
        acc.push_str(body);
        if continues {
            current = Some((line, acc));
            continue;
        }
        let (keyword, args) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
        out.push(Instruction {
            line,
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_owned(),
        });
    }
    assert!(
        current.is_none(),
        "the Dockerfile ends inside a continuation"
    );
    out
}

fn stages(instructions: &[Instruction]) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                [_] => None,
                _ => panic!("line {}: cannot read FROM {}", ins.line, ins.args),
            };
            stages.push(Stage {
                base: words[0].to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(ins.clone());
        } else {
            assert_eq!(
                ins.keyword, "ARG",
                "line {}: only ARG may precede FROM",
                ins.line
            );
        }
    }
    stages
}

/// A `COPY`/`ADD`: its `--from`, sources and destination.
#[derive(Debug)]
struct Copy {
    line: usize,
    from: Option<String>,
    sources: Vec<String>,
    dest: String,
}

fn parse_copy(ins: &Instruction) -> Copy {
    let mut from = None;
    let mut rest = ins.args.as_str();
    while let Some(flag) = rest.strip_prefix("--") {
        let (word, tail) = flag.split_once(char::is_whitespace).unwrap_or((flag, ""));
        if let Some(stage) = word.strip_prefix("from=") {
            from = Some(stage.to_owned());
        }
        rest = tail.trim_start();
    }
    let mut paths: Vec<String> = if rest.starts_with('[') {
        serde_json::from_str(rest)
            .unwrap_or_else(|e| panic!("line {}: bad JSON form: {e}", ins.line))
    } else {
        rest.split_whitespace().map(str::to_owned).collect()
    };
    assert!(
        paths.len() >= 2,
        "line {}: {} needs a source and a destination",
        ins.line,
        ins.keyword
    );
    let dest = paths.pop().expect("two or more paths");
    Copy {
        line: ins.line,
        from,
        sources: paths,
        dest,
    }
}

fn dockerfile() -> Vec<Stage> {
    let path = repo().join("deploy/Dockerfile");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    stages(&parse(&text))
}

fn stage<'a>(stages: &'a [Stage], name: &str) -> &'a Stage {
    stages
        .iter()
        .find(|s| s.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no stage named {name}"))
}

fn of<'a>(stage: &'a Stage, keyword: &'a str) -> impl Iterator<Item = &'a Instruction> {
    stage
        .instructions
        .iter()
        .filter(move |i| i.keyword == keyword)
}

/// Position of the first instruction of `stage` for which `pred` holds.
fn position(stage: &Stage, pred: impl Fn(&Instruction) -> bool) -> Option<usize> {
    stage.instructions.iter().position(pred)
}

// ---- build context ---------------------------------------------------------------------------

/// `.dockerignore` rules in order: (negated, pattern segments).
fn dockerignore() -> Vec<(bool, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join(".dockerignore"))
        .expect(".dockerignore exists at the repository root");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (neg, p) = l.strip_prefix('!').map_or((false, l), |p| (true, p));
            let p = p.trim_start_matches('/').trim_end_matches('/');
            (
                neg,
                p.split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(str::to_owned)
                    .collect(),
            )
        })
        .collect()
}

/// Whether one path segment matches a pattern segment with `*` and `?`.
fn segment_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    assert!(
        !pattern.contains('['),
        "character classes are not supported by this checker: {pattern}"
    );
    go(
        &pattern.chars().collect::<Vec<_>>(),
        &name.chars().collect::<Vec<_>>(),
    )
}

/// Whether pattern segments match path segments, `**` matching any number of segments.
fn path_matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((p, rest)) if p == "**" => (0..=path.len()).any(|i| path_matches(rest, &path[i..])),
        Some((p, rest)) => {
            path.first().is_some_and(|n| segment_matches(p, n)) && path_matches(rest, &path[1..])
        }
    }
}

/// Whether `.dockerignore` keeps `path` (repository-relative) out of the build context: the last
/// rule matching the path or one of its parents decides.
fn ignored(rules: &[(bool, Vec<String>)], path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut excluded = false;
    for (negated, pattern) in rules {
        if (1..=segments.len()).any(|n| path_matches(pattern, &segments[..n])) {
            excluded = !negated;
        }
    }
    excluded
}

/// Repository paths a COPY source names (Go `filepath.Match` wildcards per segment).
fn expand(source: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for segment in source
        .trim_start_matches("./")
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
    {
        found = found
            .into_iter()
            .flat_map(|base| {
                if !segment.contains(['*', '?']) {
                    let p = base.join(segment);
                    return if repo().join(&p).exists() {
                        vec![p]
                    } else {
                        vec![]
                    };
                }
                std::fs::read_dir(repo().join(&base))
                    .into_iter()
                    .flatten()
                    .filter_map(Result::ok)
                    .filter(|e| segment_matches(segment, &e.file_name().to_string_lossy()))
                    .map(|e| base.join(e.file_name()))
                    .collect()
            })
            .collect();
    }
    found
}

/// Every file under `path` (or `path` itself).
fn files_under(path: &Path) -> Vec<PathBuf> {
    let full = repo().join(path);
    if full.is_file() {
        return vec![path.to_owned()];
    }
    std::fs::read_dir(&full)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .flat_map(|e| files_under(&path.join(e.file_name())))
        .collect()
}

/// The web UI has not landed yet (issue 7) while `web/package.json` is absent; until then the
/// web stage's sources may be missing. This is the one tolerated gap.
fn web_ui_landed() -> bool {
    repo().join("web/package.json").exists()
}

// ---- tests -----------------------------------------------------------------------------------

#[test]
fn the_image_is_built_in_web_build_and_runtime_stages() {
    let stages = dockerfile();
    let names: Vec<Option<&str>> = stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("web"), Some("build"), Some("runtime")]);
    assert!(
        stages[0].base.ends_with("node:20-bookworm-slim"),
        "{}",
        stages[0].base
    );
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = \""))
        .map(|v| v.trim_end_matches('"'))
        .expect("Cargo.toml sets rust-version");
    assert!(
        stages[1]
            .base
            .ends_with(&format!("rust:{rust_version}-bookworm")),
        "the build stage uses the crate's rust-version {rust_version}: {}",
        stages[1].base
    );
    let runtime = &stages[2].base;
    assert!(
        runtime.starts_with("gcr.io/distroless/cc-debian12")
            || runtime.ends_with("debian:bookworm-slim"),
        "a small glibc runtime, the same Debian as the build: {runtime}"
    );
}

#[test]
fn the_web_stage_runs_npm_ci_then_the_build() {
    let stages = dockerfile();
    let web = stage(&stages, "web");
    let ci =
        position(web, |i| i.keyword == "RUN" && i.args.contains("npm ci")).expect("RUN npm ci");
    let build = position(web, |i| {
        i.keyword == "RUN" && i.args.contains("npm run build")
    })
    .expect("RUN npm run build");
    assert!(ci < build);
    let copies_web = of(web, "COPY")
        .map(parse_copy)
        .any(|c| c.sources.iter().any(|s| s.trim_end_matches('/') == "web"));
    assert!(copies_web, "the web stage copies web/");
    if web_ui_landed() {
        assert!(
            repo().join("web/package-lock.json").exists(),
            "npm ci needs web/package-lock.json"
        );
        let pkg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("web/package.json")).expect("read"),
        )
        .expect("web/package.json is JSON");
        assert!(
            pkg["scripts"]["build"].is_string(),
            "web/package.json has a build script"
        );
    }
}

#[test]
fn the_build_stage_caches_dependencies_before_copying_the_sources() {
    let stages = dockerfile();
    let build = stage(&stages, "build");
    let copies = |i: &Instruction, what: &str| {
        i.keyword == "COPY"
            && parse_copy(i)
                .sources
                .iter()
                .any(|s| s.trim_end_matches('/') == what)
    };
    let manifest = position(build, |i| {
        copies(i, "Cargo.toml") && copies(i, "Cargo.lock")
    })
    .expect("COPY Cargo.toml Cargo.lock");
    let cargo_build =
        |i: &Instruction| i.keyword == "RUN" && i.args.contains("cargo build --release --locked");
    let deps = position(build, cargo_build).expect("a dependency build");
    let sources = position(build, |i| copies(i, "src")).expect("COPY src");
    let last = build
        .instructions
        .iter()
        .rposition(cargo_build)
        .expect("the release build");
    assert!(
        manifest < deps && deps < sources && sources < last,
        "manifest, dependency build, sources, release build"
    );
    assert!(
        build.instructions[deps].args.contains("src/main.rs"),
        "the dependency build compiles a stub main"
    );
    let web_dist = of(build, "COPY")
        .map(parse_copy)
        .find(|c| c.from.as_deref() == Some("web"))
        .expect("COPY --from=web");
    assert!(
        web_dist.sources.iter().any(|s| s.contains("web/dist")),
        "the UI bundle is copied in: {web_dist:?}"
    );
}

#[test]
fn the_runtime_stage_runs_the_server_as_non_root_without_a_healthcheck() {
    let stages = dockerfile();
    for s in &stages {
        assert_eq!(
            of(s, "HEALTHCHECK").count(),
            0,
            "no HEALTHCHECK: Kubernetes probes /healthz and /readyz"
        );
    }
    let runtime = stages.last().expect("stages");
    let user = of(runtime, "USER")
        .last()
        .expect("the runtime stage sets USER");
    let uid = user.args.split(':').next().unwrap_or("");
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "a numeric non-root USER (Kubernetes runAsNonRoot needs a number): {}",
        user.args
    );
    let env: Vec<&str> = of(runtime, "ENV")
        .flat_map(|i| i.args.split_whitespace())
        .collect();
    assert!(
        env.contains(&"FLUXO_LISTEN=0.0.0.0:8080"),
        "the container listens on all interfaces: {env:?}"
    );
    let exposed: Vec<&str> = of(runtime, "EXPOSE")
        .flat_map(|i| i.args.split_whitespace())
        .collect();
    assert_eq!(exposed, ["8080"]);
    let entrypoint: Vec<String> =
        serde_json::from_str(&of(runtime, "ENTRYPOINT").last().expect("ENTRYPOINT").args)
            .expect("ENTRYPOINT in JSON form");
    let cmd: Vec<String> = of(runtime, "CMD").last().map_or(vec![], |c| {
        serde_json::from_str(&c.args).expect("CMD in JSON form")
    });
    assert_eq!(
        [entrypoint.clone(), cmd].concat()[1..],
        ["serve".to_owned()],
        "the image runs `serve` by default"
    );
    let binary = of(runtime, "COPY")
        .map(parse_copy)
        .find(|c| c.from.is_some())
        .expect("the binary is copied from the build stage");
    assert_eq!(
        binary.dest, entrypoint[0],
        "ENTRYPOINT runs the copied binary"
    );
    assert!(
        of(runtime, "RUN").next().is_none(),
        "the runtime stage has no shell to RUN with"
    );
}

#[test]
fn copy_from_names_an_earlier_stage() {
    let stages = dockerfile();
    for (i, s) in stages.iter().enumerate() {
        for c in of(s, "COPY").map(parse_copy) {
            if let Some(from) = c.from {
                let earlier = stages[..i]
                    .iter()
                    .any(|e| e.name.as_deref() == Some(from.as_str()));
                assert!(
                    earlier,
                    "line {}: --from={from} is not an earlier stage",
                    c.line
                );
            }
        }
    }
}

#[test]
fn every_copied_path_exists_in_the_build_context_and_is_not_dockerignored() {
    let rules = dockerignore();
    let mut checked = 0;
    for s in dockerfile() {
        for ins in s
            .instructions
            .iter()
            .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        {
            let c = parse_copy(ins);
            if c.from.is_some() {
                continue;
            }
            for source in &c.sources {
                assert!(
                    !source.contains("://"),
                    "line {}: no remote ADD: {source}",
                    c.line
                );
                let found = expand(source);
                if found.is_empty() && source.starts_with("web/") && !web_ui_landed() {
                    eprintln!(
                        "note: line {}: {source} is missing until the web UI lands (web/package.json)",
                        c.line
                    );
                    continue;
                }
                assert!(
                    !found.is_empty(),
                    "line {}: {source} does not exist in the repository",
                    c.line
                );
                for root in &found {
                    // A named path must reach the build; inside a copied directory, excluding
                    // build output (web/dist, node_modules) is what .dockerignore is for.
                    let named = root.to_string_lossy();
                    assert!(
                        !ignored(&rules, &named),
                        "line {}: {named} is excluded by .dockerignore",
                        c.line
                    );
                    checked += files_under(root)
                        .iter()
                        .filter(|p| !ignored(&rules, &p.to_string_lossy()))
                        .count();
                }
            }
        }
    }
    assert!(checked > 10, "only {checked} files checked");
}

#[test]
fn files_compiled_into_the_binary_are_copied_into_the_build_stage() {
    let stages = dockerfile();
    let build = stage(&stages, "build");
    let copied: Vec<String> = of(build, "COPY")
        .map(parse_copy)
        .flat_map(|c| {
            if c.from.is_some() {
                vec![c.dest]
            } else {
                c.sources
            }
        })
        .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_owned())
        .collect();
    let covered = |path: &str| {
        copied
            .iter()
            .any(|c| path == c || path.starts_with(&format!("{c}/")))
    };
    assert!(
        !repo().join("build.rs").exists() || covered("build.rs"),
        "build.rs is copied"
    );
    let mut embedded = Vec::new();
    for file in ["src", "crates"]
        .into_iter()
        .flat_map(|dir| files_under(Path::new(dir)))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
    {
        let text = std::fs::read_to_string(repo().join(&file)).expect("read source");
        embedded.extend(embedded_paths(&file, &text));
    }
    assert!(
        embedded.iter().any(|p| p.starts_with("sql/")),
        "the migrations are found: {embedded:?}"
    );
    for path in &embedded {
        assert!(
            covered(path),
            "{path} is compiled into the binary but the build stage does not copy it (copies {copied:?})"
        );
    }
}

/// Repository paths that `include_str!`/`include_bytes!`/`include_dir!` and `#[folder = ...]` in
/// `file` read at compile time (for a `concat!`, the path up to its first non-literal part).
fn embedded_paths(file: &Path, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for macro_ in [
        "include_str!(",
        "include_bytes!(",
        "include_dir!(",
        "#[folder = ",
    ] {
        for (at, _) in text.match_indices(macro_) {
            let call = call_text(&text[at + macro_.len()..]);
            let Some(literal) = call
                .split('"')
                .skip(1)
                .step_by(2)
                .find(|l| *l != "CARGO_MANIFEST_DIR")
            else {
                continue;
            };
            let from_root = call.contains("CARGO_MANIFEST_DIR") || macro_.starts_with("#[");
            let literal = literal
                .trim_start_matches("$CARGO_MANIFEST_DIR")
                .trim_start_matches('/');
            let base = if from_root {
                PathBuf::new()
            } else {
                file.parent().expect("in src").to_owned()
            };
            out.push(normalize(&base.join(literal)));
        }
    }
    out
}

/// The arguments of a macro call (up to its closing parenthesis) or of an attribute.
fn call_text(rest: &str) -> &str {
    let mut depth = 1;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return &rest[..i];
                }
            }
            _ => {}
        }
    }
    rest
}

fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c.as_os_str().to_string_lossy().as_ref() {
            ".." => {
                parts.pop();
            }
            "." => {}
            s => parts.push(s.to_owned()),
        }
    }
    parts.join("/")
}

#[test]
fn the_dockerignore_keeps_build_outputs_and_secrets_out_of_the_context() {
    let rules = dockerignore();
    for path in [
        "target/release/flux-orchestrator",
        ".git/config",
        ".data/pg/postgresql.conf",
        "web/node_modules/vite/package.json",
        "web/dist/index.html",
    ] {
        assert!(
            ignored(&rules, path),
            "{path} must not be sent to the builder"
        );
    }
    for path in [
        "Cargo.toml",
        "src/main.rs",
        "sql/0001_clusters.sql",
        "web/package.json",
        "openapi/openapi.json",
    ] {
        assert!(!ignored(&rules, path), "{path} is needed by the build");
    }
}

#[test]
fn the_checkers_read_dockerfiles_and_ignore_rules_as_docker_does() {
    let text = "# syntax=docker/dockerfile:1\nARG X=1\nFROM a:1 AS one\nRUN a \\\n  # inner comment\n  && b\nFROM one\nCOPY --from=one --chown=1:1 [\"/x y\", \"/z\"]\n";
    let s = stages(&parse(text));
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].instructions[0].args, "a && b");
    assert_eq!(s[1].name, None);
    let c = parse_copy(&s[1].instructions[0]);
    assert_eq!(
        (c.from.as_deref(), c.sources.as_slice(), c.dest.as_str()),
        (Some("one"), ["/x y".to_owned()].as_slice(), "/z")
    );
    let rules = vec![
        (false, vec!["**".to_owned(), "*.log".to_owned()]),
        (false, vec!["web".to_owned()]),
        (true, vec!["web".to_owned(), "keep".to_owned()]),
    ];
    assert!(ignored(&rules, "a/b/c.log") && ignored(&rules, "x.log"));
    assert!(ignored(&rules, "web/src/main.ts") && !ignored(&rules, "web/keep/file"));
    assert!(!ignored(&rules, "src/logger.rs"));
    let embedded = embedded_paths(
        Path::new("src/store/migrate.rs"),
        r#"include_str!("../../sql/0001.sql") include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/x"))"#,
    );
    assert_eq!(embedded, ["sql/0001.sql", "assets/x"]);
}
