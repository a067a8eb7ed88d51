"""Tests of ONNX models in the stream: loading, checking, scoring, A/B, shadow, `gress score`."""
