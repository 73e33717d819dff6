//! The writer and the stream hook over a real loopback connection.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::conn::Conn;
use super::stream::{SinkError, Streamer};
use super::writer::{Frame, write_loop};
use crate::stats::CloseReason;

async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (server, _) = l.accept().await.unwrap();
    (server, client)
}

fn conn() -> Arc<Conn> {
    let (_tx, rx) = watch::channel(false);
    Arc::new(Conn::new(
        "127.0.0.1".parse().unwrap(),
        std::time::Instant::now(),
        rx,
    ))
}

fn message(i: u32, len: usize) -> Vec<u8> {
    let mut m = i.to_be_bytes().to_vec();
    m.resize(len, 0xAB);
    m
}

#[tokio::test]
async fn a_stream_reaches_a_slow_reader_whole_and_in_order() {
    let (server, mut client) = pair().await;
    let (_rd, wr) = server.into_split();
    let (queue, frames) = mpsc::channel(8);
    let c = conn();
    let writer = tokio::spawn(async move { write_loop(wr, frames, &c).await });
    let streamer = Streamer::new(|mut sink| async move {
        for i in 0..3_000u32 {
            sink.send(message(i, 1_000)).await.unwrap();
        }
    });
    let stream = tokio::spawn(streamer.run(queue));
    let mut got = 0u32;
    let mut buf = vec![0; 1_000];
    while got < 3_000 {
        let len = client.read_u16().await.unwrap();
        assert_eq!(len, 1_000);
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf[..4], got.to_be_bytes());
        got += 1;
        if got.is_multiple_of(500) {
            // A slow client: the producer waits for it.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    stream.await.unwrap();
    assert_eq!(writer.await.unwrap(), Ok(()), "all senders gone: done");
}

#[tokio::test]
async fn a_client_that_stops_reading_stops_the_stream_and_is_reset() {
    let (server, client) = pair().await;
    let (_rd, wr) = server.into_split();
    let (queue, frames) = mpsc::channel(8);
    let c = conn();
    let writer = tokio::spawn(async move { write_loop(wr, frames, &c).await });
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let streamer = Streamer::new(|mut sink| async move {
        let mut sent = 0usize;
        let end = loop {
            match sink.send(message(0, 60_000)).await {
                Ok(()) => sent += 1,
                Err(e) => break e,
            }
        };
        let _ = done_tx.send((sent, end));
    })
    .write_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    tokio::spawn(streamer.run(queue));
    let (sent, end) = tokio::time::timeout(Duration::from_secs(5), done_rx)
        .await
        .expect("the stream ends")
        .unwrap();
    assert!(
        matches!(end, SinkError::Closed | SinkError::Stalled),
        "{end:?}"
    );
    // Bounded by the socket buffers and the stream's queue, not the zone.
    assert!(sent < 2_000, "{sent} messages queued");
    assert_eq!(writer.await.unwrap(), Err(CloseReason::WriteTimeout));
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(client);
}

#[tokio::test]
async fn a_reply_frame_not_taken_in_time_resets_the_connection() {
    let (server, mut client) = pair().await;
    let (rd, wr) = server.into_split();
    let (queue, frames) = mpsc::channel(8);
    let c = conn();
    let writer = tokio::spawn(async move { write_loop(wr, frames, &c).await });
    let filler = tokio::spawn(async move {
        while queue
            .send(Frame {
                msg: message(1, 65_000),
                timeout: Duration::from_millis(200),
                hold: None,
            })
            .await
            .is_ok()
        {}
    });
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .unwrap()
            .unwrap(),
        Err(CloseReason::WriteTimeout)
    );
    filler.await.unwrap();
    // The connection closes (both halves gone), as it does after a
    // stalled write.
    drop(rd);
    // The reset reaches the client once it reads what was sent.
    let mut buf = vec![0; 1 << 16];
    let reset = loop {
        match client.read(&mut buf).await {
            Ok(0) => break false,
            Ok(_) => {}
            Err(_) => break true,
        }
    };
    assert!(reset, "SO_LINGER 0: a reset, not a slow close");
}
