"""ONNX models in the stream: loading, checking against declarations, scoring with A/B and shadows.

The `score` view operator itself lives in `gress_cep.operators.score`.
"""

from gress_cep.models.check import check_model
from gress_cep.models.scorer import Scorer
from gress_cep.models.session import ModelLoadError, OnnxModel, load_session
from gress_cep.models.stats import VariantStats

__all__ = ["ModelLoadError", "OnnxModel", "Scorer", "VariantStats", "check_model", "load_session"]
