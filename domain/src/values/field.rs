//! The common face of every value object's error, so the API layer can turn any of them into its
//! `{"error": {"code", "message", "field"}}` body in one place.

/// An error about one input field. `Display` is the human message.
pub trait FieldError: std::error::Error {
    /// The field the error concerns, as the API names it (`"slug"`, `"name"`, `"plan"`, …).
    /// A caller that received the value under another name (e.g. `admin_email`) may say so instead.
    fn field(&self) -> &'static str;

    /// A stable, machine-readable code (`"invalid_slug"`, `"reserved_slug"`, `"unknown_plan"`, …).
    fn code(&self) -> &'static str;
}
