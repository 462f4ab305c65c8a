//! Unit tests of `auth`.

use super::*;

#[test]
fn scram_sha_256_matches_rfc_7677() {
    let mut scram = Scram::new("user", "rOprNGfwEbeRWgbNEkqO");
    assert_eq!(scram.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let server_first =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    assert_eq!(
        scram.client_final(server_first, "pencil").unwrap(),
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    scram
        .verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        .unwrap();
    assert!(scram.server_verified);
}

#[test]
fn scram_refuses_a_wrong_server_signature_and_a_foreign_nonce() {
    let mut scram = Scram::new("user", "abc");
    assert!(scram.client_final("r=xyz123,s=QUJD,i=1", "pw").is_err());
    scram.client_final("r=abc123,s=QUJD,i=1", "pw").unwrap();
    assert!(scram.verify_server_final("v=AAAA").is_err());
    assert!(
        scram
            .client_final("r=abc123,s=QUJD,i=99999999", "pw")
            .is_err()
    );
}

#[test]
fn cram_md5_matches_rfc_2195() {
    let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
    assert_eq!(
        cram_md5("tim", "tanstaaftanstaaf", challenge),
        "tim b913a602c7eda7a495b4e6e7334d3890"
    );
}
