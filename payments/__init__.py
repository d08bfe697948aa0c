"""Payment providers (Stripe). Lands with the payment issue."""
