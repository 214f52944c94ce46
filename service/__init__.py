"""The BentoML HTTP service over the stance and sentiment classifier.

Example:
    bentoml serve service.service:StanceService --port 3000
"""
