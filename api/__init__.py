"""FastAPI service: customer, adviser, admin and QA routes."""
