"""Paging people: what a page says, and the e-mail, SMS, voice and push providers carrying it."""
