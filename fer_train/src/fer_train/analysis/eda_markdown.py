"""`fer-train eda`'s report.md: one section per question, from the report `eda.run_eda` measured."""

from __future__ import annotations

from fer_runtime.markdown import markdown_table
from fer_train.analysis.eda_report import EdaReport


def _class_section(report: EdaReport) -> list[str]:
    classes = report.classes
    rows = [
        (
            split.name,
            *(f"{split.counts[c]} ({split.counts[c] / max(1, split.images):.0%})" for c in classes),
            split.images,
        )
        for split in report.splits
    ]
    return ["## Class distribution", "", *markdown_table(("split", *classes, "total"), rows)]


def _intensity_section(report: EdaReport) -> list[str]:
    rows = [
        (split.name, c, f"{split.per_class[c].median_brightness:.1f}", f"{split.per_class[c].median_contrast:.1f}")
        for split in report.splits
        for c in report.classes
    ]
    return [
        "## Brightness and contrast (median per class, gray levels 0-255)",
        "",
        *markdown_table(("split", "class", "brightness", "contrast"), rows),
    ]


def _blank_section(report: EdaReport) -> list[str]:
    lines = [f"## Blank or near-constant images (pixel std <= {report.blank_max_std})", ""]
    for split in report.splits:
        blank = split.blank
        lines.append(
            f"- `{split.name}`: {blank.count}" + (f" (e.g. {', '.join(blank.files[:3])})" if blank.files else "")
        )
    return lines


def _within_section(report: EdaReport) -> list[str]:
    lines = [
        f"## Duplicates within each split (near: perceptual hash within {report.near_duplicate_max_bits} of 64 bits)",
        "",
        "Blank images are left out of the duplicate checks (they all look alike).",
        "",
    ]
    header = (
        "split", "exact groups", "extra exact copies", "near pairs", "images in near pairs", "pairs with different labels",
    )  # fmt: skip
    rows = [
        (
            split.name,
            split.duplicates.exact_duplicate_groups,
            split.duplicates.exact_extra_copies,
            split.duplicates.near_duplicate_pairs,
            split.duplicates.images_in_near_pairs,
            split.duplicates.near_pairs_with_different_labels,
        )
        for split in report.splits
    ]
    return lines + markdown_table(header, rows)


def _across_section(report: EdaReport) -> list[str]:
    if not report.across:
        return []
    lines = [
        "## Duplicates across splits",
        "",
        "Images of each split that have an exact copy, or a near duplicate (exact ones included), in the other split.",
        "",
    ]
    header = (
        "split A", "split B", "A with exact copy in B", "B with exact copy in A", "A with near duplicate in B",
        "B with near duplicate in A", "near pairs", "pairs with different labels",
    )  # fmt: skip
    rows = [
        (
            cross.first,
            cross.second,
            cross.exact.first,
            cross.exact.second,
            cross.near.first,
            cross.near.second,
            cross.near_duplicate_pairs,
            cross.near_pairs_with_different_labels,
        )
        for cross in report.across
    ]
    return (
        lines
        + markdown_table(header, rows)
        + [
            "",
            "A test image with a near duplicate in the training data is partly memorised, not "
            "recognised: scores on such a test split overstate accuracy on new faces.",
        ]
    )


def _figure_section(report: EdaReport, figures: list[str]) -> list[str]:
    lines = ["## Figures", "", *(f"![{name}]({name})" for name in figures)]
    if report.face_images_omitted:
        lines += [
            "",
            "Figures made of faces (sample grids, mean faces and variance maps) were not written "
            "(`--no-face-images`): the dataset's faces stay out of this folder.",
        ]
    return lines


def eda_markdown(report: EdaReport, figures: list[str]) -> str:
    splits = ", ".join(f"`{s.name}` ({s.path}, {s.images} images)" for s in report.splits)
    sections = [
        ["# Dataset analysis (`fer-train eda`)", "", f"Splits: {splits}"],
        _class_section(report),
        _intensity_section(report),
        _blank_section(report),
        _within_section(report),
        _across_section(report),
        _figure_section(report, figures),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"
