"""The service looking after itself: notifications (in-app and e-mail), deadline notices,
and incidents (background jobs that failed after their last retry)."""
