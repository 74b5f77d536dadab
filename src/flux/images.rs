//! Container image references: parsing (`registry:5000/team/app:1.2@sha256:…`) into a
//! repository normalised the way Docker does (`nginx` is `docker.io/library/nginx`), a tag and
//! a digest; a search term and what it matches; the images a workload's pod template runs.
//!
//! The grammar follows the distribution project's reference grammar (Docker, containerd and
//! the kubelet use it): the first path component is a registry when it has a `.` or a `:` or
//! is `localhost`, else the image is on Docker Hub, whose one-component names live under
//! `library/`; a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; a digest `algorithm:hex`.

use serde_json::Value;

use super::{Error, Result};

/// Docker Hub's registry, as references are normalised.
const DOCKER_HUB: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry and path, normalised: `docker.io/library/nginx`, `ghcr.io/acme/web`,
    /// `registry:5000/team/app`.
    pub repository: String,
    /// The tag, if the reference names one (none is what the kubelet pulls as `latest`).
    pub tag: Option<String>,
    /// The digest, e.g. `sha256:…`, if the reference pins one.
    pub digest: Option<String>,
}

fn invalid(image: &str, why: &'static str) -> Error {
    Error::InvalidImage {
        image: image.to_string(),
        why,
    }
}

impl ImageRef {
    /// Parse a reference as a pod spec's `image` field holds it.
    pub fn parse(image: &str) -> Result<ImageRef> {
        let (rest, digest) = match image.split_once('@') {
            Some((r, d)) => (r, Some(parse_digest(image, d)?)),
            None => (image, None),
        };
        let name_end = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[name_end..].rfind(':') {
            Some(i) => (&rest[..name_end + i], Some(&rest[name_end + i + 1..])),
            None => (rest, None),
        };
        if tag.is_some_and(|t| !valid_tag(t)) {
            return Err(invalid(
                image,
                "the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
            ));
        }
        Ok(ImageRef {
            repository: normalise(image, name)?,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The reference written out in full: `repository[:tag][@digest]`.
    pub fn full(&self) -> String {
        let mut s = self.repository.clone();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// `registry/path` with Docker's defaults filled in; refuses what no registry would accept.
fn normalise(image: &str, name: &str) -> Result<String> {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => (DOCKER_HUB, name),
    };
    let domain = if domain == "index.docker.io" {
        DOCKER_HUB
    } else {
        domain
    };
    if domain.is_empty()
        || !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
    {
        return Err(invalid(
            image,
            "the registry is not a host name with an optional port",
        ));
    }
    if path.is_empty() || !path.split('/').all(valid_component) {
        return Err(invalid(
            image,
            "a path component is not lowercase letters, digits and separators",
        ));
    }
    let library = domain == DOCKER_HUB && !path.contains('/');
    Ok(match library {
        true => format!("{domain}/library/{path}"),
        false => format!("{domain}/{path}"),
    })
}

/// A path component: lowercase alphanumerics separated by `.`, `_`, `__` or runs of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|&x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(&x))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&x| x.is_ascii_alphanumeric() || b"_.-".contains(&x))
}

/// `algorithm:hex`; sha256 digests must have their 64 hex digits.
fn parse_digest(image: &str, d: &str) -> Result<String> {
    let (algorithm, hex) = d
        .split_once(':')
        .ok_or_else(|| invalid(image, "the digest is not algorithm:hex"))?;
    let hex_ok = !hex.is_empty()
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !hex_ok || !algorithm_ok || (algorithm == "sha256" && hex.len() != 64) {
        return Err(invalid(
            image,
            "the digest is not algorithm:hex (sha256: 64 hex digits)",
        ));
    }
    Ok(d.to_string())
}

/// A search for images, as a user types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageQuery {
    /// `sha256:ab12…` or `@sha256:ab12…`: digests starting with it.
    Digest(String),
    /// `:1.25`: this exact tag, in any repository.
    Tag(String),
    /// `nginx`, `docker.io/library/nginx`, `ghcr.io/acme`: the repository, or any below it;
    /// with `:tag` that exact tag; with `@digest` digests starting with it.
    Reference {
        /// Normalised repository (or a path prefix of repositories).
        repository: String,
        /// Exact tag, if given.
        tag: Option<String>,
        /// Digest prefix, if given.
        digest: Option<String>,
    },
}

impl ImageQuery {
    /// Parse a search term. A digest may be cut short (`sha256:ab12` finds
    /// `sha256:ab12…`), a tag may not: `nginx:1.25` does not find `nginx:1.25.3`.
    pub fn parse(term: &str) -> Result<ImageQuery> {
        let term = term.trim();
        if let Some(d) = term
            .strip_prefix('@')
            .or(Some(term).filter(|t| t.starts_with("sha256:")))
        {
            return digest_prefix(term, d).map(ImageQuery::Digest);
        }
        if let Some(t) = term.strip_prefix(':') {
            return match valid_tag(t) {
                true => Ok(ImageQuery::Tag(t.to_string())),
                false => Err(invalid(
                    term,
                    "the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                )),
            };
        }
        let (rest, digest) = match term.split_once('@') {
            Some((r, d)) => (r, Some(digest_prefix(term, d)?)),
            None => (term, None),
        };
        let parsed = ImageRef::parse(rest)?;
        Ok(ImageQuery::Reference {
            repository: parsed.repository,
            tag: parsed.tag,
            digest,
        })
    }

    /// Whether `image` is one the search asks for.
    pub fn matches(&self, image: &ImageRef) -> bool {
        let digest_starts = |p: &str| image.digest.as_deref().is_some_and(|d| d.starts_with(p));
        match self {
            ImageQuery::Digest(p) => digest_starts(p),
            ImageQuery::Tag(t) => image.tag.as_deref() == Some(t.as_str()),
            ImageQuery::Reference {
                repository,
                tag,
                digest,
            } => {
                let repo = &image.repository;
                let below = repo
                    .strip_prefix(repository.as_str())
                    .is_some_and(|r| r.is_empty() || r.starts_with('/'));
                below
                    && tag.as_ref().is_none_or(|t| image.tag.as_ref() == Some(t))
                    && digest.as_deref().is_none_or(digest_starts)
            }
        }
    }
}

/// A digest or its beginning: `algorithm:` and at least one hex digit.
fn digest_prefix(term: &str, d: &str) -> Result<String> {
    let ok = d.split_once(':').is_some_and(|(a, hex)| {
        !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && !hex.is_empty()
            && hex.len() <= 128
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    match ok {
        true => Ok(d.to_string()),
        false => Err(invalid(
            term,
            "the digest is not algorithm:hex (a prefix is enough)",
        )),
    }
}

/// One container of a workload and the image it runs.
#[derive(Debug, PartialEq, Eq)]
pub struct ContainerImage {
    /// The container's name.
    pub container: String,
    /// Whether it is an init container.
    pub init: bool,
    /// The `image` field as written.
    pub image: String,
    /// The parsed reference; an error for a reference no runtime could pull.
    pub parsed: Result<ImageRef>,
}

/// Where a kind keeps its pod spec: the template of the controllers, the CronJob's job
/// template, a Pod's own spec. Other kinds run no containers.
fn pod_spec(obj: &Value) -> Option<&Value> {
    let spec = &obj["spec"];
    let pod = match obj["kind"].as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            &spec["template"]["spec"]
        }
        "CronJob" => &spec["jobTemplate"]["spec"]["template"]["spec"],
        "Pod" => spec,
        _ => return None,
    };
    pod.is_object().then_some(pod)
}

/// The images a workload runs: its containers, then its init containers, in spec order.
pub fn workload_images(obj: &Value) -> Vec<ContainerImage> {
    let Some(pod) = pod_spec(obj) else {
        return Vec::new();
    };
    [("containers", false), ("initContainers", true)]
        .into_iter()
        .flat_map(|(field, init)| {
            pod[field]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |c| {
                    let image = c["image"].as_str()?;
                    Some(ContainerImage {
                        container: c["name"].as_str().unwrap_or_default().to_string(),
                        init,
                        image: image.to_string(),
                        parsed: ImageRef::parse(image),
                    })
                })
        })
        .collect()
}

#[cfg(test)]
#[path = "images_tests.rs"]
mod tests;
