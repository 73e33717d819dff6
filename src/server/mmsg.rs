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

/// Buffers for one round: received datagrams and staged replies. The
/// receive headers point at fixed buffers and are set up once; only the
/// lengths the kernel overwrites are reset before each call.
pub struct Batch {
    rx: Vec<[u8; RX_SIZE]>,
    from: [RawAddr; BATCH],
    received: usize,
    rx_iov: [libc::iovec; BATCH],
    rx_hdr: [libc::mmsghdr; BATCH],
    tx: Vec<Vec<u8>>,
    to: [RawAddr; BATCH],
    staged: usize,
    tx_iov: [libc::iovec; BATCH],
    tx_hdr: [libc::mmsghdr; BATCH],
}

// SAFETY: the raw pointers inside the headers point into the batch's own
// heap allocation (it lives in a Box and never moves) or are rewritten
// before every system call; moving a batch to another thread is sound.
unsafe impl Send for Batch {}

impl Batch {
    pub fn new() -> Box<Batch> {
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain C structs;
        // all-zero bytes are a valid (empty) value for each.
        let zero_addr = RawAddr {
            storage: unsafe { zeroed() },
            len: 0,
        };
        let mut b = Box::new(Batch {
            rx: vec![[0u8; RX_SIZE]; BATCH],
            from: [zero_addr; BATCH],
            received: 0,
            rx_iov: unsafe { zeroed() },
            rx_hdr: unsafe { zeroed() },
            tx: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            to: [zero_addr; BATCH],
            staged: 0,
            tx_iov: unsafe { zeroed() },
            tx_hdr: unsafe { zeroed() },
        });
        let b_ref = &mut *b;
        for i in 0..BATCH {
            b_ref.rx_iov[i] = libc::iovec {
                iov_base: b_ref.rx[i].as_mut_ptr().cast(),
                iov_len: RX_SIZE,
            };
            let h = &mut b_ref.rx_hdr[i].msg_hdr;
            h.msg_name = (&mut b_ref.from[i].storage as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut b_ref.rx_iov[i];
            h.msg_iovlen = 1;
        }
        b
    }

    /// Takes every waiting datagram, up to [`BATCH`]. With `wait`, blocks
    /// until at least one arrives (or the socket's read timeout passes);
    /// without, fails with `WouldBlock` when none is waiting.
    pub fn recv(&mut self, sock: &UdpSocket, wait: bool) -> io::Result<usize> {
        // The kernel wrote the address lengths (and flags) of the headers
        // the last call filled; give those their full size back.
        for h in &mut self.rx_hdr[..self.received] {
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_flags = 0;
        }
        self.received = 0;
        self.staged = 0;
        let flags = if wait {
            libc::MSG_WAITFORONE
        } else {
            libc::MSG_DONTWAIT
        };
        // SAFETY: `rx_hdr` holds BATCH initialised headers whose buffers
        // and address slots belong to `self`, which is boxed and stays put
        // during the call.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.rx_hdr.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        for i in 0..n {
            self.from[i].len = self.rx_hdr[i].msg_hdr.msg_namelen;
        }
        self.received = n;
        Ok(n)
    }

    /// Packet `i`, its sender, and the buffer for the next reply; commit
    /// the reply with [`Batch::stage`].
    pub fn query(&mut self, i: usize) -> (&[u8], &RawAddr, &mut Vec<u8>) {
        let len = (self.rx_hdr[i].msg_len as usize).min(RX_SIZE);
        (&self.rx[i][..len], &self.from[i], &mut self.tx[self.staged])
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
            self.tx_iov[i] = libc::iovec {
                iov_base: self.tx[i].as_mut_ptr().cast(),
                iov_len: self.tx[i].len(),
            };
            // SAFETY: as in `recv`.
            self.tx_hdr[i] = unsafe { zeroed() };
            self.tx_hdr[i].msg_hdr.msg_name =
                (&mut self.to[i].storage as *mut libc::sockaddr_storage).cast();
            self.tx_hdr[i].msg_hdr.msg_namelen = self.to[i].len;
            self.tx_hdr[i].msg_hdr.msg_iov = &mut self.tx_iov[i];
            self.tx_hdr[i].msg_hdr.msg_iovlen = 1;
        }
        let mut done = 0;
        let mut first_error = None;
        while done < n {
            // SAFETY: headers `done..n` are initialised and point into `self`.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    self.tx_hdr[done..n].as_mut_ptr(),
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
