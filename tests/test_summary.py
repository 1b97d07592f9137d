"""The end-of-run summary (msgnn/workflow/summary.py)."""
import pytest

from msgnn.errors import InputFileError
from msgnn.workflow.summary import summary

REPORT = """# msgnn run report

Synthetic experiments: ...

## Model accuracy (RMSE)

| model | rmse |
|---|---|
| msgnn | 0.12 |

## Melting points (NPH)

| material | Tm |
|---|---|
| Al | 926 |

## Kinetic coefficients

| Al | (100) | 1.29 |

## Segmentation accuracy

| boundary F1 | 0.9 |

## Figures

![parity](parity.png)
"""


def test_summary_keeps_the_headline_sections(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report/report.md").write_text(REPORT)
    text = summary(tmp_path)
    assert "| msgnn | 0.12 |" in text and "| Al | 926 |" in text and "| Al | (100) | 1.29 |" in text
    assert "Segmentation" not in text and "parity.png" not in text
    assert str(tmp_path / "report/report.md") in text


def test_summary_without_a_report_names_the_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="report.md"):
        summary(tmp_path)
