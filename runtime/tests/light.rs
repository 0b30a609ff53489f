//! The light client against an in-memory network: four genesis validators (stakes 40, 30,
//! 20, 10), a fifth that registers and a delegation, so the set changes over the followed
//! range. The client follows 12 blocks from the genesis config alone and verifies a balance;
//! tampered headers, certificates short of 2/3 or signed by another set, forged set proofs,
//! bad parent links and heights it cannot verify are each refused with their error, and a
//! refused step changes nothing.

mod common;

use chainvm_runtime::block::{CertifiedHeader, SignedHeader};
use chainvm_runtime::finality::CertificateError;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::layout::{self, Account};
use chainvm_runtime::light::{LightSource, SetFault, Step};
use chainvm_runtime::staking::Registration;
use chainvm_runtime::state::{BlockRecord, StateWrites, Store};
use chainvm_runtime::{
    Certificate, Chain, ChainError, GenesisConfig, Keypair, LightClient, LightError, Payload,
    SetMember, SignedTransaction, StateProof, U256, ValidatorSet,
};

fn tokens(n: u64) -> U256 {
    U256::exp10(18) * n
}

struct Network {
    /// Validator keys: the four of genesis, then the newcomer.
    keys: Vec<Keypair>,
    /// One chain per key.
    chains: Vec<Chain>,
    config: GenesisConfig,
}

impl Network {
    fn new() -> Network {
        let mut keys: Vec<Keypair> = (0..4).map(|i| Keypair::derive("light", i)).collect();
        let stakes: Vec<_> = keys
            .iter()
            .zip([40, 30, 20, 10])
            .map(|(k, s)| (k.public(), tokens(s)))
            .collect();
        let mut config = GenesisConfig::testnet(11, &stakes, 1_000);
        // A dev account may register too: the newcomer.
        let newcomer = dev_keys()[5].clone();
        let mut permitted: Vec<_> = keys.iter().map(Keypair::address).collect();
        permitted.push(newcomer.address());
        config.params.registration = Registration::Permissioned(permitted);
        keys.push(newcomer);
        let chains = keys
            .iter()
            .map(|k| {
                let mut c = Chain::in_memory(config.clone(), k).unwrap();
                c.set_time(2_000);
                c
            })
            .collect();
        Network {
            keys,
            chains,
            config,
        }
    }

    fn key_of(&self, address: &chainvm_runtime::Address) -> &Keypair {
        self.keys.iter().find(|k| k.address() == *address).unwrap()
    }

    /// One height decided by every member of its set: the round-0 proposer builds, the
    /// others check, every chain commits.
    fn decide(&mut self, txs: &[SignedTransaction]) {
        let everyone: Vec<usize> = (0..self.keys.len()).collect();
        common::decide(&self.keys, &mut self.chains, &everyone, txs);
    }

    fn tx(&self, key: &Keypair, payload: Payload) -> SignedTransaction {
        self.chains[0]
            .next_transaction(&key.address(), payload)
            .unwrap()
            .sign(key)
    }

    /// Twelve blocks: transfers, the newcomer's registration (height 2) and a delegation of
    /// 20 tokens to the smallest validator (height 3).
    fn run() -> Network {
        let mut net = Network::new();
        let dev = dev_keys();
        for h in 1..=12u64 {
            let tx = match h {
                2 => net.tx(
                    &net.keys[4],
                    Payload::RegisterValidator {
                        public_key: net.keys[4].public(),
                        commission_bps: 500,
                        amount: tokens(15),
                    },
                ),
                3 => net.tx(
                    &dev[0],
                    Payload::Stake {
                        validator: net.keys[3].address(),
                        amount: tokens(20),
                    },
                ),
                _ => net.tx(
                    &dev[1],
                    Payload::Transfer {
                        to: dev[2].address(),
                        amount: U256::from(h),
                    },
                ),
            };
            net.decide(&[tx]);
        }
        for h in 1..=12 {
            let r = &net.chains[0].block(h).unwrap().unwrap().txs[0].receipt;
            assert!(r.is_success(), "block {h}: {:?}", r.error);
        }
        net
    }
}

#[test]
fn follows_twelve_blocks_by_certificates_and_verifies_a_balance() {
    let net = Network::run();
    let chain = &net.chains[1];
    let mut client = LightClient::from_genesis(&net.config).unwrap();
    // The genesis header is recomputed from the config alone, identical to the chain's.
    assert_eq!(
        client.genesis_hash(),
        chain.header(0).unwrap().unwrap().header.hash()
    );
    assert_eq!(client.delay(), 2);
    let genesis_set = client.validator_set(1).unwrap().clone();
    let fresh = Chain::in_memory(net.config.clone(), &net.keys[0]).unwrap();
    assert_eq!(Some(&genesis_set), fresh.validator_set(1).unwrap().as_ref());
    assert_eq!(genesis_set.members.len(), 4);

    // Block 1 (the genesis link), then two heights per certificate: 1, 3, 5, ..., 11, 12.
    let checked = client.follow(chain, 12).unwrap();
    assert_eq!(checked, 7);
    assert_eq!(client.certificates_checked(), 7);
    assert_eq!(client.latest(), &chain.header(12).unwrap().unwrap().header);
    let trusted: Vec<u64> = (0..=12).filter(|h| client.header(*h).is_some()).collect();
    assert_eq!(trusted, [0, 1, 3, 5, 7, 9, 11, 12]);

    // The sets it learned are the chain's, and they changed over the range: the newcomer
    // joined and the smallest validator's delegation arrived.
    for h in 13..=14 {
        assert_eq!(
            client.validator_set(h),
            chain.validator_set(h).unwrap().as_ref()
        );
    }
    let now = client.validator_set(13).unwrap();
    assert_eq!(now.members.len(), 5);
    assert!(now.get(&net.keys[4].address()).is_some());
    let power = |set: &ValidatorSet, i: usize| set.get(&net.keys[i].address()).unwrap().power;
    assert!(
        power(now, 3) >= 3 * power(&genesis_set, 3),
        "10 -> 30 tokens"
    );

    // A balance, verified at the latest trusted header and at an earlier one.
    let who = dev_keys()[2].address();
    let key = layout::account_key(&who);
    for h in [12, 5] {
        let value = client.prove(chain, &key, h).unwrap().unwrap();
        let account: Account = borsh::from_slice(&value).unwrap();
        let expected = layout::account(&net.chains[0].latest_state().unwrap(), &who).unwrap();
        if h == 12 {
            assert_eq!(account, expected);
        } else {
            assert!(account.balance < expected.balance, "transfers after 5");
        }
    }
    // An absent key is proven absent.
    let nobody = layout::account_key(&chainvm_runtime::Address::repeat_byte(0xee));
    assert_eq!(client.prove(chain, &nobody, 12).unwrap(), None);
    // A header it skipped is not trusted, so nothing is verified there.
    assert!(matches!(
        client.prove(chain, &key, 4),
        Err(LightError::NotTrusted {
            height: 4,
            latest: 12
        })
    ));

    // Step by step instead (every parent link checked): the same end, twelve certificates.
    let mut slow = LightClient::from_genesis(&net.config).unwrap();
    for h in 1..=12 {
        slow.step_to(chain, h).unwrap();
    }
    assert_eq!(slow.certificates_checked(), 12);
    assert_eq!(slow.latest(), client.latest());
    // Following to a height already trusted checks nothing more.
    assert_eq!(client.follow(chain, 12).unwrap(), 0);
}

/// An edit of a node's header answers.
type HeaderEdit<'a> = Box<dyn Fn(CertifiedHeader) -> CertifiedHeader + 'a>;
/// An edit of a node's proof answers (given the key and height asked).
type ProofEdit<'a> = Box<dyn Fn(&[u8], u64, StateProof) -> StateProof + 'a>;

/// A source that passes the chain's answers through edits.
struct Edited<'a> {
    chain: &'a Chain,
    header: HeaderEdit<'a>,
    proof: ProofEdit<'a>,
}

impl<'a> Edited<'a> {
    fn headers(chain: &'a Chain, f: impl Fn(CertifiedHeader) -> CertifiedHeader + 'a) -> Self {
        Edited {
            chain,
            header: Box::new(f),
            proof: Box::new(|_, _, p| p),
        }
    }
    fn proofs(chain: &'a Chain, f: impl Fn(&[u8], u64, StateProof) -> StateProof + 'a) -> Self {
        Edited {
            chain,
            header: Box::new(|h| h),
            proof: Box::new(f),
        }
    }
}

impl LightSource for Edited<'_> {
    type Error = ChainError;
    fn certified_header(&self, height: u64) -> Result<Option<CertifiedHeader>, ChainError> {
        Ok(self.chain.certified_header(height)?.map(&self.header))
    }
    fn prove(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        Ok((self.proof)(
            key,
            height,
            self.chain.prove(key, Some(height))?,
        ))
    }
}

/// Four keys that are not the chain's, and their set.
fn strangers() -> (Vec<Keypair>, ValidatorSet) {
    let keys: Vec<Keypair> = (0..4).map(|i| Keypair::derive("stranger", i)).collect();
    let set = ValidatorSet::new(keys.iter().map(|k| SetMember {
        address: k.address(),
        public_key: k.public(),
        power: 1_000_000_000_000,
    }));
    (keys, set)
}

/// `step_to(height)` through `source` fails, the client unchanged.
fn refused(client: &mut LightClient, source: &impl LightSource, height: u64) -> LightError {
    let (latest, checked) = (client.latest().clone(), client.certificates_checked());
    let set = client.validator_set(latest.height + 1).cloned();
    let err = client.step_to(source, height).unwrap_err();
    assert_eq!(client.latest(), &latest, "{err}");
    assert_eq!(client.certificates_checked(), checked);
    assert_eq!(client.validator_set(latest.height + 1).cloned(), set);
    // Each is one line.
    assert!(!err.to_string().contains('\n'), "{err}");
    err
}

#[test]
fn tampered_headers_short_or_foreign_certificates_and_forged_sets_are_refused() {
    let net = Network::run();
    let chain = &net.chains[0];
    let mut client = LightClient::from_genesis(&net.config).unwrap();
    client.follow(chain, 4).unwrap();
    let next = 6;

    // A header with another state root: its hash is no longer the certified one.
    let tampered = Edited::headers(chain, |mut c| {
        c.signed_header.header.state_root.0[0] ^= 1;
        c
    });
    let err = refused(&mut client, &tampered, next);
    assert!(
        matches!(err, LightError::TamperedHeader { height: 6, .. }),
        "{err}"
    );

    // Certificates short of 2/3: only the 30 and 20 validators' precommits.
    let keep: Vec<_> = [1, 2].iter().map(|i| net.keys[*i].address()).collect();
    let short = Edited::headers(chain, |mut c| {
        if let Some(cert) = &mut c.certificate {
            cert.signatures.retain(|s| keep.contains(&s.validator));
        }
        c
    });
    let err = refused(&mut client, &short, next);
    assert!(
        matches!(
            err,
            LightError::Certificate {
                height: 6,
                source: CertificateError::NoQuorum { .. }
            }
        ),
        "{err}"
    );

    // A certificate by a set that is not the chain's, of the real header and of a forged one.
    let (foreign, _) = strangers();
    let foreign_refs: Vec<&Keypair> = foreign.iter().collect();
    for forge in [false, true] {
        let source = Edited::headers(chain, |mut c| {
            if forge {
                c.signed_header.header.state_root.0[0] ^= 1;
            }
            let hash = c.signed_header.header.hash();
            c.certificate = Some(Certificate::sign(6, 0, hash, &foreign_refs));
            c
        });
        let err = refused(&mut client, &source, next);
        assert!(
            matches!(
                err,
                LightError::Certificate {
                    source: CertificateError::UnknownValidator(_),
                    ..
                }
            ),
            "{err}"
        );
    }

    // A forged precommit signature, and a header without any certificate.
    let bad_sig = Edited::headers(chain, |mut c| {
        if let Some(cert) = &mut c.certificate {
            cert.signatures[0].signature[5] ^= 1;
        }
        c
    });
    let err = refused(&mut client, &bad_sig, next);
    assert!(
        matches!(
            err,
            LightError::Certificate {
                source: CertificateError::BadSignature(_),
                ..
            }
        ),
        "{err}"
    );
    let uncertified = Edited::headers(chain, |mut c| {
        c.certificate = None;
        c
    });
    let err = refused(&mut client, &uncertified, next);
    assert_eq!(err, LightError::MissingCertificate { height: 6 });

    // Forged set proofs: the strangers' set claimed for a height with the real proof, the
    // set of another height, and a claim that the state holds no set.
    let (_, foreign_set) = strangers();
    let set_key = layout::valset_key(next + 2);
    let claims: [Box<dyn Fn(StateProof) -> StateProof + '_>; 3] = [
        Box::new(|mut p| {
            p.value = Some(foreign_set.encode());
            p
        }),
        Box::new(|_| {
            chain
                .prove(&layout::valset_key(next + 1), Some(next))
                .unwrap()
        }),
        Box::new(|mut p| {
            p.value = None;
            p
        }),
    ];
    for claim in &claims {
        let forged = Edited::proofs(chain, |key, _, p| if key == set_key { claim(p) } else { p });
        let err = refused(&mut client, &forged, next);
        assert!(
            matches!(
                err,
                LightError::WrongValidatorSet {
                    set_height: 8,
                    at: 6,
                    fault: SetFault::Proof(_)
                }
            ),
            "{err}"
        );
    }

    // Heights it cannot verify from what it trusts: past the window, or already behind it.
    let err = refused(&mut client, chain, 4 + 3);
    assert_eq!(
        err,
        LightError::OutsideWindow {
            height: 7,
            from: 5,
            to: 6
        }
    );
    let old = Step {
        signed_header: chain.header(3).unwrap().unwrap(),
        certificate: chain.certificate(3).unwrap().unwrap(),
        sets: vec![],
    };
    assert!(matches!(
        client.advance(&old),
        Err(LightError::OutsideWindow { height: 3, .. })
    ));
    // A node answering with another height than asked.
    let shifted = Edited::headers(chain, |c| {
        if c.signed_header.header.height == 6 {
            chain.certified_header(5).unwrap().unwrap()
        } else {
            c
        }
    });
    let err = refused(&mut client, &shifted, next);
    assert_eq!(
        err,
        LightError::WrongHeight {
            expected: 6,
            found: 5
        }
    );

    // After all that, the honest answers are accepted.
    client.step_to(chain, next).unwrap();
    client.follow(chain, 12).unwrap();
    assert_eq!(client.latest(), &chain.header(12).unwrap().unwrap().header);
}

/// A state holding only `writes`, with proofs of its keys: what a colluding supermajority
/// would certify.
fn forged_state(writes: StateWrites) -> (Store, [u8; 32]) {
    let store = Store::in_memory().unwrap();
    let staged = store.stage(writes).unwrap();
    let root = staged.root;
    store
        .commit(
            staged,
            &BlockRecord {
                height: 0,
                ..Default::default()
            },
        )
        .unwrap();
    (store, root)
}

#[test]
fn a_supermajority_signing_a_fork_is_caught_by_parent_links_and_trusted_sets() {
    let net = Network::run();
    let chain = &net.chains[0];
    let mut client = LightClient::from_genesis(&net.config).unwrap();
    client.follow(chain, 4).unwrap();
    let members = client.validator_set(5).unwrap().clone();
    let signers: Vec<&Keypair> = members
        .members
        .iter()
        .map(|m| net.key_of(&m.address))
        .collect();
    let real = chain.header(5).unwrap().unwrap();
    let proposer = net.key_of(&real.header.proposer);
    // Every validator of height 5 signs `header`; the proposer signs it too.
    let certify = |header: chainvm_runtime::block::Header| {
        let hash = header.hash();
        (
            SignedHeader::sign(header, proposer),
            Certificate::sign(5, 0, hash, &signers),
        )
    };

    // A header that does not extend the trusted header 4.
    let mut fork = real.header.clone();
    fork.parent_hash.0[0] ^= 1;
    let (signed_header, certificate) = certify(fork);
    let sets = (6..=7)
        .map(|h| chain.prove(&layout::valset_key(h), Some(5)).unwrap())
        .collect();
    let err = client
        .advance(&Step {
            signed_header,
            certificate,
            sets,
        })
        .unwrap_err();
    assert!(
        matches!(err, LightError::BadParentLink { height: 5, .. }),
        "{err}"
    );

    // A header on the trusted parent whose state gives height 6 (already fixed, and trusted)
    // another set: every proof verifies against its root, but the set is not the trusted one.
    let (_, foreign_set) = strangers();
    let writes: StateWrites = (6..=7)
        .map(|h| (layout::valset_key(h), Some(foreign_set.encode())))
        .collect();
    let (store, root) = forged_state(writes);
    let mut fork = real.header.clone();
    fork.state_root = chainvm_runtime::H256(root);
    let (signed_header, certificate) = certify(fork);
    let snap = store.snapshot().unwrap();
    let sets = (6..=7)
        .map(|h| {
            let (value, proof) = snap.prove(0, &layout::valset_key(h)).unwrap();
            StateProof {
                value,
                proof,
                root: chainvm_runtime::H256(root),
            }
        })
        .collect();
    let err = client
        .advance(&Step {
            signed_header,
            certificate,
            sets,
        })
        .unwrap_err();
    assert_eq!(
        err,
        LightError::WrongValidatorSet {
            set_height: 6,
            at: 5,
            fault: SetFault::Mismatch
        }
    );
    assert_eq!(client.latest().height, 4);
    // A proof against a trusted root for a value it does not hold is refused too.
    let key = layout::account_key(&dev_keys()[2].address());
    let mut other = chain
        .prove(&layout::account_key(&dev_keys()[3].address()), Some(4))
        .unwrap();
    assert!(matches!(
        client.verify_state(4, &key, &other),
        Err(LightError::StateProof { height: 4, .. })
    ));
    other.value = None;
    assert!(client.verify_state(4, &key, &other).is_err());
}

#[test]
fn a_genesis_it_cannot_trust_is_refused() {
    let net = Network::new();
    let mut config = net.config.clone();
    config.protocol_version = 1;
    assert!(matches!(
        LightClient::from_genesis(&config),
        Err(LightError::Genesis(_))
    ));
    let mut config = net.config.clone();
    config.params.validator_set_delay = chainvm_runtime::light::MAX_DELAY + 1;
    assert!(matches!(
        LightClient::from_genesis(&config),
        Err(LightError::Genesis(_))
    ));
    // Another genesis (another time) is another chain: block 1 does not link to it.
    let mut config = net.config.clone();
    config.timestamp += 1;
    let mut net = net;
    net.decide(&[]);
    let mut client = LightClient::from_genesis(&config).unwrap();
    assert!(matches!(
        client.follow(&net.chains[0], 1),
        Err(LightError::BadParentLink { height: 1, .. })
    ));
}
