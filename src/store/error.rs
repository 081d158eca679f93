//! Errors of the store.

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint: the label is taken for this tenant.
    #[error("label already used")]
    LabelTaken,
    /// A unique constraint: the record exists.
    #[error("record already exists")]
    Duplicate,
    /// An idempotency key's lease passed to another attempt (a retry took it over) before
    /// this one bound its record: nothing was written.
    #[error("the idempotency key was taken over by a retry")]
    LeaseLost,
    /// The database cannot be reached (connection lost, pool exhausted, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value is not what the schema promises.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Sorts a raw sqlx error into what callers can act on.
    pub fn classify(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                let text = format!("{} {}", db.constraint().unwrap_or(""), db.message());
                if text.contains("label") {
                    StoreError::LabelTaken
                } else {
                    StoreError::Duplicate
                }
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Database(e),
        }
    }
}
