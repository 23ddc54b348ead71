"""The loopback server's /v1/embeddings, through the real ``openai`` client."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from evolinstruct.offline.embeddings import HashedEmbedder


@pytest.fixture
def client(loopback_llm):
    with openai.OpenAI(base_url=loopback_llm.base_url, api_key="sk-loopback", max_retries=0) as client:
        yield client


def vectors(response) -> np.ndarray:
    return np.array([item.embedding for item in sorted(response.data, key=lambda item: item.index)])


def test_the_same_text_gets_the_same_vector_and_similar_texts_similar_vectors(client, loopback_llm):
    texts = [
        "Write a Java code to find a largest number in an array",
        "Write a Java code to find the largest number in an array.",
        "Explain how photosynthesis turns light into chemical energy",
        "Write a Java code to find a largest number in an array",
    ]
    # The client's default asks for base64 (float32 bytes); the float form is asked for here.
    default = vectors(client.embeddings.create(model="offline-embed", input=texts))
    floats = vectors(client.embeddings.create(model="offline-embed", input=texts, encoding_format="float"))
    assert default.shape == (4, 256) and floats.shape == (4, 256)
    assert np.allclose(default, floats, atol=1e-7)  # float32 on the wire, so equal to float32 precision
    assert np.allclose(np.linalg.norm(floats, axis=1), 1.0)
    assert np.array_equal(floats[0], floats[3])
    assert floats[0] @ floats[1] > 0.85 > 0.3 > floats[0] @ floats[2]
    # A second request, alone, gets the very same vector: nothing depends on the batch or order.
    again = vectors(client.embeddings.create(model="offline-embed", input=texts[1], encoding_format="float"))
    assert np.array_equal(again[0], floats[1])
    assert np.array_equal(floats, HashedEmbedder().embed_many(texts))
    logged = [r for r in loopback_llm.requests if r.body.get("input") is not None]
    assert len(logged) == 3 and all(r.status == 200 for r in logged)


def test_dimensions_model_and_usage_are_answered(client):
    response = client.embeddings.create(model="my-embedder", input=["one text", "another"], dimensions=64)
    assert response.model == "my-embedder"
    assert vectors(response).shape == (2, 64)
    assert response.usage.prompt_tokens == response.usage.total_tokens > 0


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"input": ""}, "'input' [0] is empty"),
        ({"input": []}, "'input' must be a string or a non-empty list of strings"),
        ({"input": [[1, 2, 3]]}, "token arrays are not supported"),
        ({"input": "text", "dimensions": 0}, "'dimensions' must be an integer from 1 to 4096"),
    ],
)
def test_a_request_without_an_answer_is_a_400_naming_the_field(client, arguments, message):
    with pytest.raises(openai.BadRequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        client.embeddings.create(model="offline-embed", **arguments)
