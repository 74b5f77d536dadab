//! Raw TCP for the transport tests (`net_limits`): connections from chosen loopback addresses,
//! request heads that never end, endless bodies, the server's memory; and free ports for the
//! servers other tests start themselves.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::endpoint::Endpoint;
use super::process::ServerProcess;

/// A TCP port on 127.0.0.1 that is free now, for a server the test starts itself (PostgreSQL,
/// the OIDC provider) after configuring another with its address. It comes from below the
/// system's ephemeral range: the ports the system hands out by itself (a bind to port 0, an
/// outgoing connection) never do, so the port stays free while the other servers of this
/// process open their sockets; a port from port 0 was taken by one of them now and then.
pub fn free_port() -> u16 {
    let below = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768)
        .max(20_000);
    (0..1_000)
        .map(|_| rand::random_range(10_000..below))
        .find(|port| std::net::TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// 127.0.0.`last`: another client address on the loopback network.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A TCP connection to `server` from the local address `from`.
pub async fn connect_from(server: SocketAddr, from: IpAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(server).await.expect("connect")
}

/// The start of a request (about 2 KiB of head) whose head never ends.
pub fn half_head() -> String {
    format!(
        "GET /api/v1/resources HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: {}\r\nX-Slow: ",
        "p".repeat(2000)
    )
}

/// A connection from `from` that sends a request head and never finishes it.
pub async fn half_sent(server: SocketAddr, from: IpAddr) -> TcpStream {
    let mut stream = connect_from(server, from).await;
    stream
        .write_all(half_head().as_bytes())
        .await
        .expect("write a half head");
    stream
}

/// True when the server closes or resets `stream` within `wait` (what it sends first is read
/// and dropped).
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// True when `stream` is open and the server has sent nothing on it.
pub fn still_open(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Send a chunked body of 960 KiB (under the 1 MiB limit) that never ends, without a
/// credential. Gives up writing after 5 s (a server that neither reads nor closes).
pub async fn endless_body(server: SocketAddr, path: &str) -> TcpStream {
    let mut stream = connect_from(server, loopback(1)).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    );
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        stream.write_all(head.as_bytes()).await?;
        for _ in 0..15 {
            stream.write_all(chunk.as_bytes()).await?;
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    stream
}

/// The server's resident memory, MiB.
pub fn rss_mib(server: &ServerProcess) -> f64 {
    let pid = server.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}

/// Raise this process's soft open-file limit to at least `want` (up to the hard limit); the
/// server, a child, inherits it.
pub fn raise_fd_limit(want: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < want {
            limit.rlim_cur = want.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= want,
        "the open-file limit ({}) is below {want}: raise the hard limit (ulimit -Hn)",
        limit.rlim_cur
    );
}

/// `GET path` with the admin token on a fresh connection from `from`: (status, elapsed).
pub async fn timed_get(server: &Endpoint, from: IpAddr, path: &str) -> (u16, Duration) {
    let client = reqwest::Client::builder()
        .local_address(from)
        .default_headers(server.auth_headers())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let start = Instant::now();
    let status = client
        .get(server.url(path))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16());
    (status, start.elapsed())
}

/// Read a response head from `stream` (the status line and headers).
pub async fn response_head(stream: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("a response in time")
            .expect("read");
        assert_eq!(n, 1, "the connection ended before a response");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}
