//! A block as a stream of proposal parts (Init, data chunks, Fin with the proposer's
//! signature) and the reassembly of streams that peers publish, possibly out of order and
//! relayed by several neighbours, with caps on what a peer can make a node hold.

use std::collections::BTreeMap;

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::core::Round;

use super::signing::{Ed25519Signer, SignBytesError, parts_signing_bytes};
use super::types::{Height, PartInit, ProposalPart, Signature};
use chainvm_runtime::H256;
use chainvm_runtime::types::keccak;

/// Size of a data chunk of a streamed block.
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Largest encoded block a stream may carry.
pub const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;
/// Most streams held incomplete at once (across peers); the oldest is dropped past it.
pub const MAX_OPEN_STREAMS: usize = 64;

/// A block's parts, in order: `Init`, `Data`…, `Fin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockParts {
    /// Who proposed it, where.
    pub init: PartInit,
    /// The encoded block, in chunks.
    pub chunks: Vec<Bytes>,
    /// The proposer's signature over `init` and the block bytes.
    pub fin: Signature,
}

impl BlockParts {
    /// Splits and signs an encoded block proposed by `signer`.
    pub fn sign(
        signer: &Ed25519Signer,
        height: Height,
        round: Round,
        pol_round: Round,
        block: &[u8],
    ) -> Result<BlockParts, SignBytesError> {
        let init = PartInit {
            height,
            round,
            pol_round,
            proposer: signer.address(),
        };
        let bytes = parts_signing_bytes(height, round, pol_round, &init.proposer, &keccak(block))?;
        let fin = signer.sign_bytes(&bytes);
        let chunks = block
            .chunks(CHUNK_SIZE)
            .map(Bytes::copy_from_slice)
            .collect();
        Ok(BlockParts { init, chunks, fin })
    }

    /// The encoded block.
    pub fn block_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.chunks.iter().map(Bytes::len).sum());
        for c in &self.chunks {
            out.extend_from_slice(c);
        }
        out
    }

    /// keccak of the encoded block (what the Fin signature covers).
    pub fn data_hash(&self) -> H256 {
        keccak(&self.block_bytes())
    }

    /// The parts as a list.
    pub fn parts(&self) -> Vec<ProposalPart> {
        let mut parts = Vec::with_capacity(self.chunks.len() + 2);
        parts.push(ProposalPart::Init(self.init.clone()));
        parts.extend(self.chunks.iter().cloned().map(ProposalPart::Data));
        parts.push(ProposalPart::Fin(self.fin));
        parts
    }

    /// The parts from a list; `None` unless it is `Init`, `Data`…, `Fin`.
    pub fn from_parts(parts: Vec<ProposalPart>) -> Option<BlockParts> {
        let mut iter = parts.into_iter();
        let Some(ProposalPart::Init(init)) = iter.next() else {
            return None;
        };
        let mut chunks = Vec::new();
        for part in iter {
            match part {
                ProposalPart::Data(d) => chunks.push(d),
                ProposalPart::Fin(fin) => {
                    return Some(BlockParts { init, chunks, fin });
                }
                ProposalPart::Init(_) => return None,
            }
        }
        None
    }

    /// The stream messages that publish these parts under `stream_id`, ending with the
    /// stream's own end marker.
    pub fn stream(&self, stream_id: &StreamId) -> Vec<StreamMessage<ProposalPart>> {
        let mut msgs: Vec<StreamMessage<ProposalPart>> = self
            .parts()
            .into_iter()
            .enumerate()
            .map(|(i, p)| StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(p)))
            .collect();
        let end = msgs.len() as u64;
        msgs.push(StreamMessage::new(
            stream_id.clone(),
            end,
            StreamContent::Fin,
        ));
        msgs
    }
}

/// A stream id unique to (height, round, publisher, nonce): the nonce tells restreams apart.
pub fn stream_id(height: Height, round: Round, publisher: &[u8], nonce: u64) -> StreamId {
    let mut bytes = Vec::with_capacity(8 + 8 + publisher.len() + 8);
    bytes.extend_from_slice(&height.0.to_be_bytes());
    bytes.extend_from_slice(&round.as_i64().to_be_bytes());
    bytes.extend_from_slice(publisher);
    bytes.extend_from_slice(&nonce.to_be_bytes());
    StreamId::new(Bytes::from(bytes))
}

struct OpenStream {
    opened: u64,
    bytes: usize,
    /// Sequence -> content; `None` is the end marker.
    msgs: BTreeMap<u64, Option<ProposalPart>>,
    end: Option<u64>,
}

/// Incomplete streams by (publisher, stream id).
#[derive(Default)]
pub struct PartStreams {
    open: BTreeMap<(PeerId, StreamId), OpenStream>,
    counter: u64,
}

impl PartStreams {
    /// Adds one message; returns the block's parts once its stream is complete. A message
    /// that repeats a sequence, lies past the end, or would take the stream over
    /// [`MAX_STREAM_BYTES`] drops the stream.
    pub fn insert(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Option<BlockParts> {
        let key = (publisher, msg.stream_id.clone());
        if !self.open.contains_key(&key) && self.open.len() >= MAX_OPEN_STREAMS {
            self.evict_oldest();
        }
        self.counter += 1;
        let opened = self.counter;
        let stream = self.open.entry(key.clone()).or_insert_with(|| OpenStream {
            opened,
            bytes: 0,
            msgs: BTreeMap::new(),
            end: None,
        });
        let size = match &msg.content {
            StreamContent::Data(ProposalPart::Data(d)) => d.len(),
            _ => 0,
        };
        let past_end = stream.end.is_some_and(|end| msg.sequence > end);
        let repeated = stream.msgs.contains_key(&msg.sequence);
        stream.bytes = stream.bytes.saturating_add(size);
        if repeated || past_end || stream.bytes > MAX_STREAM_BYTES {
            if repeated {
                // A relayed duplicate: harmless, keep the stream.
                stream.bytes -= size;
                return None;
            }
            self.open.remove(&key);
            return None;
        }
        if msg.content.is_fin() {
            let higher = stream
                .msgs
                .keys()
                .next_back()
                .is_some_and(|&s| s > msg.sequence);
            if higher || stream.end.is_some() {
                self.open.remove(&key);
                return None;
            }
            stream.end = Some(msg.sequence);
        }
        stream.msgs.insert(msg.sequence, msg.content.into_data());
        let end = stream.end?;
        if stream.msgs.len() as u64 != end + 1 {
            return None;
        }
        let stream = self.open.remove(&key)?;
        let parts: Vec<ProposalPart> = stream.msgs.into_values().flatten().collect();
        BlockParts::from_parts(parts)
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, s)| s.opened)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.open.remove(&k);
        }
    }

    /// Number of incomplete streams held.
    #[cfg(test)]
    pub fn open_streams(&self) -> usize {
        self.open.len()
    }
}

/// A peer id for tests (the identity multihash of a fixed ed25519 key).
#[cfg(test)]
pub fn test_peer(n: u8) -> PeerId {
    let mut seed = [n; 32];
    let key = malachitebft_app_channel::app::types::Keypair::ed25519_from_bytes(&mut seed)
        .expect("a 32-byte seed is a key");
    PeerId::from_bytes(&key.public().to_peer_id().to_bytes()).expect("a libp2p peer id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainvm_runtime::Keypair;

    fn parts(len: usize) -> (Ed25519Signer, BlockParts, Vec<u8>) {
        let signer = Ed25519Signer::new(Keypair::derive("s", 0));
        let block: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let p = BlockParts::sign(&signer, Height(2), Round::new(0), Round::Nil, &block).unwrap();
        (signer, p, block)
    }

    #[test]
    fn out_of_order_duplicated_stream_reassembles_once() {
        let (_, p, block) = parts(CHUNK_SIZE * 2 + 17);
        assert_eq!(p.chunks.len(), 3);
        let id = stream_id(Height(2), Round::new(0), b"me", 0);
        let mut msgs = p.stream(&id);
        msgs.reverse();
        let dup = msgs[1].clone();
        msgs.insert(2, dup);
        let peer = test_peer(1);
        let mut streams = PartStreams::default();
        let mut done = Vec::new();
        for m in msgs {
            if let Some(b) = streams.insert(peer, m) {
                done.push(b);
            }
        }
        assert_eq!(done.len(), 1);
        assert_eq!(done[0], p);
        assert_eq!(done[0].block_bytes(), block);
        assert_eq!(streams.open_streams(), 0);
    }

    #[test]
    fn a_part_past_the_end_drops_the_stream() {
        let (_, p, _) = parts(10);
        let id = stream_id(Height(2), Round::new(0), b"me", 0);
        let msgs = p.stream(&id);
        let end = msgs.last().unwrap().clone();
        let peer = test_peer(1);
        let mut streams = PartStreams::default();
        assert!(streams.insert(peer, end).is_none());
        let late = StreamMessage::new(
            id,
            99,
            StreamContent::Data(ProposalPart::Data(Bytes::new())),
        );
        assert!(streams.insert(peer, late).is_none());
        assert_eq!(streams.open_streams(), 0);
    }

    #[test]
    fn open_streams_are_capped() {
        let peer = test_peer(1);
        let mut streams = PartStreams::default();
        for n in 0..(MAX_OPEN_STREAMS as u64 + 10) {
            let id = stream_id(Height(2), Round::new(0), b"x", n);
            let m =
                StreamMessage::new(id, 1, StreamContent::Data(ProposalPart::Data(Bytes::new())));
            assert!(streams.insert(peer, m).is_none());
        }
        assert_eq!(streams.open_streams(), MAX_OPEN_STREAMS);
    }

    #[test]
    fn parts_list_shape_is_enforced() {
        let (_, p, _) = parts(5);
        assert_eq!(BlockParts::from_parts(p.parts()), Some(p.clone()));
        let mut no_fin = p.parts();
        no_fin.pop();
        assert_eq!(BlockParts::from_parts(no_fin), None);
        let mut two_inits = p.parts();
        two_inits.insert(1, ProposalPart::Init(p.init.clone()));
        assert_eq!(BlockParts::from_parts(two_inits), None);
    }
}
