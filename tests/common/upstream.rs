//! A fake upstream DNS server on a loopback port (UDP and TCP on the same
//! port). A handler decides per query what it does; every query is counted
//! and its name logged.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// What the fake does with one query.
pub enum Reply {
    /// Answer with these sections and this rcode.
    Answer {
        rcode: ResponseCode,
        answers: Vec<Record>,
        authorities: Vec<Record>,
    },
    /// Say nothing.
    Silent,
    /// Over UDP: TC set and no records; over TCP: the inner reply.
    Truncated(Box<Reply>),
    /// Wait, then do the inner thing.
    Delay(Duration, Box<Reply>),
    /// First a reply with a wrong ID and one for another question, then the
    /// inner reply.
    Spoofed(Box<Reply>),
    /// Whatever bytes this builds from the query (true: over TCP), one
    /// message each.
    Raw(Box<RawBuilder>),
}

/// Builds the messages of a [`Reply::Raw`] from the query (true: over TCP).
pub type RawBuilder = dyn Fn(&Message, bool) -> Vec<Vec<u8>> + Send;

impl Reply {
    pub fn ok(answers: Vec<Record>) -> Reply {
        Reply::Answer {
            rcode: ResponseCode::NoError,
            answers,
            authorities: vec![],
        }
    }

    pub fn rcode(rcode: ResponseCode) -> Reply {
        Reply::Answer {
            rcode,
            answers: vec![],
            authorities: vec![],
        }
    }

    pub fn nxdomain(zone: &str, negative_ttl: u32) -> Reply {
        Reply::Answer {
            rcode: ResponseCode::NXDomain,
            answers: vec![],
            authorities: vec![soa(zone, negative_ttl)],
        }
    }
}

pub type Handler = dyn Fn(&Message) -> Reply + Send + Sync;

pub struct Upstream {
    pub addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    names: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

pub fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

pub fn a(owner: &str, ip: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(ip.parse().unwrap())))
}

pub fn aaaa(owner: &str, ip: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::AAAA(AAAA(ip.parse().unwrap())))
}

pub fn cname(owner: &str, target: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

pub fn soa(zone: &str, minimum: u32) -> Record {
    Record::from_rdata(
        name(zone),
        3600,
        RData::SOA(SOA::new(
            name("ns1.test."),
            name("hostmaster.test."),
            1,
            3600,
            600,
            86400,
            minimum,
        )),
    )
}

fn respond(query: &Message, reply: &Reply, tcp: bool) -> Option<Vec<Vec<u8>>> {
    match reply {
        Reply::Silent => None,
        Reply::Delay(d, inner) => {
            std::thread::sleep(*d);
            respond(query, inner, tcp)
        }
        Reply::Truncated(inner) if !tcp => {
            let mut m = base(query, ResponseCode::NoError);
            m.metadata.truncation = true;
            let _ = inner;
            Some(vec![m.to_vec().unwrap()])
        }
        Reply::Truncated(inner) => respond(query, inner, tcp),
        Reply::Spoofed(inner) => {
            let mut wrong_id = base(query, ResponseCode::NoError);
            wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
            wrong_id.add_answer(a(&query.queries[0].name().to_ascii(), "6.6.6.6", 300));
            let mut wrong_q = base(query, ResponseCode::NoError);
            wrong_q.queries[0].set_name(name("evil.example."));
            wrong_q.add_answer(a("evil.example.", "6.6.6.6", 300));
            let mut out = vec![wrong_id.to_vec().unwrap(), wrong_q.to_vec().unwrap()];
            out.extend(respond(query, inner, tcp)?);
            Some(out)
        }
        Reply::Raw(build) => Some(build(query, tcp)),
        Reply::Answer {
            rcode,
            answers,
            authorities,
        } => {
            let mut m = base(query, *rcode);
            m.add_answers(answers.iter().cloned());
            m.add_authorities(authorities.iter().cloned());
            Some(vec![m.to_vec().unwrap()])
        }
    }
}

/// A response to `query` with `rcode`, its question, and OPT if it had one.
pub fn base(query: &Message, rcode: ResponseCode) -> Message {
    let mut m = Message::response(query.metadata.id, query.metadata.op_code);
    m.metadata.message_type = MessageType::Response;
    m.metadata.recursion_desired = query.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.add_queries(query.queries.iter().cloned());
    if query.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m
}

impl Upstream {
    pub fn start(handler: impl Fn(&Message) -> Reply + Send + Sync + 'static) -> Upstream {
        let handler: Arc<Handler> = Arc::new(handler);
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()) {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        tcp.set_nonblocking(true).unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let names = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (handler, queries, names, stop) = (
                handler.clone(),
                queries.clone(),
                names.clone(),
                stop.clone(),
            );
            let udp = Arc::new(udp);
            std::thread::spawn(move || {
                let mut buf = vec![0; 65_535];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, peer)) = udp.recv_from(&mut buf) else {
                        continue;
                    };
                    let Ok(q) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    queries.fetch_add(1, Ordering::SeqCst);
                    names.lock().unwrap().push(q.queries[0].name().to_ascii());
                    let (handler, udp) = (handler.clone(), udp.clone());
                    std::thread::spawn(move || {
                        for packet in respond(&q, &handler(&q), false).into_iter().flatten() {
                            let _ = udp.send_to(&packet, peer);
                        }
                    });
                }
            });
        }
        {
            let (handler, queries, names, stop) =
                (handler, queries.clone(), names.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok((mut s, _)) = tcp.accept() else {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    };
                    let (handler, queries, names) =
                        (handler.clone(), queries.clone(), names.clone());
                    std::thread::spawn(move || {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        loop {
                            let mut len = [0; 2];
                            if s.read_exact(&mut len).is_err() {
                                return;
                            }
                            let mut buf = vec![0; u16::from_be_bytes(len) as usize];
                            if s.read_exact(&mut buf).is_err() {
                                return;
                            }
                            let Ok(q) = Message::from_vec(&buf) else {
                                return;
                            };
                            queries.fetch_add(1, Ordering::SeqCst);
                            names
                                .lock()
                                .unwrap()
                                .push(format!("tcp:{}", q.queries[0].name().to_ascii()));
                            for packet in respond(&q, &handler(&q), true).into_iter().flatten() {
                                let mut framed = (packet.len() as u16).to_be_bytes().to_vec();
                                framed.extend_from_slice(&packet);
                                if s.write_all(&framed).is_err() {
                                    return;
                                }
                            }
                        }
                    });
                }
            });
        }
        Upstream {
            addr,
            queries,
            names,
            stop,
        }
    }

    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    pub fn names(&self) -> Vec<String> {
        self.names.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The question's name and type, for handlers.
pub fn question(q: &Message) -> (String, RecordType) {
    (
        q.queries[0].name().to_ascii().to_lowercase(),
        q.queries[0].query_type(),
    )
}
