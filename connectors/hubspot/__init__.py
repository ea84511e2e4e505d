"""HubSpot connector on the official hubspot-api-client."""
