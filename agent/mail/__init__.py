"""Mail: the customer's invoice through the shop's SMTP, and alerts to the owner."""
