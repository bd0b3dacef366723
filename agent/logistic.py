"""Logistic regression as Rafiq's learned layers use it: weights fitted offline, shipped as
JSON inside the package, applied with numpy (no scikit-learn at run time)."""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Logistic:
    """A logistic regression over standardised features."""

    weights: Matrix
    bias: float
    mean: Matrix
    scale: Matrix

    def probabilities(self, features: Matrix) -> Matrix:
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(float(m), 6) for m in self.mean],
            "scale": [round(float(s), 6) for s in self.scale],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Logistic:
        return cls(
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
        )


def packaged_json(name: str) -> dict[str, Any]:
    """A fitted model shipped beside the agent's code (``agent/<name>``)."""
    source = importlib.resources.files("agent") / name
    data = json.loads(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a JSON object")
    return data
