//! Wire types of the Senim kiosk API (`/api/v1`), shared by the kiosk and the call-centre.
//!
//! Empty until the backend issue defines the API; both sides will depend on these types only,
//! never on each other.

/// The path prefix of the kiosk API.
pub const API_PREFIX: &str = "/api/v1";
