//! [`WireCodec`]: Malachite's `Codec` for every message chainvm's engine sends or logs
//! (consensus votes and proposals, liveness certificates, proposal parts, validator proofs,
//! sync status/requests/responses, WAL entries), as borsh of the shapes in [`super::wire`].
//! Each kind has a size cap checked before decoding, and errors are typed.

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};

use super::context::ChainvmContext;
use super::types::ProposalPart;
use super::wire::{
    WireConsensusMsg, WireError, WireLiveness, WirePart, WirePolka, WireProof, WireProposedValue,
    WireRequest, WireResponse, WireStatus, WireStreamMsg,
};

type Ctx = ChainvmContext;

/// Largest vote, proposal, status, request or validator proof (they are fixed-size, < 300 B).
pub const MAX_SMALL_MSG: usize = 4 * 1024;
/// Largest proposal part or stream message: one data chunk plus framing.
pub const MAX_PART_MSG: usize = super::streaming::CHUNK_SIZE + 1024;
/// Largest certificate message (polka, skip round): ~100 B per validator.
pub const MAX_CERT_MSG: usize = 1024 * 1024;
/// Largest sync response: a batch of encoded blocks with their certificates.
pub const MAX_SYNC_RESPONSE: usize = 64 * 1024 * 1024;

/// Why a message does not encode or decode.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The input is over the cap for its kind (checked before any parsing).
    #[error("{kind} of {len} bytes is over the {max}-byte cap")]
    TooLarge {
        /// The message kind.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not borsh of the expected shape (or trailing bytes).
    #[error("malformed {kind}: {source}")]
    Malformed {
        /// The message kind.
        kind: &'static str,
        /// borsh's reason.
        source: std::io::Error,
    },
    /// Well-formed bytes with an invalid field.
    #[error("invalid {kind}: {source}")]
    Invalid {
        /// The message kind.
        kind: &'static str,
        /// The field's fault.
        source: WireError,
    },
}

/// The one codec of a chainvm node, for the network, sync and the WAL.
#[derive(Clone, Copy, Debug, Default)]
pub struct WireCodec;

fn decode_capped<W: BorshDeserialize>(
    kind: &'static str,
    max: usize,
    bytes: &[u8],
) -> Result<W, CodecError> {
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            kind,
            len: bytes.len(),
            max,
        });
    }
    borsh::from_slice(bytes).map_err(|source| CodecError::Malformed { kind, source })
}

fn encode_capped<W: BorshSerialize>(
    kind: &'static str,
    max: usize,
    wire: &W,
) -> Result<Bytes, CodecError> {
    let bytes = borsh::to_vec(wire).map_err(|source| CodecError::Malformed { kind, source })?;
    if bytes.len() > max {
        return Err(CodecError::TooLarge {
            kind,
            len: bytes.len(),
            max,
        });
    }
    Ok(Bytes::from(bytes))
}

fn invalid(kind: &'static str) -> impl Fn(WireError) -> CodecError {
    move |source| CodecError::Invalid { kind, source }
}

/// Implements `Codec<$t>` through the wire shape `$w` (`From<&$t>` one way, `TryFrom` back).
macro_rules! wire_codec {
    ($t:ty, $w:ty, $kind:literal, $max:expr) => {
        impl Codec<$t> for WireCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$t, CodecError> {
                let wire: $w = decode_capped($kind, $max, &bytes)?;
                <$t>::try_from(wire).map_err(invalid($kind))
            }

            fn encode(&self, msg: &$t) -> Result<Bytes, CodecError> {
                encode_capped($kind, $max, &<$w>::from(msg))
            }
        }
    };
}

wire_codec!(
    SignedConsensusMsg<Ctx>,
    WireConsensusMsg,
    "consensus message",
    MAX_SMALL_MSG
);
wire_codec!(
    LivenessMsg<Ctx>,
    WireLiveness,
    "liveness message",
    MAX_CERT_MSG
);
wire_codec!(ProposalPart, WirePart, "proposal part", MAX_PART_MSG);
wire_codec!(
    StreamMessage<ProposalPart>,
    WireStreamMsg,
    "stream message",
    MAX_PART_MSG
);
wire_codec!(
    PolkaCertificate<Ctx>,
    WirePolka,
    "polka certificate",
    MAX_CERT_MSG
);
wire_codec!(Status<Ctx>, WireStatus, "sync status", MAX_SMALL_MSG);
wire_codec!(
    ProposedValue<Ctx>,
    WireProposedValue,
    "proposed value",
    MAX_SMALL_MSG
);

impl Codec<ValidatorProof<Ctx>> for WireCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<Ctx>, CodecError> {
        let wire: WireProof = decode_capped("validator proof", MAX_SMALL_MSG, &bytes)?;
        Ok(wire.into())
    }

    fn encode(&self, msg: &ValidatorProof<Ctx>) -> Result<Bytes, CodecError> {
        encode_capped("validator proof", MAX_SMALL_MSG, &WireProof::from(msg))
    }
}

impl Codec<Request<Ctx>> for WireCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Request<Ctx>, CodecError> {
        let wire: WireRequest = decode_capped("sync request", MAX_SMALL_MSG, &bytes)?;
        Ok(wire.into())
    }

    fn encode(&self, msg: &Request<Ctx>) -> Result<Bytes, CodecError> {
        encode_capped("sync request", MAX_SMALL_MSG, &WireRequest::from(msg))
    }
}

impl Codec<Response<Ctx>> for WireCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<Ctx>, CodecError> {
        let wire: WireResponse = decode_capped("sync response", MAX_SYNC_RESPONSE, &bytes)?;
        Response::try_from(wire).map_err(invalid("sync response"))
    }

    fn encode(&self, msg: &Response<Ctx>) -> Result<Bytes, CodecError> {
        let wire = WireResponse::try_from(msg).map_err(invalid("sync response"))?;
        encode_capped("sync response", MAX_SYNC_RESPONSE, &wire)
    }
}

impl HasEncodedLen<Response<Ctx>> for WireCodec {
    fn encoded_len(&self, msg: &Response<Ctx>) -> Result<usize, CodecError> {
        let wire = WireResponse::try_from(msg).map_err(invalid("sync response"))?;
        borsh::object_length(&wire).map_err(|source| CodecError::Malformed {
            kind: "sync response",
            source,
        })
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
