"""The insights service: weekly analysis, relationship summaries and questions in plain language."""
