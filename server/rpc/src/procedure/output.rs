//! A procedure's output, serialized to JSON once: any `Serialize + Type` value, or bytes
//! serialized earlier ([`Encoded`]) that are never serialized again.

use bytes::Bytes;
use serde::Serialize;
use specta::Type;

use crate::error::RpcError;

/// A procedure's output: serialized to JSON once.
///
/// Implemented for every `Serialize + Type` value, and for [`Encoded`], which carries bytes that
/// were serialized earlier (for example by a response cache) so they are never re-serialized.
pub trait Output: Send + 'static {
    /// The type exported to TypeScript.
    type Exported: Type;
    /// The JSON text of this output.
    fn encode(self) -> Result<Payload, RpcError>;
}

/// A procedure's serialized output, with a hash of its content when the producer already knows
/// one (so HTTP revalidation never has to hash large payloads per request).
#[derive(Debug, Clone)]
pub struct Payload {
    /// The output as JSON text.
    pub json: Bytes,
    /// A 64-bit hash (xxh3) identifying the content, if known.
    pub hash: Option<u64>,
}

impl<T: Serialize + Type + Send + 'static> Output for T {
    type Exported = T;
    fn encode(self) -> Result<Payload, RpcError> {
        let json = serde_json::to_vec(&self).map_err(RpcError::internal)?;
        Ok(Payload {
            json: Bytes::from(json),
            hash: None,
        })
    }
}

/// JSON bytes already serialized from a `T`: returned as they are, typed as `T` for bindings.
#[derive(Debug, Clone)]
pub struct Encoded<T> {
    bytes: Bytes,
    hash: Option<u64>,
    _type: std::marker::PhantomData<fn() -> T>,
}

impl<T: Serialize> Encoded<T> {
    /// Serializes `value` once.
    pub fn new(value: &T) -> Result<Self, RpcError> {
        let bytes = serde_json::to_vec(value).map_err(RpcError::internal)?;
        Ok(Self::from_bytes(Bytes::from(bytes)))
    }
}

impl<T> Encoded<T> {
    /// Wraps bytes known to be the JSON of a `T`.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self {
            bytes,
            hash: None,
            _type: std::marker::PhantomData,
        }
    }

    /// Wraps bytes known to be the JSON of a `T`, with the xxh3 hash of those bytes (or any
    /// 64-bit value that changes whenever they do).
    pub fn with_hash(bytes: Bytes, hash: u64) -> Self {
        Self {
            hash: Some(hash),
            ..Self::from_bytes(bytes)
        }
    }

    /// The JSON bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl<T: Type + 'static> Output for Encoded<T> {
    type Exported = T;
    fn encode(self) -> Result<Payload, RpcError> {
        Ok(Payload {
            json: self.bytes,
            hash: self.hash,
        })
    }
}
