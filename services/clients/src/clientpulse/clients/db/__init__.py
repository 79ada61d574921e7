"""The clients service's tables and repositories (the only code here that speaks SQL)."""
