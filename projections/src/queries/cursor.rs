//! Opaque cursors: the sort key of a page's last item, base64url-encoded so that clients treat it
//! as a token rather than build their own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::QueryError;

pub(super) fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// The key inside `cursor`, split at `:` into exactly `N` parts.
pub(super) fn decode<const N: usize>(cursor: &str) -> Result<[String; N], QueryError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| QueryError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| QueryError::InvalidCursor)?;
    let parts: Vec<String> = text.splitn(N, ':').map(str::to_owned).collect();
    parts.try_into().map_err(|_| QueryError::InvalidCursor)
}
