//! The server side of each SASL mechanism, checking the client's proof against a known user
//! and password (or OAuth token), so tests see real logins succeed and wrong ones fail.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What the server concluded.
pub enum Verdict {
    /// The client proved it knows the password; the user it logged in as.
    Accepted(String),
    /// Wrong user, password or token; or a malformed message.
    Refused,
    /// The client gave up (`*`) or went away.
    Abandoned,
}

/// One 334 challenge out, one decoded client response back (`None`: `*` or closed).
pub type Conversation<'a> = dyn FnMut(&[u8]) -> std::io::Result<Option<Vec<u8>>> + 'a;

pub const CRAM_MD5_CHALLENGE: &str = "<1896.697170952@test.local>";
pub const SCRAM_SALT: &[u8] = b"smtpsend-test-salt";
pub const SCRAM_ITERATIONS: u32 = 4096;

/// Runs the server side of `mechanism` after `AUTH mechanism [initial]`.
pub fn verify(
    mechanism: &str,
    initial: Option<Vec<u8>>,
    user: &str,
    password: &str,
    forge_scram_signature: bool,
    talk: &mut Conversation<'_>,
) -> std::io::Result<Verdict> {
    let first = |talk: &mut Conversation<'_>| -> std::io::Result<Option<Vec<u8>>> {
        match &initial {
            Some(data) => Ok(Some(data.clone())),
            None => talk(b""),
        }
    };
    let check = |ok: bool, who: &str| {
        if ok {
            Verdict::Accepted(who.to_string())
        } else {
            Verdict::Refused
        }
    };
    match mechanism {
        "PLAIN" => {
            let Some(data) = first(talk)? else {
                return Ok(Verdict::Abandoned);
            };
            let parts: Vec<&[u8]> = data.split(|b| *b == 0).collect();
            Ok(check(
                parts.len() == 3 && parts[1] == user.as_bytes() && parts[2] == password.as_bytes(),
                user,
            ))
        }
        "LOGIN" => {
            let name = match initial {
                Some(name) => name,
                None => match talk(b"Username:")? {
                    Some(name) => name,
                    None => return Ok(Verdict::Abandoned),
                },
            };
            let Some(secret) = talk(b"Password:")? else {
                return Ok(Verdict::Abandoned);
            };
            Ok(check(
                name == user.as_bytes() && secret == password.as_bytes(),
                user,
            ))
        }
        "CRAM-MD5" => {
            let Some(answer) = talk(CRAM_MD5_CHALLENGE.as_bytes())? else {
                return Ok(Verdict::Abandoned);
            };
            let mut mac = Hmac::<md5::Md5>::new_from_slice(password.as_bytes()).unwrap();
            mac.update(CRAM_MD5_CHALLENGE.as_bytes());
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            Ok(check(answer == format!("{user} {hex}").into_bytes(), user))
        }
        "XOAUTH2" => {
            let Some(data) = first(talk)? else {
                return Ok(Verdict::Abandoned);
            };
            let expected = format!("user={user}\x01auth=Bearer {password}\x01\x01");
            if data == expected.as_bytes() {
                return Ok(Verdict::Accepted(user.to_string()));
            }
            // Google's way: a JSON error in a 334, then the client's empty line.
            let _ =
                talk(br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#)?;
            Ok(Verdict::Refused)
        }
        "OAUTHBEARER" => {
            let Some(data) = first(talk)? else {
                return Ok(Verdict::Abandoned);
            };
            let text = String::from_utf8_lossy(&data);
            let gs2_user = text
                .split(',')
                .find_map(|part| part.strip_prefix("a="))
                .unwrap_or_default()
                .to_string();
            let token_ok = text
                .split('\x01')
                .any(|kv| kv == format!("auth=Bearer {password}"));
            let has_host = text.split('\x01').any(|kv| kv.starts_with("host="));
            if gs2_user == user && token_ok && has_host && text.ends_with("\x01\x01") {
                return Ok(Verdict::Accepted(user.to_string()));
            }
            // RFC 7628 §3.2.2: an error in a 334, then the client's %x01.
            let _ = talk(br#"{"status":"invalid_token"}"#)?;
            Ok(Verdict::Refused)
        }
        "SCRAM-SHA-256" => scram(first(talk)?, user, password, forge_scram_signature, talk),
        _ => Ok(Verdict::Refused),
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn scram(
    client_first: Option<Vec<u8>>,
    user: &str,
    password: &str,
    forge: bool,
    talk: &mut Conversation<'_>,
) -> std::io::Result<Verdict> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some(client_first) = client_first else {
        return Ok(Verdict::Abandoned);
    };
    let client_first = String::from_utf8_lossy(&client_first).into_owned();
    let Some(bare) = client_first.strip_prefix("n,,") else {
        return Ok(Verdict::Refused);
    };
    let field = |text: &str, name: &str| {
        text.split(',')
            .find_map(|p| p.strip_prefix(name))
            .map(str::to_string)
    };
    let (Some(name), Some(client_nonce)) = (field(bare, "n="), field(bare, "r=")) else {
        return Ok(Verdict::Refused);
    };
    let nonce = format!("{client_nonce}srvNonce42");
    let server_first = format!(
        "r={nonce},s={},i={SCRAM_ITERATIONS}",
        b64.encode(SCRAM_SALT)
    );
    let Some(client_final) = talk(server_first.as_bytes())? else {
        return Ok(Verdict::Abandoned);
    };
    let client_final = String::from_utf8_lossy(&client_final).into_owned();
    let Some((without_proof, proof)) = client_final.rsplit_once(",p=") else {
        return Ok(Verdict::Refused);
    };
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(
        password.as_bytes(),
        SCRAM_SALT,
        SCRAM_ITERATIONS,
        &mut salted,
    );
    let client_key = hmac_sha256(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let signature = hmac_sha256(&stored_key, auth_message.as_bytes());
    let expected: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let proof_ok = b64.decode(proof).ok() == Some(expected)
        && without_proof == format!("c=biws,r={nonce}")
        && name == user;
    if !proof_ok {
        return Ok(Verdict::Refused);
    }
    let server_key = hmac_sha256(&salted, b"Server Key");
    let mut server_signature = hmac_sha256(&server_key, auth_message.as_bytes());
    if forge {
        server_signature[0] ^= 0xff;
    }
    let server_final = format!("v={}", b64.encode(server_signature));
    match talk(server_final.as_bytes())? {
        Some(empty) if empty.is_empty() => Ok(Verdict::Accepted(user.to_string())),
        Some(_) => Ok(Verdict::Refused),
        None => Ok(Verdict::Abandoned),
    }
}
