"""Organizers' posts and their coupons."""
