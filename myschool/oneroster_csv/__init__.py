"""Import of OneRoster 1.1 CSV bundles into the school domain (``import_oneroster_csv``)."""

from .bundle import BundleError, ImportProblem, read_bundle
from .plan import copy_id, plan_import
from .writer import ImportResult, import_oneroster_csv

__all__ = ["BundleError", "ImportProblem", "ImportResult", "copy_id", "import_oneroster_csv", "plan_import", "read_bundle"]
