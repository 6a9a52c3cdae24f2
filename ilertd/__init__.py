"""ilertd: self-hosted alerting, on-call and incident response, compatible with ilert."""

__version__ = "0.1.0"
