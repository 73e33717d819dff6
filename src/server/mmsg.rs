//! Batched UDP I/O: `recvmmsg` fills up to [`BATCH`] datagrams in one
//! system call and `sendmmsg` sends the replies in one more. This is the only
//! module with `unsafe` code: the two calls and the socket-address
//! conversions, each with the reason it is sound.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;

pub const BATCH: usize = 64;
/// Queries are small; a datagram longer than this is read truncated and
/// answered FORMERR, which is what it deserves.
const RX_SIZE: usize = 4096;

/// Receive buffer we ask for: a burst of queries arriving while a round is
/// being answered (or while the coalescing pause runs) must not overflow it.
const RCVBUF: libc::c_int = 4 << 20;

/// Grows the socket's receive buffer: forced past `net.core.rmem_max` when
/// the process may (CAP_NET_ADMIN), else as far as that limit allows.
pub fn grow_receive_buffer(sock: &UdpSocket) {
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt reads a c_int through a pointer to a live one.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&RCVBUF as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            return;
        }
    }
}

/// A client address as the kernel gave it, reusable as a destination.
#[derive(Clone, Copy)]
pub struct RawAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl RawAddr {
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.storage.ss_family as i32 {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in, and
                // sockaddr_storage is large and aligned enough for it.
                let sin = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
            }
            libc::AF_INET6 => {
                // SAFETY: as above, for sockaddr_in6.
                let sin6 = unsafe { &*(&self.storage as *const _ as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                Some(
                    SocketAddrV6::new(
                        ip,
                        u16::from_be(sin6.sin6_port),
                        sin6.sin6_flowinfo,
                        sin6.sin6_scope_id,
                    )
                    .into(),
                )
            }
            _ => None,
        }
    }
}

/// Buffers for one round: received datagrams and staged replies.
pub struct Batch {
    rx: Vec<[u8; RX_SIZE]>,
    rx_len: [usize; BATCH],
    from: [RawAddr; BATCH],
    received: usize,
    tx: Vec<Vec<u8>>,
    to: [RawAddr; BATCH],
    staged: usize,
    iov: [libc::iovec; BATCH],
    hdr: [libc::mmsghdr; BATCH],
}

// SAFETY: the raw pointers inside `iov`/`hdr` are scratch space, rewritten
// before every system call from buffers the batch owns; nothing refers to
// them between calls, so moving a batch to another thread is sound.
unsafe impl Send for Batch {}

impl Batch {
    pub fn new() -> Box<Batch> {
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs;
        // all-zero bytes are a valid (empty) value for each.
        let zero_addr = RawAddr {
            storage: unsafe { zeroed() },
            len: 0,
        };
        Box::new(Batch {
            rx: vec![[0u8; RX_SIZE]; BATCH],
            rx_len: [0; BATCH],
            from: [zero_addr; BATCH],
            received: 0,
            tx: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            to: [zero_addr; BATCH],
            staged: 0,
            iov: unsafe { zeroed() },
            hdr: unsafe { zeroed() },
        })
    }

    /// Blocks until at least one datagram arrives (or the socket's read
    /// timeout passes), then takes every waiting one, up to [`BATCH`].
    pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i] = libc::iovec {
                iov_base: self.rx[i].as_mut_ptr().cast(),
                iov_len: RX_SIZE,
            };
            self.from[i].len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            // SAFETY: zero is a valid msghdr; every pointer set below refers
            // to a buffer of `self` that outlives the call.
            self.hdr[i] = unsafe { zeroed() };
            self.hdr[i].msg_hdr.msg_name =
                (&mut self.from[i].storage as *mut libc::sockaddr_storage).cast();
            self.hdr[i].msg_hdr.msg_namelen = self.from[i].len;
            self.hdr[i].msg_hdr.msg_iov = &mut self.iov[i];
            self.hdr[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `hdr` holds BATCH initialised headers whose buffers and
        // address slots belong to `self` and stay put during the call.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.hdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.received = 0;
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for i in 0..n {
            self.rx_len[i] = (self.hdr[i].msg_len as usize).min(RX_SIZE);
            self.from[i].len = self.hdr[i].msg_hdr.msg_namelen;
        }
        self.received = n;
        self.staged = 0;
        Ok(n)
    }

    /// Packet `i`, its sender, and the buffer for the next reply; commit
    /// the reply with [`Batch::stage`].
    pub fn query(&mut self, i: usize) -> (&[u8], &RawAddr, &mut Vec<u8>) {
        (
            &self.rx[i][..self.rx_len[i]],
            &self.from[i],
            &mut self.tx[self.staged],
        )
    }

    pub fn stage(&mut self, i: usize) {
        self.to[self.staged] = self.from[i];
        self.staged += 1;
    }

    /// Sends every staged reply. A reply the kernel refuses (a destination
    /// it will not send to) is skipped and the rest of the batch still goes
    /// out; the first such error is returned once all were tried.
    pub fn send(&mut self, sock: &UdpSocket) -> io::Result<()> {
        let n = self.staged;
        self.staged = 0;
        for i in 0..n {
            self.iov[i] = libc::iovec {
                iov_base: self.tx[i].as_mut_ptr().cast(),
                iov_len: self.tx[i].len(),
            };
            // SAFETY: as in `recv`.
            self.hdr[i] = unsafe { zeroed() };
            self.hdr[i].msg_hdr.msg_name =
                (&mut self.to[i].storage as *mut libc::sockaddr_storage).cast();
            self.hdr[i].msg_hdr.msg_namelen = self.to[i].len;
            self.hdr[i].msg_hdr.msg_iov = &mut self.iov[i];
            self.hdr[i].msg_hdr.msg_iovlen = 1;
        }
        let mut done = 0;
        let mut first_error = None;
        while done < n {
            // SAFETY: headers `done..n` are initialised and point into `self`.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    self.hdr[done..n].as_mut_ptr(),
                    (n - done) as libc::c_uint,
                    0,
                )
            };
            match usize::try_from(r) {
                Ok(0) => break,
                Ok(sent) => done += sent,
                Err(_) => {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    // sendmmsg fails only when the first message of the call
                    // fails (later failures end the call early with a count):
                    // skip that one message, send the others.
                    first_error.get_or_insert(e);
                    done += 1;
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
