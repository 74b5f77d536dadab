//! `tls-server-end-point` channel binding (RFC 5929 §4.1) for SCRAM-SHA-256-PLUS: the hash of
//! the server's certificate, with the hash of the certificate's own signature algorithm (MD5 and
//! SHA-1 become SHA-256). With it, a man in the middle who terminates TLS (possible under
//! `sslmode=require`, which does not check the certificate) cannot relay a password login.
//!
//! Only the outer DER structure is read: `Certificate ::= SEQUENCE { tbsCertificate,
//! signatureAlgorithm AlgorithmIdentifier, signature }`.

use ring::digest;

/// Signature algorithm OIDs (DER contents) and the hash their binding uses.
const HASHES: &[(&[u8], &digest::Algorithm)] = &[
    // md5WithRSAEncryption, sha1WithRSAEncryption, sha256WithRSAEncryption
    (&[42, 134, 72, 134, 247, 13, 1, 1, 4], &digest::SHA256),
    (&[42, 134, 72, 134, 247, 13, 1, 1, 5], &digest::SHA256),
    (&[42, 134, 72, 134, 247, 13, 1, 1, 11], &digest::SHA256),
    // sha384WithRSAEncryption, sha512WithRSAEncryption
    (&[42, 134, 72, 134, 247, 13, 1, 1, 12], &digest::SHA384),
    (&[42, 134, 72, 134, 247, 13, 1, 1, 13], &digest::SHA512),
    // ecdsa-with-SHA1, ecdsa-with-SHA256, -SHA384, -SHA512
    (&[42, 134, 72, 206, 61, 4, 1], &digest::SHA256),
    (&[42, 134, 72, 206, 61, 4, 3, 2], &digest::SHA256),
    (&[42, 134, 72, 206, 61, 4, 3, 3], &digest::SHA384),
    (&[42, 134, 72, 206, 61, 4, 3, 4], &digest::SHA512),
];

/// The binding data for the certificate `der`; `None` for algorithms without a defined hash
/// (Ed25519, RSA-PSS) or a certificate that does not parse: SCRAM then runs without binding,
/// as libpq does.
pub fn server_end_point(der: &[u8]) -> Option<Vec<u8>> {
    let oid = signature_algorithm(der)?;
    let (_, hash) = HASHES.iter().find(|(known, _)| *known == oid)?;
    Some(digest::digest(hash, der).as_ref().to_vec())
}

/// The OID of the certificate's `signatureAlgorithm`.
fn signature_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = element(der, 0x30)?;
    let (_tbs, rest) = element(certificate, 0x30)?;
    let (algorithm, _) = element(rest, 0x30)?;
    let (oid, _) = element(algorithm, 0x06)?;
    Some(oid)
}

/// Split one DER element with tag `tag` off the front of `input`: (its contents, the rest).
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (len as usize, rest)
    } else {
        let n = (len & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(alg).unwrap();
        let params = rcgen::CertificateParams::new(vec!["db.example".to_string()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn an_ecdsa_p256_certificate_binds_with_sha256_of_its_der() {
        let der = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        let expected = digest::digest(&digest::SHA256, &der).as_ref().to_vec();
        assert_eq!(server_end_point(&der), Some(expected));
    }

    #[test]
    fn an_ecdsa_p384_certificate_binds_with_sha384() {
        let der = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
        let expected = digest::digest(&digest::SHA384, &der).as_ref().to_vec();
        assert_eq!(server_end_point(&der), Some(expected));
    }

    #[test]
    fn an_ed25519_certificate_has_no_binding_and_garbage_does_not_parse() {
        assert_eq!(server_end_point(&certificate(&rcgen::PKCS_ED25519)), None);
        for garbage in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x00],
        ] {
            assert_eq!(server_end_point(garbage), None);
        }
    }
}
