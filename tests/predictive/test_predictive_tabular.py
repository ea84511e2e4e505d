from pathlib import Path

import numpy as np
import pytest

from leadbridge.core.errors import ScoringError
from leadbridge.scoring.predictive.csv_training import train_csv
from leadbridge.scoring.predictive.dataset import TrainingDataError
from leadbridge.scoring.predictive.tabular import TabularEncoder, TabularFrame, read_csv


def test_select_is_missing_and_types_are_inferred(leads_csv: Path) -> None:
    frame = TabularFrame.from_table(read_csv(leads_csv), target="Converted", positive="1")
    assert "Minutes" in frame.numeric
    assert set(frame.categorical) == {"Lead Source", "Occupation", "Tags", "Created"}
    occupation = frame.categorical["Occupation"]
    assert None in set(occupation.tolist())
    assert "Select" not in set(occupation.tolist())
    assert frame.dropped["Prospect ID"] == "identifier"


def test_semicolon_and_decimal_comma(tmp_path: Path, leads_csv_maker) -> None:
    path = leads_csv_maker(tmp_path / "eu.csv", sep=";")
    frame = TabularFrame.from_table(read_csv(path, sep=";"), target="Converted", positive="1")
    assert np.nanmax(frame.numeric["Minutes"]) > 1.0
    assert not np.isnan(frame.numeric["Minutes"]).all()


def test_encoder_roundtrips_through_json(leads_csv: Path) -> None:
    table = read_csv(leads_csv)
    frame = TabularFrame.from_table(table, target="Converted", positive="1")
    rows = np.arange(frame.n_rows, dtype=np.int64)
    encoder = TabularEncoder.fit(frame, rows, min_count=5)
    again = TabularEncoder.model_validate_json(encoder.model_dump_json())
    a = encoder.encode_frame(frame, rows)
    b = again.encode_table(table)
    np.testing.assert_array_equal(np.nan_to_num(a, nan=-1), np.nan_to_num(b, nan=-1))
    assert "Lead Source=Referral" in encoder.feature_names()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "Nope", "positive": "1"}, "target column 'Nope' not found"),
        ({"target": "Converted", "positive": "yes"}, "no row has Converted='yes'"),
        (
            {"target": "Converted", "positive": "1", "exclude": ["Converted"]},
            "the target 'Converted' is in the exclude list",
        ),
        ({"target": "Converted", "positive": "1", "exclude": ["Ghost"]}, "not found: Ghost"),
        (
            {"target": "Converted", "positive": "1", "time_column": "Lead Source"},
            "is not a date",
        ),
    ],
)
def test_bad_training_input_fails_with_one_line(
    leads_csv: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TrainingDataError) as info:
        train_csv(leads_csv, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ScoringError)


def test_single_class_target(csv_factory) -> None:
    rows = [[str(i), "a" if i % 2 else "b", "0"] for i in range(50)]
    path = csv_factory("one.csv", ["x", "c", "y"], rows)
    with pytest.raises(TrainingDataError, match="single class"):
        train_csv(path, target="y", positive="0")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("a,b\n1,2\n3,4,5,6\n", "row 3 has 4 fields"),
        ("a;b;c\n1;2;3\n", "header has 1 column"),
        ('a,b\n"1,2\n', "unparseable CSV"),
    ],
)
def test_unparseable_csv(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message):
        read_csv(path)


def test_missing_file_and_binary(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="file not found"):
        read_csv(tmp_path / "nope.csv")
    blob = tmp_path / "blob.csv"
    blob.write_bytes(b"\xff\xfe\x00\x81\x82")
    with pytest.raises(TrainingDataError, match="not utf-8-sig text"):
        read_csv(blob)
