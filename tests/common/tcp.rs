//! TCP clients for the abuse tests: connections from a chosen loopback
//! address, with a small receive buffer, and a way to tell a closed
//! connection from a quiet one.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// A connection to `to` from `from` (any 127.0.0.0/8 address works on
/// loopback); `rcvbuf`, when given, is set before connecting so the window
/// stays small.
pub fn connect_from(from: &str, to: SocketAddr, rcvbuf: Option<usize>) -> TcpStream {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if let Some(size) = rcvbuf {
        s.set_recv_buffer_size(size).unwrap();
    }
    let addr: SocketAddr = format!("{from}:0").parse().unwrap();
    s.bind(&addr.into()).unwrap();
    s.connect(&to.into()).unwrap();
    s.into()
}

/// What reading a connection for `within` showed.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// End of stream (the server closed).
    Closed,
    /// Reset by the server.
    Reset,
    /// Still open, nothing (more) to read.
    Open,
}

/// Reads (and throws away) whatever arrives on `s` for up to `within`.
pub fn watch(s: &mut TcpStream, within: Duration) -> Seen {
    let deadline = Instant::now() + within;
    let mut buf = vec![0; 1 << 16];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Seen::Open;
        }
        s.set_read_timeout(Some(left.min(Duration::from_millis(100))))
            .unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Seen::Closed,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Seen::Reset,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Lets this test process open many sockets (CI may start it with 1024).
pub fn raise_open_files_limit() {
    pldns::sys::raise_open_files_limit();
}
