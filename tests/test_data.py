"""The data layer: catalog, streaming download, cache, mirror, CSV, split and scale.

No test touches the network: downloads go to an http.server started on
127.0.0.1 and pointed at with NSLIB_<NAME>_URL, serving generated files.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import socket
import threading
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets._covtype import ARCHIVE as SKLEARN_COVTYPE
from synthetic import covtype_like, csv_text, higgs_like, spambase_like

from nslib.core.paths import PROJECT_ROOT
from nslib.data import catalog, fetch
from nslib.data import datasets as data
from nslib.data.catalog import DataError, RowShortfallWarning

# The offline mirror CI uses: NSLIB_DATA_MIRROR, or shared/data beside the clone.
REAL_MIRROR = Path(os.environ.get("NSLIB_DATA_MIRROR") or PROJECT_ROOT.parent / "shared" / "data")
HAS_REAL_MIRROR = (REAL_MIRROR / "SHA256SUMS").is_file()


# --------------------------------------------------------------------------- helpers


class FileServer:
    """A local HTTP server for generated files that counts requests and bytes sent."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}  # name -> bytes sent before the connection drops
        self.requests: list[str] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def setup(self):
                super().setup()
                # A small send buffer keeps "bytes sent" close to what the client really read.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)

            def do_GET(self):
                name = self.path.lstrip("/")
                server.requests.append(name)
                body = server.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                body = body[: server.cut.get(name, len(body))]
                try:
                    for start in range(0, len(body), 1 << 16):
                        piece = body[start : start + (1 << 16)]
                        self.wfile.write(piece)
                        with server._lock:
                            server.bytes_sent += len(piece)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading: what streaming is for

            def log_message(self, *args):
                pass

        return Handler


def sha256(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def cache_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test gets an empty download cache and no mirror, URL or checksum overrides."""
    monkeypatch.setenv("NSLIB_DATA_HOME", str(tmp_path / "raw"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for variable in ("NSLIB_DATA_MIRROR", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    for name in catalog.known_names():
        monkeypatch.delenv(f"NSLIB_{name}_URL", raising=False)
        monkeypatch.delenv(f"NSLIB_{name}_SHA256", raising=False)
    return tmp_path / "raw"


@pytest.fixture
def server():
    serving = FileServer()
    yield serving
    serving.close()


@pytest.fixture(scope="module")
def big_higgs():
    """A HIGGS-like gzip of ~30 MB of text: a 4,000-row block repeated, compressed fast."""
    block = higgs_like(4000, seed=1)
    text = csv_text(block) * 25
    return block, gzip.compress(text, compresslevel=1), len(text)


def serve(server, monkeypatch, name: str, file_name: str, blob: bytes, *, sha: bool = True) -> None:
    """Serve ``blob`` as data set ``name``'s URL (and expect its sha256 where one is checked)."""
    server.files[file_name] = blob
    monkeypatch.setenv(f"NSLIB_{name}_URL", server.url(file_name))
    if sha:
        monkeypatch.setenv(f"NSLIB_{name}_SHA256", sha256(blob))


def make_mirror(folder: Path, files: dict[str, bytes], listed: dict[str, bytes] | None = None) -> Path:
    """A mirror folder with ``files`` and a SHA256SUMS listing ``listed`` (default: all files)."""
    folder.mkdir()
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    sums = "".join(f"{sha256(blob)}  {name}\n" for name, blob in (files if listed is None else listed).items())
    (folder / "SHA256SUMS").write_text(sums)
    return folder


# --------------------------------------------------------------------------- catalog


def test_registry_names_the_papers_three_data_sets_first_in_any_case():
    # A fourth entry may follow them: only the paper's three are required.
    assert catalog.known_names()[:3] == ("HIGGS", "FOREST_COVER", "SPAMBASE")
    assert catalog.get_spec("forest_cover").name == "FOREST_COVER"
    assert [catalog.get_spec(name).domain for name in catalog.known_names()[:3]] == ["physics", "ecology", "text-like"]


def test_registry_has_the_uci_feature_names_and_the_papers_row_counts():
    higgs, cover, spam = (catalog.get_spec(name) for name in ("HIGGS", "FOREST_COVER", "SPAMBASE"))
    assert (len(higgs.feature_names), len(cover.feature_names), len(spam.feature_names)) == (28, 54, 57)
    assert (higgs.feature_names[0], higgs.feature_names[8], higgs.feature_names[-1]) == (
        "lepton_pT",
        "jet_1_b-tag",
        "m_wwbb",
    )
    assert cover.feature_names[10:14] == tuple(f"Wilderness_Area{i}" for i in range(1, 5))
    assert (cover.feature_names[14], cover.feature_names[-1]) == ("Soil_Type1", "Soil_Type40")
    assert (spam.feature_names[0], spam.feature_names[47], spam.feature_names[-1]) == (
        "word_freq_make",
        "word_freq_conference",
        "capital_run_length_total",
    )
    assert [spec.paper_selection() for spec in (higgs, cover, spam)] == [
        "the first 100,000 of 11,000,000",
        "100,000 drawn at random from 581,012",
        "all 4,601",
    ]
    uci = "https://archive.ics.uci.edu/ml/machine-learning-databases/"
    assert [spec.url for spec in (higgs, cover, spam)] == [
        uci + "00280/HIGGS.csv.gz",
        uci + "covtype/covtype.data.gz",
        uci + "spambase/spambase.data",
    ]


def test_covtype_checksum_is_the_one_scikit_learn_checks_its_download_against():
    assert SKLEARN_COVTYPE.filename == catalog.get_spec("FOREST_COVER").file_name
    assert SKLEARN_COVTYPE.checksum == catalog.get_spec("FOREST_COVER").sha256


@pytest.mark.skipif(not HAS_REAL_MIRROR, reason="needs the offline data mirror (NSLIB_DATA_MIRROR)")
def test_spambase_checksum_matches_the_exact_uci_file_in_the_mirror():
    content = gzip.decompress((REAL_MIRROR / "spambase.data.gz").read_bytes())
    assert sha256(content) == catalog.get_spec("SPAMBASE").sha256


def test_unknown_data_set_name_lists_the_known_names():
    with pytest.raises(DataError, match="'IRIS' is not a known data set; use one of HIGGS, FOREST_COVER, SPAMBASE"):
        data.load("IRIS")


@pytest.mark.parametrize("rows", [0, -5, 2.5, True, "100"])
def test_rows_must_be_a_positive_integer(rows):
    with pytest.raises(ValueError, match=r"rows=.* must be an integer >= 1, .*or rows=None for the paper's 4,601"):
        data.load("SPAMBASE", rows=rows)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(ValueError, match=r"seed=.* must be an integer >= 0, for example seed=42"):
        data.load("SPAMBASE", seed=seed)


# --------------------------------------------------------------------------- HIGGS streaming


def test_higgs_loader_reads_only_the_first_rows(server, monkeypatch, isolated, big_higgs):
    block, blob, text_bytes = big_higgs
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", blob, sha=False)
    dataset = data.load("HIGGS", rows=300)
    np.testing.assert_array_equal(dataset.X, block[:300, 1:])
    np.testing.assert_array_equal(dataset.y, block[:300, 0].astype(np.int64))
    record = dataset.provenance
    assert (record.rows_used, record.rows_requested, record.selection) == (300, 300, "first 300 rows")
    assert record.origin == "download" and record.source == server.url("HIGGS.csv.gz")
    assert not record.is_sample and not record.from_mirror
    assert record.source_bytes == len(blob)
    # The client read a few 64 KiB chunks of a ~13 MB gzip; the server sent little more.
    assert record.bytes_fetched < 0.02 * len(blob)
    assert server.bytes_sent < 0.25 * len(blob)
    assert record.rows_available is None  # a non-official URL: its row count is unknown
    assert "fetched" in record.note and f"{len(blob):,}-byte file" in record.note
    assert text_bytes > 25e6
    assert record.sha256 == sha256(csv_text(block[:300]))


def test_higgs_second_load_reads_the_cache_and_makes_no_request(server, monkeypatch, isolated, big_higgs):
    block, blob, _ = big_higgs
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", blob, sha=False)
    first = data.load("HIGGS", rows=500)
    assert cache_files(isolated) == ["HIGGS_first_500.csv.gz", "HIGGS_first_500.json"]
    # The cache holds exactly the text of the rows used, nothing more.
    assert gzip.decompress((isolated / "HIGGS_first_500.csv.gz").read_bytes()) == csv_text(block[:500])
    second = data.load("HIGGS", rows=500)
    assert server.requests == ["HIGGS.csv.gz"]
    np.testing.assert_array_equal(first.X, second.X)
    assert second.provenance.origin == "cache"
    assert second.provenance.sha256 == first.provenance.sha256
    assert second.provenance.bytes_fetched == first.provenance.bytes_fetched


def test_a_higgs_cache_made_from_another_url_is_not_reused(server, monkeypatch, isolated):
    old, new = higgs_like(50, seed=1), higgs_like(50, seed=2)
    serve(server, monkeypatch, "HIGGS", "old.csv.gz", gzip.compress(csv_text(old)), sha=False)
    data.load("HIGGS", rows=50)
    serve(server, monkeypatch, "HIGGS", "new.csv.gz", gzip.compress(csv_text(new)), sha=False)
    dataset = data.load("HIGGS", rows=50)
    assert server.requests == ["old.csv.gz", "new.csv.gz"]
    np.testing.assert_array_equal(dataset.X, new[:, 1:])


def test_higgs_rows_stream_through_many_small_blocks(server, monkeypatch, big_higgs):
    block, blob, _ = big_higgs
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", blob, sha=False)
    # Parse in blocks of 777 rows so that the rows cross many block and chunk boundaries.
    monkeypatch.setattr(fetch, "_BLOCK_ROWS", 777)
    dataset = data.load("HIGGS", rows=9_500)
    expected = np.concatenate([block, block, block])[:9_500]
    np.testing.assert_array_equal(dataset.X, expected[:, 1:])
    assert dataset.X.flags.c_contiguous and dataset.X.dtype == np.float32


def test_higgs_asking_more_rows_than_the_file_holds_warns_and_uses_them_all(server, monkeypatch):
    table = higgs_like(700)
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", gzip.compress(csv_text(table)), sha=False)
    with pytest.warns(RowShortfallWarning, match="1,000 rows were asked for but .* holds only 700"):
        dataset = data.load("HIGGS", rows=1000)
    record = dataset.provenance
    assert (record.rows_requested, record.rows_available, record.rows_used) == (1000, 700, 700)
    assert "Asked for 1,000 rows; the source holds 700." in record.note


# --------------------------------------------------------------------------- whole-file downloads


def test_forest_cover_download_is_checked_cached_and_labelled_lodgepole_pine(server, monkeypatch, isolated):
    table = covtype_like(3000)
    blob = gzip.compress(csv_text(table, "%d"))
    serve(server, monkeypatch, "FOREST_COVER", "covtype.data.gz", blob)
    dataset = data.load("FOREST_COVER", rows=1200, seed=7)
    assert cache_files(isolated) == ["covtype.data.gz"]
    assert (isolated / "covtype.data.gz").read_bytes() == blob
    drawn = dataset.X[:, 0].astype(int) - 1000
    assert len(np.unique(drawn)) == 1200  # without replacement
    assert np.all(np.diff(drawn) > 0)  # kept in file order
    np.testing.assert_array_equal(dataset.y, (table[drawn, 54] == 2).astype(np.int64))
    record = dataset.provenance
    assert (record.origin, record.sha256, record.bytes_fetched) == ("download", sha256(blob), len(blob))
    assert record.selection == "random 1,200 of 3,000 rows (numpy default_rng(7), without replacement)"
    again = data.load("FOREST_COVER", rows=1200, seed=7)
    assert server.requests == ["covtype.data.gz"] and again.provenance.origin == "cache"
    np.testing.assert_array_equal(again.X, dataset.X)


def test_forest_cover_sample_is_fixed_by_the_seed(server, monkeypatch):
    serve(server, monkeypatch, "FOREST_COVER", "covtype.data.gz", gzip.compress(csv_text(covtype_like(2000), "%d")))
    first, same, other = (data.load("FOREST_COVER", rows=500, seed=seed) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first.X, same.X)
    assert not np.array_equal(first.X[:, 0], other.X[:, 0])
    expected = np.sort(np.random.default_rng(1).choice(2000, size=500, replace=False))
    np.testing.assert_array_equal(first.X[:, 0], expected + 1000)


def test_spambase_downloads_uncompressed_with_the_label_in_the_last_column(server, monkeypatch):
    table = spambase_like(300)
    # CRLF line endings as in the UCI file, and no newline after the last line.
    serve(server, monkeypatch, "SPAMBASE", "spambase.data", csv_text(table).replace(b"\n", b"\r\n").rstrip())
    with pytest.warns(RowShortfallWarning):
        dataset = data.load("SPAMBASE")
    np.testing.assert_array_equal(dataset.X, table[:, :57])
    np.testing.assert_array_equal(dataset.y, table[:, 57].astype(np.int64))
    assert dataset.provenance.selection == "all 300 rows"


def test_a_checksum_mismatch_raises_and_leaves_nothing_in_the_cache(server, monkeypatch, isolated):
    blob = gzip.compress(csv_text(covtype_like(200), "%d"))
    serve(server, monkeypatch, "FOREST_COVER", "covtype.data.gz", blob, sha=False)  # the official sha256 applies
    with pytest.raises(DataError, match=r"FOREST_COVER: .* sent a file with sha256 .* nothing was cached"):
        data.load("FOREST_COVER")
    assert cache_files(isolated) == []


def test_a_damaged_cached_file_is_removed_and_reported(server, monkeypatch, isolated):
    blob = gzip.compress(csv_text(covtype_like(200), "%d"))
    serve(server, monkeypatch, "FOREST_COVER", "covtype.data.gz", blob)
    data.load("FOREST_COVER", rows=200)
    (isolated / "covtype.data.gz").write_bytes(blob[:-10])
    with pytest.raises(DataError, match="the cached .* had sha256 .* removed: load again"):
        data.load("FOREST_COVER", rows=200)
    assert cache_files(isolated) == []


def test_without_network_or_mirror_the_error_says_how_to_fix_it(monkeypatch):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NSLIB_SPAMBASE_URL", f"http://127.0.0.1:{port}/spambase.data")
    with pytest.raises(DataError, match="cannot download .* no mirror is set.*NSLIB_DATA_MIRROR=.*NSLIB_SPAMBASE_URL"):
        data.load("SPAMBASE")


def test_a_missing_remote_file_is_reported_with_the_fix(server, monkeypatch):
    monkeypatch.setenv("NSLIB_HIGGS_URL", server.url("nowhere.csv.gz"))
    with pytest.raises(DataError, match="HIGGS: cannot download .*Not Found.*NSLIB_HIGGS_URL"):
        data.load("HIGGS", rows=10)


def test_a_cut_connection_is_a_truncated_download_and_caches_nothing(server, monkeypatch, isolated):
    blob = gzip.compress(csv_text(higgs_like(2000)))
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", blob, sha=False)
    server.cut["HIGGS.csv.gz"] = len(blob) // 2
    with pytest.raises(DataError, match="HIGGS: the download of .* stopped after .* of the .* bytes announced"):
        data.load("HIGGS", rows=2000)
    assert cache_files(isolated) == []


def test_a_truncated_gzip_file_is_reported(server, monkeypatch, isolated):
    blob = gzip.compress(csv_text(higgs_like(2000)))[:-200]
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", blob, sha=False)  # complete HTTP, truncated gzip
    with pytest.raises(DataError, match="is a truncated gzip stream"):
        data.load("HIGGS", rows=2000)
    assert cache_files(isolated) == []


def test_a_corrupt_gzip_is_reported(server, monkeypatch):
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", b"\x1f\x8b\x08\x00" + bytes(range(256)) * 40, sha=False)
    with pytest.raises(DataError, match="HIGGS: .* is not a valid gzip stream"):
        data.load("HIGGS", rows=10)


def test_a_wrong_number_of_columns_names_the_line(server, monkeypatch, isolated):
    lines = csv_text(spambase_like(50)).splitlines()
    lines[9] = lines[9].rsplit(b",", 1)[0]  # line 10 loses a column
    serve(server, monkeypatch, "SPAMBASE", "spambase.data", b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="SPAMBASE: row 10, column 58 of .* is missing .*spambase.data holds 58"):
        data.load("SPAMBASE")
    (isolated / "spambase.data").unlink()  # the download of each bad file is cached before it is parsed
    lines[9] += b",1,2"  # line 10 now has two columns too many
    serve(server, monkeypatch, "SPAMBASE", "spambase.data", b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="SPAMBASE: .* is not comma-separated like .*Expected 58 fields in line 10"):
        data.load("SPAMBASE")
    (isolated / "spambase.data").unlink()
    serve(server, monkeypatch, "SPAMBASE", "spambase.data", b"\n".join(lines[9:]) + b"\n")  # the first line
    with pytest.raises(DataError, match="SPAMBASE: the first line of .* has 59 columns, but spambase.data has 58"):
        data.load("SPAMBASE")


def test_a_non_numeric_value_names_the_line_and_column(server, monkeypatch):
    lines = csv_text(spambase_like(50)).splitlines()
    lines[19] = b"spam," + lines[19].split(b",", 1)[1]
    serve(server, monkeypatch, "SPAMBASE", "spambase.data", b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="SPAMBASE: row 20, column 1 of .* is 'spam', not a number"):
        data.load("SPAMBASE")


def test_labels_outside_the_files_label_values_are_rejected(server, monkeypatch):
    table = higgs_like(100)
    table[5, 0] = 2
    serve(server, monkeypatch, "HIGGS", "HIGGS.csv.gz", gzip.compress(csv_text(table)), sha=False)
    with pytest.raises(DataError, match=r"HIGGS: the label column of .* holds \[2.0\], but HIGGS.csv.gz's labels"):
        data.load("HIGGS", rows=100)


def test_a_malformed_checksum_override_is_rejected(monkeypatch):
    monkeypatch.setenv("NSLIB_SPAMBASE_SHA256", "abc")
    with pytest.raises(DataError, match="NSLIB_SPAMBASE_SHA256='abc' is not a sha256"):
        data.load("SPAMBASE")


# --------------------------------------------------------------------------- a data set with word labels

WORDS_RECORD = """
[WORDS]
domain = "test"
description = "Four rows whose labels are words."
url = "https://example.invalid/words.data"
file_name = "words.data"
source_rows = 4
paper_rows = 4
selection = "sample"
label_column = 2
label_values = ["no", "yes"]
positive_value = "yes"
label_rule = "last column (yes = 1)"
mirror_file = "words.data.gz"
mirror_is_sample = false
feature_names = ["x", "z"]
"""


@pytest.fixture
def words(tmp_path, monkeypatch):
    """The WORDS record added to the catalog, as catalog.toml would add it, and a mirror folder for its file."""
    spec = catalog.parse_catalog(tomllib.loads(WORDS_RECORD))["WORDS"]
    monkeypatch.setitem(catalog.CATALOG, "WORDS", spec)
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(tmp_path / "mirror"))
    return tmp_path / "mirror"


def test_a_data_set_with_word_labels_is_added_by_its_registry_record_alone(words):
    make_mirror(words, {"words.data.gz": gzip.compress(b"0.5,1,yes\n1.5,2,no\n2.5,3, no\n3.5,4,yes\n")})
    dataset = data.load("words")
    np.testing.assert_array_equal(dataset.X, [[0.5, 1], [1.5, 2], [2.5, 3], [3.5, 4]])
    np.testing.assert_array_equal(dataset.y, [1, 0, 0, 1])
    assert dataset.provenance.label_mapping == {"no": 0, "yes": 1}
    assert (dataset.provenance.rows_used, dataset.provenance.selection) == (4, "all 4 rows")
    assert "WORDS" in catalog.known_names()


def test_a_word_label_outside_the_registry_record_names_its_row(words):
    make_mirror(words, {"words.data.gz": gzip.compress(b"0.5,1,yes\n1.5,2,maybe\n")})
    with pytest.raises(DataError, match=r"WORDS: row 2 of .* has the label 'maybe', not one of words.data's labels \['no', 'yes'\]"):
        data.load("words")


def test_a_registry_record_whose_positive_value_is_not_a_label_is_refused():
    record = tomllib.loads(WORDS_RECORD.replace('positive_value = "yes"', 'positive_value = "maybe"'))
    with pytest.raises(DataError, match=r"catalog record WORDS: .* positive_value 'maybe' one of them"):
        catalog.parse_catalog(record)


# --------------------------------------------------------------------------- mirror


@pytest.fixture
def small_mirror(tmp_path):
    files = {
        "higgs_sample.csv.gz": gzip.compress(csv_text(higgs_like(400))),
        "covtype_sample.data.gz": gzip.compress(csv_text(covtype_like(600), "%d")),
        "spambase.data.gz": gzip.compress(csv_text(spambase_like(250))),
    }
    return make_mirror(tmp_path / "mirror", files), files


def test_the_mirror_is_read_checked_and_recorded(small_mirror, monkeypatch, isolated):
    folder, files = small_mirror
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(folder))
    higgs = data.load("HIGGS", rows=100)
    cover = data.load("FOREST_COVER", rows=100, seed=3)
    spam = data.load("SPAMBASE", rows=100)
    for dataset, file_name, is_sample in (
        (higgs, "higgs_sample.csv.gz", True),
        (cover, "covtype_sample.data.gz", True),
        (spam, "spambase.data.gz", False),
    ):
        record = dataset.provenance
        assert record.from_mirror and record.origin == "mirror"
        assert (record.source, record.sha256) == (str(folder / file_name), sha256(files[file_name]))
        assert record.is_sample is is_sample and record.rows_used == 100
    assert (higgs.provenance.rows_available, cover.provenance.rows_available) == (400, 600)
    assert not isolated.exists()  # a mirror is read in place, never copied into the cache


def test_the_mirror_warns_when_it_has_fewer_rows_than_asked_for(small_mirror, monkeypatch):
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(small_mirror[0]))
    with pytest.warns(RowShortfallWarning, match="100,000 rows were asked for but .* holds only 600"):
        dataset = data.load("FOREST_COVER")
    record = dataset.provenance
    assert (record.rows_requested, record.rows_available, record.rows_used) == (100_000, 600, 600)


def test_a_mirror_file_not_listed_in_sha256sums_is_an_error(tmp_path, monkeypatch):
    blob = gzip.compress(csv_text(spambase_like(20)))
    folder = make_mirror(tmp_path / "mirror", {"spambase.data.gz": blob}, listed={})
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(folder))
    with pytest.raises(DataError, match="spambase.data.gz is not listed in .*SHA256SUMS; add its line"):
        data.load("SPAMBASE")


def test_a_mirror_file_that_does_not_match_sha256sums_is_an_error(tmp_path, monkeypatch):
    blob = gzip.compress(csv_text(spambase_like(20)))
    folder = make_mirror(tmp_path / "mirror", {"spambase.data.gz": blob}, listed={"spambase.data.gz": b"other"})
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(folder))
    with pytest.raises(DataError, match="SPAMBASE: .*spambase.data.gz has sha256 .* but SHA256SUMS says"):
        data.load("SPAMBASE")


def test_a_mirror_without_the_file_or_without_sha256sums_says_what_is_missing(tmp_path, monkeypatch):
    folder = make_mirror(tmp_path / "mirror", {})
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(folder))
    with pytest.raises(DataError, match="has neither HIGGS.csv.gz nor higgs_sample.csv.gz"):
        data.load("HIGGS")
    (folder / "higgs_sample.csv.gz").write_bytes(b"")
    (folder / "SHA256SUMS").unlink()
    with pytest.raises(DataError, match="has no SHA256SUMS; create it"):
        data.load("HIGGS")


def test_the_mirror_also_takes_the_official_file_name_and_calls_it_exact(tmp_path, monkeypatch):
    text = csv_text(spambase_like(30))
    folder = make_mirror(tmp_path / "mirror", {"spambase.data": text})
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(folder))
    dataset = data.load("SPAMBASE", rows=30)
    assert dataset.provenance.source == str(folder / "spambase.data") and not dataset.provenance.is_sample


@pytest.mark.skipif(not HAS_REAL_MIRROR, reason="needs the offline data mirror (NSLIB_DATA_MIRROR)")
def test_the_real_mirror_has_the_documented_row_and_positive_counts(monkeypatch):
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(REAL_MIRROR))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = data.load_selection(["HIGGS", "FOREST_COVER", "SPAMBASE"])
    counts = {name: (d.n_rows, int(d.y.sum()), d.n_features) for name, d in loaded.items()}
    assert counts == {
        "HIGGS": (20_978, 11_114, 28),
        "FOREST_COVER": (68_178, 33_191, 54),
        "SPAMBASE": (4_601, 1_813, 57),
    }
    assert sorted(str(w.message).split(":")[0] for w in caught if w.category is RowShortfallWarning) == [
        "FOREST_COVER",
        "HIGGS",
    ]
    assert [d.provenance.is_sample for d in loaded.values()] == [True, True, False]


# --------------------------------------------------------------------------- selections and the provenance table


def test_load_selection_validates_the_notebook_parameters(tmp_path):
    with pytest.raises(DataError, match="DATASETS='HIGGS' must be a list of names"):
        data.load_selection("HIGGS")
    with pytest.raises(DataError, match="DATASETS lists SPAMBASE more than once"):
        data.load_selection(["SPAMBASE", "spambase"])
    with pytest.raises(DataError, match="'MNIST' is not a known data set"):
        data.load_selection(["MNIST"])
    with pytest.raises(DataError, match="give both .* or neither"):
        data.load_selection([], user_csv=tmp_path / "x.csv")
    with pytest.raises(DataError, match="USER_CSV=.*x.csv' is not a file"):
        data.check_selection([], user_csv=tmp_path / "x.csv", user_label="y")
    with pytest.raises(DataError, match="nothing to load"):
        data.load_selection([])


def test_user_positive_needs_a_user_csv(tmp_path):
    with pytest.raises(DataError, match="USER_POSITIVE='spam' is set but USER_CSV is None"):
        data.check_selection(["SPAMBASE"], None, None, "spam")


def test_user_csv_options_need_a_user_csv_and_take_only_reading_options(tmp_path):
    with pytest.raises(DataError, match=r"USER_CSV_OPTIONS=\{'sep': ';'\} is set but USER_CSV is None"):
        data.check_selection(["SPAMBASE"], user_options={"sep": ";"})
    path = tmp_path / "x.csv"
    path.write_text("a;label\n1;0\n2;1\n")
    with pytest.raises(DataError, match=r"must be a dict whose keys are among \['header', 'sep', 'decimal', 'na'"):
        data.check_selection([], path, "label", user_options={"positive": 1})
    with pytest.raises(DataError, match="must be a dict"):
        data.check_selection([], path, "label", user_options=";")


def test_user_csv_options_reach_the_reader(tmp_path):
    path = tmp_path / "euro.csv"
    path.write_text("a;label\n1,5;0\n2,5;1\n")
    loaded = data.load_selection([], user_csv=path, user_label="label", user_options={"sep": ";", "decimal": ","})
    np.testing.assert_array_equal(loaded["euro"].X, [[1.5], [2.5]])
    assert loaded["euro"].provenance.note.startswith("Separator ';' (given), decimal mark ',' (given).")


def test_load_selection_adds_a_user_csv_under_its_file_name(tmp_path, small_mirror, monkeypatch):
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(small_mirror[0]))
    path = tmp_path / "mine.csv"
    path.write_text("x,label\n1.0,b\n2.0,a\n3.0,b\n")
    loaded = data.load_selection(["spambase"], rows=50, user_csv=path, user_label="label")
    assert list(loaded) == ["SPAMBASE", "mine"]
    assert (loaded["SPAMBASE"].n_rows, loaded["mine"].n_rows) == (50, 3)
    np.testing.assert_array_equal(loaded["mine"].y, [1, 0, 1])  # sorted order: "b" is the larger value
    chosen = data.load_selection([], user_csv=path, user_label="label", user_positive="a")
    np.testing.assert_array_equal(chosen["mine"].y, [0, 1, 0])


def test_a_user_csv_named_like_a_registry_data_set_is_refused(tmp_path):
    path = tmp_path / "spambase.data.gz"
    path.write_bytes(gzip.compress(b"1,0\n2,1\n"))
    with pytest.raises(DataError, match="is named like the catalog's SPAMBASE; rename the file"):
        data.load_selection([], user_csv=path, user_label=-1)


def test_the_provenance_table_records_header_label_mapping_and_rows(small_mirror, monkeypatch, tmp_path):
    monkeypatch.setenv("NSLIB_DATA_MIRROR", str(small_mirror[0]))
    path = tmp_path / "mail.csv"
    path.write_text("0.5,spam\n1.5,ham\n2.5,spam\n")
    loaded = data.load_selection(["FOREST_COVER"], rows=100, user_csv=path, user_label=1)
    table = data.provenance_table(loaded)
    assert table.columns.tolist() == [
        "source", "sha256", "rows available", "rows used", "selection", "sample file", "origin", "header",
        "label mapping",
    ]
    assert table.loc["FOREST_COVER", ["header", "label mapping"]].tolist() == [
        "none (UCI file)",
        "2 -> 1; 1, 3, 4, 5, 6, 7 -> 0",
    ]
    assert table.loc["mail", ["rows available", "rows used", "header", "label mapping"]].tolist() == [
        3, 3, "none (detected: line 1 is data: it mixes numbers and text as the rows below do)",
        "spam -> 1; ham -> 0",
    ]


# --------------------------------------------------------------------------- split and scale


def test_split_and_scale_fits_the_scaler_on_the_training_part_only():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(1000, 3)) * [1, 10, 100] + [5, -5, 50]).astype(np.float32)
    y = rng.integers(0, 2, size=1000)
    record = catalog.Provenance(sha256="0" * 64, rows_used=1000, is_sample=False, from_mirror=False)
    dataset = catalog.Dataset(name="toy", X=X, y=y, feature_names=["a", "b", "c"], provenance=record)
    X_train, X_test, y_train, y_test = data.split_and_scale(dataset, seed=42)
    assert (X_train.shape, X_test.shape, X_train.dtype) == ((800, 3), (200, 3), np.float32)
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(X_train.std(axis=0), 1, atol=1e-5)
    # The test part is scaled with the training part's mean and std, so its own are not exactly 0 and 1.
    assert np.abs(X_test.mean(axis=0)).max() > 1e-3
    again = data.split_and_scale(dataset, seed=42)
    np.testing.assert_array_equal(again[1], X_test)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(y))


def test_informative_features_rank_by_correlation_with_the_label_and_skip_indicators():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=2000)
    X = np.column_stack([rng.normal(size=2000), y + rng.normal(size=2000), y * 1.0, y + 3 * rng.normal(size=2000)])
    record = catalog.Provenance(sha256="0" * 64, rows_used=2000, is_sample=False, from_mirror=False)
    dataset = catalog.Dataset("toy", X.astype(np.float32), y, ["noise", "strong", "flag", "weak"], record)
    assert data.informative_features(dataset, k=2) == ["strong", "weak"]
