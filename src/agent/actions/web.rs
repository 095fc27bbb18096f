//! curl: a read only when it sends a plain GET (or HEAD) to this machine or to a name
//! inside the cluster, with flags that neither send data, write files nor follow the
//! request elsewhere. Anything that reaches another host could carry data out.

use super::rules::{ActionKind, Classification, Danger, Flag, Scan, Syntax, read, scan, write};

const CURL: &[Flag] = &[
    ("-s", false),
    ("--silent", false),
    ("-S", false),
    ("--show-error", false),
    ("-f", false),
    ("--fail", false),
    ("--fail-with-body", false),
    ("-i", false),
    ("--include", false),
    ("-I", false),
    ("--head", false),
    ("-v", false),
    ("--verbose", false),
    ("-m", true),
    ("--max-time", true),
    ("--connect-timeout", true),
    ("-H", true),
    ("--header", true),
    ("--compressed", false),
    ("-k", false),
    ("--insecure", false),
    ("--retry", true),
    ("--retry-delay", true),
    ("-X", true),
    ("--request", true),
    ("-G", false),
    ("--get", false),
    ("-4", false),
    ("-6", false),
    ("--http1.1", false),
    ("--http2", false),
    ("-N", false),
    ("--no-buffer", false),
    ("--url", true),
    ("-g", false),
    ("--globoff", false),
];

const CURL_DANGER: &[Danger] = &[
    ("-d", "sends data"),
    ("--data", "sends data"),
    ("--data-raw", "sends data"),
    ("--data-binary", "sends data"),
    ("--data-urlencode", "sends data"),
    ("--json", "sends data"),
    ("-F", "sends a form"),
    ("--form", "sends a form"),
    ("-T", "uploads a file"),
    ("--upload-file", "uploads a file"),
    ("-o", "writes a file"),
    ("--output", "writes a file"),
    ("-O", "writes a file"),
    ("--remote-name", "writes a file"),
    ("-K", "reads options from a file"),
    ("--config", "reads options from a file"),
    ("-u", "sends credentials"),
    ("--user", "sends credentials"),
    ("-b", "sends cookies from a file"),
    ("--cookie", "sends cookies"),
    ("-c", "writes a cookie file"),
    ("--cookie-jar", "writes a cookie file"),
    ("-x", "goes through a proxy"),
    ("--proxy", "goes through a proxy"),
    ("--resolve", "sends the request to another address"),
    ("--connect-to", "sends the request to another address"),
    ("-L", "follows redirects to any host"),
    ("--location", "follows redirects to any host"),
    ("-w", "can write files (`%output{…}`)"),
    ("--write-out", "can write files (`%output{…}`)"),
    ("-D", "writes a file"),
    ("--dump-header", "writes a file"),
    ("--trace", "writes a file"),
    ("--trace-ascii", "writes a file"),
    ("--unix-socket", "talks to a local socket"),
];

/// Headers that only ask for a representation.
const SAFE_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "user-agent",
];

/// `localhost`, `127.x`, `[::1]`, a single-label name (`checkout-api`) or a name under
/// `.svc`/`.cluster.local`: this machine or the cluster.
pub fn internal_host(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    }
    .to_ascii_lowercase();
    let label = |h: &str| {
        !h.is_empty()
            && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !h.bytes().all(|b| b.is_ascii_digit())
    };
    host == "localhost"
        || host == "::1"
        || host.starts_with("127.") && host.split('.').count() == 4
        || label(&host)
        || [".svc", ".svc.cluster.local", ".cluster.local"]
            .iter()
            .any(|s| host.ends_with(s) && host.split('.').all(label))
}

pub fn curl(args: &[&str]) -> Classification {
    let kind = ActionKind::Shell;
    let syntax = Syntax {
        numeric_short: false,
        combined: true,
    };
    let operands = match scan(args, &[CURL], CURL_DANGER, syntax) {
        Scan::Operands(ops) => ops,
        Scan::Write(why) => return write(kind, format!("curl with {why}; treated as a write")),
    };
    // Values of flags the scanner accepted, checked one by one.
    let mut urls: Vec<&str> = operands;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        let attached = ["-X", "-H"]
            .into_iter()
            .find(|f| arg.len() > 2 && arg.starts_with(f));
        let (flag, value) = match (arg.split_once('='), attached) {
            (Some((f, v)), _) if f.starts_with("--") => (f, Some(v)),
            (_, Some(f)) => (f, Some(&arg[2..])),
            _ => (arg, args.get(i).copied()),
        };
        match flag {
            "-X" | "--request" => {
                let method = value.unwrap_or("").to_ascii_uppercase();
                if method != "GET" && method != "HEAD" {
                    return write(
                        kind,
                        format!("curl -X {method} is not a GET; treated as a write"),
                    );
                }
            }
            "-H" | "--header" => {
                let name = value
                    .unwrap_or("")
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                if !SAFE_HEADERS.contains(&name.as_str()) {
                    return write(
                        kind,
                        format!(
                            "curl sends the header `{name}`, which can change what the server does or carry data; treated as a write"
                        ),
                    );
                }
            }
            "--url" => urls.extend(value),
            _ => {}
        }
    }
    if urls.is_empty() {
        return write(kind, "curl without a URL; treated as a write");
    }
    if let Some(far) = urls.iter().find(|u| !internal_host(u)) {
        return write(
            kind,
            format!(
                "curl reaches `{far}`, which is not this machine or a cluster-internal name; what it sends could carry data out, so it is treated as a write"
            ),
        );
    }
    let host = urls[0]
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("");
    read(
        kind,
        format!("curl {host}"),
        "curl GET to this machine or the cluster, with flags that only read",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_hosts() {
        for ok in [
            "http://localhost:9090/metrics",
            "http://127.0.0.1:8080/healthz",
            "http://[::1]:80/",
            "http://checkout-api:8080/ready",
            "http://checkout-api.shop.svc.cluster.local/health",
            "https://orders.shop.svc:443/x",
        ] {
            assert!(internal_host(ok), "{ok}");
        }
        for far in [
            "http://203.0.113.9/x",
            "https://example.com/",
            "http://localhost@evil.example/",
            "ftp://localhost/",
            "http://evil.example/x.svc",
            "localhost:9090",
            "http://1234/",
        ] {
            assert!(!internal_host(far), "{far}");
        }
    }
}
