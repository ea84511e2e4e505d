import numpy as np
import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.extraction import Extractor
from leadbridge.scoring.extraction.corpus import generate
from leadbridge.scoring.extraction.model import LinearModel
from leadbridge.scoring.extraction.training import train


def test_generator_is_deterministic_and_spans_are_aligned():
    a, b = generate(300, seed=11), generate(300, seed=11)
    assert [e.text for e in a] == [e.text for e in b]
    assert [e.text for e in a] != [e.text for e in generate(300, seed=12)]
    assert {e.lang for e in a} == {"fr", "it", "de", "en"}
    for ex in a:
        for span in ex.spans:
            assert 0 <= span.start < span.end <= len(ex.text)


def test_training_is_deterministic_and_round_trips(tmp_path):
    first = train(n=500, seed=5, out=tmp_path / "a.npz")
    second = train(n=500, seed=5, out=tmp_path / "b.npz")
    assert np.array_equal(first.model.amount.weights, second.model.amount.weights)
    assert np.array_equal(first.model.mention.bias, second.model.mention.bias)
    loaded = LinearModel.load(tmp_path / "a.npz")
    assert np.allclose(loaded.amount.weights, first.model.amount.weights)
    assert loaded.meta["generator_seed"] == 5
    small = Extractor(loaded)
    assert small.extract("je cherche un prêt de 200 000 €").fields  # a usable model


def test_unreadable_model_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ConfigError):
        LinearModel.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ConfigError):
        LinearModel.load(tmp_path / "other.npz")


def test_phrasebook_is_checked_when_loaded(tmp_path):
    from leadbridge.scoring.extraction.phrasebook import PHRASEBOOK, load_phrasebook

    assert set(PHRASEBOOK) == {"fr", "it", "de", "en"}
    broken = tmp_path / "book.toml"
    broken.write_text('[fr]\ngreet = ["Bonjour"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="missing"):
        load_phrasebook(broken)
    broken.write_text("[fr]\ngreet = []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="non-empty"):
        load_phrasebook(broken)
