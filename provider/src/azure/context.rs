//! Per-operation context: cancellation (Terraform's StopProvider) and a deadline (the resource's
//! `timeouts` value). Every wait in the client goes through [`OpContext::sleep`] or
//! [`OpContext::run`], so a stop or a timeout ends the operation promptly.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::AzureError;

/// Cancellation and deadline of one Terraform operation.
#[derive(Debug, Clone)]
pub struct OpContext {
    cancel: CancellationToken,
    deadline: Instant,
    timeout: Duration,
}

impl OpContext {
    /// An operation that may take `timeout` and stops when `cancel` fires.
    pub fn new(cancel: CancellationToken, timeout: Duration) -> Self {
        OpContext {
            cancel,
            deadline: Instant::now() + timeout,
            timeout,
        }
    }

    /// An operation with a fresh token (tests, one-shot tools).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::new(CancellationToken::new(), timeout)
    }

    /// The cancellation token.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Fails fast if the operation was cancelled or is out of time.
    pub fn check(&self) -> Result<(), AzureError> {
        if self.cancel.is_cancelled() {
            return Err(AzureError::Cancelled);
        }
        if Instant::now() >= self.deadline {
            return Err(AzureError::Timeout(self.timeout));
        }
        Ok(())
    }

    /// Runs `fut` unless cancelled or timed out first.
    pub async fn run<T>(
        &self,
        fut: impl Future<Output = Result<T, AzureError>>,
    ) -> Result<T, AzureError> {
        self.check()?;
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(AzureError::Cancelled),
            _ = tokio::time::sleep_until(self.deadline) => Err(AzureError::Timeout(self.timeout)),
            r = fut => r,
        }
    }

    /// Sleeps `d`, or less if cancelled or out of time (then returns the error).
    pub async fn sleep(&self, d: Duration) -> Result<(), AzureError> {
        self.run(async {
            tokio::time::sleep(d).await;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_interrupts_sleep() {
        let ctx = OpContext::with_timeout(Duration::from_secs(3600));
        let c = ctx.cancel_token().clone();
        let h = tokio::spawn(async move { ctx.sleep(Duration::from_secs(3600)).await });
        c.cancel();
        assert!(matches!(h.await.unwrap(), Err(AzureError::Cancelled)));
    }

    #[tokio::test]
    async fn deadline_interrupts_sleep() {
        let ctx = OpContext::with_timeout(Duration::from_millis(20));
        let r = ctx.sleep(Duration::from_secs(3600)).await;
        assert!(matches!(r, Err(AzureError::Timeout(_))), "{r:?}");
    }
}
