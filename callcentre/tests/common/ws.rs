//! Signalling-socket helpers for the call tests: a fake kiosk's and an operator's WebSocket
//! against the real server, sending and waiting for typed messages with a deadline.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use super::TestServer;

/// A test's end of a signalling socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for a message.
pub const WITHIN: Duration = Duration::from_secs(10);

/// A kiosk's signalling socket with its bearer token.
pub async fn kiosk_socket(server: &TestServer, token: &str) -> Result<Ws, WsError> {
    let mut req = format!("ws://{}/api/v1/call", server.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    connect_async(req).await.map(|(ws, _)| ws)
}

/// An operator's signalling socket with this cookie and `Origin`, if given.
pub async fn console_socket(
    server: &TestServer,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Ws, WsError> {
    let mut req = format!("ws://{}/console/call", server.addr)
        .into_client_request()
        .unwrap();
    if let Some(cookie) = cookie {
        req.headers_mut().insert("Cookie", cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        req.headers_mut().insert("Origin", origin.parse().unwrap());
    }
    connect_async(req).await.map(|(ws, _)| ws)
}

pub fn refused_status(result: Result<Ws, WsError>) -> u16 {
    match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("the socket was accepted"),
    }
}

/// A signed-in, available operator's console socket.
pub async fn operator(server: &TestServer, username: &str, name: &str) -> Ws {
    operator_session(server, username, name).await.0
}

/// A signed-in, available operator's console socket and their session cookie.
pub async fn operator_session(server: &TestServer, username: &str, name: &str) -> (Ws, String) {
    server.operator(username, "demo-password-1", name);
    let cookie = super::http_sign_in_as(server, username, "demo-password-1")
        .await
        .unwrap();
    let mut ws = console_socket(server, Some(&cookie), Some(&server.url))
        .await
        .unwrap();
    expect(&mut ws, "availability").await;
    send(&mut ws, json!({"type": "set_available", "available": true})).await;
    let a = expect(&mut ws, "availability").await;
    assert_eq!(a["available"], true);
    (ws, cookie)
}

pub async fn send(ws: &mut Ws, value: Value) {
    use futures_util::SinkExt;
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next text message, within [`WITHIN`].
pub async fn next(ws: &mut Ws) -> Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no message within 10 s")
            .expect("the socket closed")
            .expect("the socket failed");
        if let Message::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// Reads until a message of type `kind` comes (others are skipped); panics after [`WITHIN`].
pub async fn expect(ws: &mut Ws, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        let m = tokio::time::timeout_at(deadline, next(ws))
            .await
            .unwrap_or_else(|_| panic!("no `{kind}` within 10 s"));
        if m["type"] == kind {
            return m;
        }
    }
}

/// Reads until an `error`, which must carry `code`.
pub async fn expect_error(ws: &mut Ws, code: &str) -> Value {
    let e = expect(ws, "error").await;
    assert_eq!(e["code"], code, "{e}");
    assert!(!e["message"].as_str().unwrap_or("").is_empty());
    e
}

/// An enrolled kiosk's socket, its id and token.
pub async fn kiosk(server: &TestServer, site: &str) -> (Ws, String, String) {
    let (id, token) = server.enrol(&reqwest::Client::new(), site).await;
    let ws = kiosk_socket(server, &token).await.unwrap();
    (ws, id, token)
}
