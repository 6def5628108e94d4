"""`posenc list` shows every registered encoding's declared properties as a table."""

from posenc.cli import main
from posenc.commands.list import COLUMNS
from posenc.encodings import POSITION_ENCODINGS


def test_list_table_has_a_row_of_declared_properties_per_encoding(capsys):
    assert main(["list", "encodings"]) == 0
    out = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(out) if line.split()[:2] == ["name", "paper"])
    assert out[start].split()[3:] == [c[0] for c in COLUMNS]  # name, paper name (two words), the properties
    end = next(i for i in range(start, len(out)) if out[i].lstrip().startswith("bidir/causal:"))
    rows = {line.split()[0]: line.split() for line in out[start + 1:end]}
    assert set(rows) == set(POSITION_ENCODINGS.names())
    for name, cells in rows.items():
        cls = POSITION_ENCODINGS.get(name)
        caps = cls.capabilities()
        assert " ".join(cells[1:]).startswith(f"{cls.display_name()} {caps['family']}"), name
        assert cells[-7:] == ["yes" if caps["bidirectional"] else "no", "yes" if caps["causal"] else "no",
                              "learned" if caps["learnable"] else "fixed", "fused" if caps["fused_kernel"] else "eager",
                              caps["extrapolation"], "read" if caps["reads_positions"] else "none",
                              "yes" if caps["translation_invariant"] else "no"], name
    assert any("randomize" in line and "Ruoss" in line for line in out)
