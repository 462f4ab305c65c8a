//! SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side: the first message, the proof, and the check of the server's signature.

use super::*;

pub(super) fn scram_error(what: &str) -> anyhow::Error {
    fail(Kind::Protocol, format!("SCRAM-SHA-256: {what}"))
}

pub(super) fn client_nonce() -> String {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).expect("the system random source");
    BASE64.encode(bytes)
}

/// Iteration counts above this are refused: a hostile server could ask for hours of work.
pub(super) const SCRAM_MAX_ITERATIONS: u32 = 1_000_000;

/// The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677). Passwords are used as their
/// UTF-8 bytes (no SASLprep normalisation, which changes nothing for ASCII passwords).
pub(super) struct Scram {
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
    pub(super) server_verified: bool,
}

impl Scram {
    pub(super) fn new(user: &str, nonce: &str) -> Scram {
        Scram {
            client_first_bare: format!("n={},r={nonce}", sasl_name(user)),
            nonce: nonce.to_string(),
            server_signature: None,
            server_verified: false,
        }
    }

    pub(super) fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    pub(super) fn client_final(
        &mut self,
        server_first: &str,
        password: &str,
    ) -> anyhow::Result<String> {
        let field = |name: &str| {
            server_first
                .split(',')
                .find_map(|part| part.strip_prefix(name))
                .ok_or_else(|| {
                    scram_error(&format!("the server's first message has no {name} field"))
                })
        };
        let nonce = field("r=")?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(scram_error("the server's nonce does not extend ours"));
        }
        let salt = BASE64
            .decode(field("s=")?)
            .map_err(|_| scram_error("the salt is not valid base64"))?;
        let iterations: u32 = field("i=")?
            .parse()
            .ok()
            .filter(|i| (1..=SCRAM_MAX_ITERATIONS).contains(i))
            .ok_or_else(|| {
                scram_error(&format!(
                    "the iteration count must be from 1 to {SCRAM_MAX_ITERATIONS}"
                ))
            })?;
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac_sha256(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = hmac_sha256(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(key, signature)| key ^ signature)
            .collect();
        let server_key = hmac_sha256(&salted, b"Server Key");
        self.server_signature = Some(hmac_sha256(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", BASE64.encode(proof)))
    }

    pub(super) fn verify_server_final(&mut self, server_final: &str) -> anyhow::Result<()> {
        if let Some(error) = server_final.strip_prefix("e=") {
            return Err(fail(
                Kind::AuthRefused,
                format!("SCRAM-SHA-256: the server refused the login: {error}"),
            ));
        }
        let signature = server_final
            .split(',')
            .find_map(|part| part.strip_prefix("v="))
            .and_then(|v| BASE64.decode(v).ok())
            .ok_or_else(|| scram_error("the server's final message has no signature"))?;
        if Some(signature) != self.server_signature {
            return Err(scram_error(
                "the server's signature is wrong: it does not know the password (possible impostor)",
            ));
        }
        self.server_verified = true;
        Ok(())
    }
}

pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}
