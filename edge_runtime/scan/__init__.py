"""``eyegrad scan``: large collections into a resumable results file, on a local pool or Ray."""
from .runner import scan
from .sources import list_paths
from .store import results_file
from .summary import Summary

__all__ = ["scan", "list_paths", "results_file", "Summary"]
