"""`stance classify-docs` in-process over the tiny trained model: inputs, outputs, bad inputs."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from cli.main import main
from cli.tables import COLUMNS
from model import load_classifier
from model.document import classify_document, split_sentences
from tests.support.documents import as_api_results, read_rows

SEEDS = sorted(Path("seeds").glob("*.txt"))
TARGET = "US sanctions on Iran"


@pytest.fixture(scope="module")
def tag(tiny_run: dict) -> str:
    return str(tiny_run["model_tag"])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["classify-docs", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_seeds_folder_as_csv_has_both_documents_sentence_and_summary_rows(tag, capsys):
    code, out, err = run(capsys, "seeds/", "--target", TARGET, "--format", "csv", "--model", tag)
    assert code == 0, err
    assert err == ""  # no progress bar: stderr is not a terminal
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == list(COLUMNS)
    for path in SEEDS:
        text = path.read_text(encoding="utf-8")
        mine = [r for r in rows if r["document"] == f"seeds/{path.name}"]
        spans = split_sentences(text)
        assert [r["kind"] for r in mine] == ["sentence"] * len(spans) + ["document"]
        for row, span in zip(mine, spans, strict=False):
            assert text[int(row["start"]) : int(row["end"])] == row["text"] == span.text
            assert row["target"] == TARGET and row["model"] == tag
            total = sum(float(row[f"stance_{k}"]) for k in ("favor", "against", "none"))
            assert abs(total - 1) < 1e-9
        summary = mine[-1]
        assert summary["stance"] in ("favor", "against", "none")
        assert summary["sentence"] == summary["text"] == summary["windows"] == ""
        evidence = [int(i) for i in summary["evidence"].split()]
        assert all(mine[i]["stance"] == summary["stance"] for i in evidence)


def test_rows_are_model_document_classify_document_exactly(tag, tiny_run, capsys):
    clf = load_classifier(Path(tiny_run["artifact_root"]) / "transformer")
    targets = [TARGET, "UN sanctions"]
    code, out, _ = run(
        capsys, str(SEEDS[0]), "--target", targets[0], "--target", targets[1],
        "--format", "jsonl", "--model", tag,
    )  # fmt: skip
    assert code == 0
    expected = classify_document(clf, SEEDS[0].read_text(encoding="utf-8"), targets)
    got = as_api_results(read_rows(out), str(SEEDS[0]))
    assert [g["target"] for g in got] == targets
    for g, e in zip(got, expected, strict=True):
        assert g["sentences"] == e.sentences
        assert (g["stance"], g["stance_confidence"], g["evidence"]) == (
            e.stance, e.stance_confidence, e.evidence,
        )  # fmt: skip
        assert g["stance_distribution"] == e.stance_distribution


def test_tables_carry_their_other_columns_through(tag, tmp_path, capsys):
    from openpyxl import Workbook

    csv_in = tmp_path / "a.csv"
    csv_in.write_text(
        'id,text,outlet,target\n7,"Sanctions are cruel. Talks go on.",Reuters,x\n',
        encoding="utf-8",
    )
    jsonl_in = tmp_path / "b.jsonl"
    jsonl_in.write_text('{"text": "The embargo must stay.", "date": "2020-01-02"}\n')
    book = Workbook()
    book.active.append(["text", "id"])
    book.active.append(["Sanctions hurt.", 9])
    xlsx_in = tmp_path / "c.xlsx"
    book.save(xlsx_in)
    out = tmp_path / "out.jsonl"
    code, _, err = run(
        capsys, str(csv_in), str(jsonl_in), str(xlsx_in), "--target", TARGET,
        "--output", str(out), "--model", tag,
    )  # fmt: skip
    assert code == 0, err
    rows = read_rows(out.read_text(encoding="utf-8"))  # format from the suffix
    assert list(rows[0]) == [*COLUMNS, "id", "outlet", "input_target", "date"]
    by_doc = {r["document"]: r for r in rows if r["kind"] == "document"}
    assert (by_doc[f"{csv_in}:2"]["id"], by_doc[f"{csv_in}:2"]["outlet"]) == ("7", "Reuters")
    assert by_doc[f"{csv_in}:2"]["input_target"] == "x"  # a clash with an output column
    assert by_doc[f"{jsonl_in}:1"]["date"] == "2020-01-02"
    assert by_doc[f"{xlsx_in}:2"]["id"] == 9
    assert by_doc[f"{xlsx_in}:2"]["date"] is None
    assert err == f"wrote {len(rows)} rows for 3 document(s) to {out}\n"


def test_xlsx_output_reads_back_and_keeps_formula_like_text_as_text(tag, tmp_path, capsys):
    from openpyxl import load_workbook

    doc = tmp_path / "doc.txt"
    doc.write_text("=SUM(A1:A2) is not a formula here.\nSanctions hurt.", encoding="utf-8")
    out = tmp_path / "out.xlsx"
    code, _, err = run(capsys, str(doc), "--output", str(out), "--model", tag)
    assert code == 0, err
    sheet = load_workbook(out).worksheets[0]
    header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert header == list(COLUMNS)
    assert [r[1] for r in rows] == ["sentence", "sentence", "document"]
    assert rows[0][6] == "=SUM(A1:A2) is not a formula here."
    assert sheet.cell(row=2, column=7).data_type == "s"
    assert rows[0][2] == "US sanctions"  # the model's default target
    assert isinstance(rows[0][9], float)


def test_stdin_is_one_document(tag, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Sanctions are cruel. Talks go on."))
    code, out, _ = run(capsys, "-", "--format", "jsonl", "--model", tag)
    assert code == 0
    rows = read_rows(out)
    assert [(r["document"], r["kind"]) for r in rows] == [
        ("<stdin>", "sentence"), ("<stdin>", "sentence"), ("<stdin>", "document"),
    ]  # fmt: skip


def test_bad_inputs_are_reported_and_the_rest_scored(tag, tmp_path, capsys):
    (tmp_path / "docs").mkdir()
    good = tmp_path / "docs" / "good.md"
    good.write_text("Sanctions are cruel.", encoding="utf-8")
    latin = tmp_path / "docs" / "latin.txt"
    latin.write_bytes("Sanktionen \xe4ndern nichts.".encode("latin-1"))
    (tmp_path / "docs" / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "docs" / "binary.txt").write_bytes(b"ab\x00cd")
    (tmp_path / "docs" / "big.txt").write_text("a" * 200_001, encoding="utf-8")
    (tmp_path / "docs" / "ignored.pdf").write_bytes(b"%PDF")
    (tmp_path / "docs" / ".hidden").mkdir()
    (tmp_path / "docs" / ".hidden" / "x.txt").write_text("Hidden.", encoding="utf-8")
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("id,body\n1,Sanctions hurt.\n", encoding="utf-8")
    lines = tmp_path / "lines.jsonl"
    lines.write_text('{"text": "Fine."}\nnot json\n{"body": "x", "id": 1}\n{"text": ""}\n')
    not_xlsx = tmp_path / "fake.xlsx"
    not_xlsx.write_bytes(b"not a zip")
    code, out, err = run(
        capsys, str(tmp_path / "docs"), str(no_text), str(lines), str(not_xlsx),
        "--format", "jsonl", "--model", tag,
    )  # fmt: skip
    assert code == 1
    docs = tmp_path / "docs"
    assert err.splitlines() == [
        f"error: {docs / 'big.txt'}: too large: 200001 characters; the limit is 200000 (as for "
        "POST /classify_document): split it",
        f"error: {docs / 'binary.txt'}: binary: it contains NUL bytes; expected UTF-8 text",
        f"error: {docs / 'empty.txt'}: empty: no text to score",
        f"error: {latin}: not UTF-8 text (invalid continuation byte at byte 11): save it as UTF-8",
        f"error: {no_text}: has no 'text' column; found columns: 'id', 'body'",
        f"error: {lines}:2: not valid JSON (Expecting value)",
        f"error: {lines}:3: has no 'text' field; found fields: 'body', 'id'",
        f"error: {lines}:4: empty: no text to score",
        f"error: {not_xlsx}: not an .xlsx workbook (File is not a zip file)",
        "error: 9 input(s) could not be scored (see above); 2 document(s) scored",
    ]
    assert sorted({r["document"] for r in read_rows(out)}) == [str(good), f"{lines}:1"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope.txt"], "error: nope.txt not found: expected a file, a folder, or - for standard "
         "input\n"),
        (["pyproject.toml"], "error: pyproject.toml: expected a .txt, .md, .csv, .jsonl or .xlsx "
         "file, a folder, or -\n"),
        (["tests/golden"], "error: tests/golden holds no .txt or .md files (folders are searched "
         "recursively)\n"),
        (["seeds", "--format", "xlsx"], "error: --format xlsx writes a workbook, not text: give "
         "--output FILE.xlsx\n"),
        (["seeds", "--target", " "], "error: --target must be a non-empty string\n"),
        (["seeds", *["--target", "t"] * 11], "error: 11 --target options; the limit is 10\n"),
        (["-", "-"], "error: - (standard input) can be given only once\n"),
    ],
)  # fmt: skip
def test_user_errors_exit_2_with_one_line(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert (code, out, err) == (2, "", message)


def test_progress_bar_on_a_terminal_counts_documents_and_sentences(tag, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["classify-docs", "seeds", "--model", tag, "--output", "-"]) == 0
    bar = terminal.getvalue()
    assert re.search(r"classify-docs: 100%\|[^|]*\| 2/2 \[.*doc/s, [\d.]+ sentences/s\]", bar), bar
    assert capsys.readouterr().out.startswith("document,kind,target,")


def test_help_lists_the_inputs_and_formats(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify-docs", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "usage: stance classify-docs [-h] [--target TARGETS]" in text
    assert "--format {csv,jsonl,xlsx}" in text
    assert ".csv/.jsonl/.xlsx files with a 'text' column" in text
