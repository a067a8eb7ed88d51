"""gress: complex event processing and in-stream ML scoring for Python.

import gress_cep
program = gress_cep.compile("rules.gress")
for match in program.run({"payments": events}):
    ...
"""

from gress_cep.api import Program, compile
from gress_cep.dsl.errors import PatternError
from gress_cep.errors import GressError, GressWarning, UserError

__all__ = ["GressError", "GressWarning", "PatternError", "Program", "UserError", "compile"]
