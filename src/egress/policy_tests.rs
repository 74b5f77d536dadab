use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy(allow: &[&str], deny: &[&str]) -> Policy {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Policy::from_settings(&strings(allow), &strings(deny)).unwrap()
}

fn reason(p: &Policy, addr: &str) -> Option<Reason> {
    p.check(ip(addr)).err().map(|r| r.reason)
}

#[test]
fn metadata_link_local_unspecified_multicast_and_broadcast_are_refused_by_default() {
    let p = Policy::default();
    let cases = [
        ("169.254.169.254", Reason::Metadata),
        ("100.100.100.200", Reason::Metadata),
        ("fd00:ec2::254", Reason::Metadata),
        ("169.254.1.1", Reason::LinkLocal),
        ("fe80::1", Reason::LinkLocal),
        ("0.0.0.0", Reason::Unspecified),
        ("0.1.2.3", Reason::Unspecified),
        ("::", Reason::Unspecified),
        ("224.0.0.1", Reason::Multicast),
        ("239.255.255.250", Reason::Multicast),
        ("ff02::1", Reason::Multicast),
        ("255.255.255.255", Reason::Broadcast),
    ];
    for (addr, want) in cases {
        assert_eq!(reason(&p, addr), Some(want), "{addr}");
    }
}

#[test]
fn loopback_private_and_public_addresses_are_allowed_by_default() {
    let p = Policy::default();
    for addr in [
        "127.0.0.1",
        "::1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.10",
        "100.64.0.1",
        "fd12:3456::1",
        "fd00:ec2::253",
        "8.8.8.8",
        "2001:db8::1",
        "240.0.0.1",
    ] {
        assert_eq!(p.check(ip(addr)), Ok(()), "{addr}");
    }
}

#[test]
fn ipv4_mapped_and_nat64_forms_are_judged_as_the_ipv4_address() {
    let p = Policy::default();
    assert_eq!(reason(&p, "::ffff:169.254.169.254"), Some(Reason::Metadata));
    assert_eq!(reason(&p, "::ffff:0.0.0.0"), Some(Reason::Unspecified));
    assert_eq!(
        reason(&p, "64:ff9b::169.254.169.254"),
        Some(Reason::Metadata)
    );
    assert_eq!(reason(&p, "64:ff9b::a9fe:1"), Some(Reason::LinkLocal));
    assert_eq!(p.check(ip("::ffff:10.0.0.1")), Ok(()));

    let strict = policy(&[], &["127.0.0.0/8"]);
    let denied = Reason::Denied("127.0.0.0/8".parse().unwrap());
    assert_eq!(reason(&strict, "::ffff:127.0.0.1"), Some(denied));
    assert_eq!(reason(&strict, "64:ff9b::7f00:1"), Some(denied));
}

#[test]
fn the_deny_list_wins_over_the_allow_list() {
    let p = policy(&["10.0.0.0/8"], &["10.1.0.0/16", "::1"]);
    assert_eq!(p.check(ip("10.2.0.1")), Ok(()));
    assert_eq!(
        reason(&p, "10.1.2.3"),
        Some(Reason::Denied("10.1.0.0/16".parse().unwrap()))
    );
    assert_eq!(
        reason(&p, "::1"),
        Some(Reason::Denied("::1/128".parse().unwrap()))
    );
}

#[test]
fn a_non_empty_allow_list_admits_only_its_networks() {
    let p = policy(&["10.0.0.0/8", "fd00::/8"], &[]);
    assert_eq!(p.check(ip("10.20.30.40")), Ok(()));
    assert_eq!(p.check(ip("fd00::5")), Ok(()));
    for addr in ["127.0.0.1", "192.168.0.1", "8.8.8.8", "::1"] {
        assert_eq!(reason(&p, addr), Some(Reason::NotAllowed), "{addr}");
    }
}

#[test]
fn broad_allow_entries_never_open_built_in_refusals() {
    let p = policy(&["0.0.0.0/0", "::/0"], &[]);
    assert_eq!(p.check(ip("8.8.8.8")), Ok(()));
    assert_eq!(reason(&p, "169.254.169.254"), Some(Reason::Metadata));
    assert_eq!(reason(&p, "fe80::1"), Some(Reason::LinkLocal));
    // A link-local network named explicitly opens that network, but not the metadata address.
    let p = policy(&["169.254.0.0/16", "10.0.0.0/8"], &[]);
    assert_eq!(p.check(ip("169.254.10.1")), Ok(()));
    assert_eq!(reason(&p, "169.254.169.254"), Some(Reason::Metadata));
    let p = policy(&["169.254.169.254"], &[]);
    assert_eq!(p.check(ip("169.254.169.254")), Ok(()));
}

#[test]
fn settings_accept_addresses_and_networks_and_name_bad_entries() {
    let p = policy(&[" 10.0.0.0/8 ", "", "192.168.1.1"], &["fd00::/8"]);
    assert_eq!(
        p,
        Policy::new(
            vec![
                "10.0.0.0/8".parse().unwrap(),
                "192.168.1.1/32".parse().unwrap()
            ],
            vec!["fd00::/8".parse().unwrap()],
        )
    );
    let bad = Policy::from_settings(&[], &["10.0.0.0/33".into()]).unwrap_err();
    assert_eq!(
        bad.to_string(),
        "FLUXO_EGRESS_DENY: \"10.0.0.0/33\" is not an IP address or a CIDR network (e.g. 10.0.0.0/8, fd00::/8)"
    );
    let bad = Policy::from_settings(&["kube.example.com".into()], &[]).unwrap_err();
    assert!(matches!(
        bad,
        Error::BadEntry {
            setting: "FLUXO_EGRESS_ALLOW",
            ..
        }
    ));
    let bits = Policy::from_settings(&["10.1.2.3/8".into()], &[]).unwrap_err();
    assert!(
        bits.to_string().contains("did you mean 10.0.0.0/8?"),
        "{bits}"
    );
}

#[test]
fn a_refusal_names_the_address_the_setting_and_the_reason() {
    let refused = Policy::default().check(ip("169.254.169.254")).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "address 169.254.169.254 is refused by the outbound address policy (FLUXO_EGRESS_*): a cloud metadata service"
    );
}
