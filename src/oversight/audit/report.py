"""The audit section of the leads' report: self-contained HTML (inline SVG) and Markdown."""

from __future__ import annotations

from html import escape

from oversight.audit.run import raw_pattern_lines
from oversight.report.markdown import md_text
from oversight.schemas import AuditResult, FeatureEffect, StyleModel

__all__ = ["coefficient_svg", "render_audit_html", "render_audit_markdown"]

_CSS = """
.oversight-audit{font-family:system-ui,sans-serif;max-width:60rem}
.oversight-audit table{border-collapse:collapse;margin:.5rem 0}
.oversight-audit td,.oversight-audit th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
.oversight-audit td:first-child,.oversight-audit th:first-child{text-align:left}
.oversight-audit .flag{color:#b30000;font-weight:600}
.oversight-audit blockquote{border-left:3px solid #ccc;margin:.3rem 0;padding-left:.6rem;color:#333}
.oversight-audit svg{max-width:100%;height:auto}
@media (max-width:700px){.oversight-audit table{display:block;overflow-x:auto}}
"""


def _pct(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x * 100:.{digits}f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _judgments(result: AuditResult) -> str:
    """"120 judgments", and how many simulated reviewers gave when any did (the verdict says it too)."""
    simulated = f" ({result.n_simulated} from simulated reviewers)" if result.n_simulated else ""
    return f"{result.n_judgments} judgments{simulated}"


def _terms(model: StyleModel) -> list[FeatureEffect]:
    """Each feature, then each combined factor (whose name lists its members)."""
    return [*model.features.values(), *model.factors.values()]


def _status(e: FeatureEffect) -> str:
    return e.note if e.status == "combined" else e.status


def coefficient_svg(model: StyleModel, *, min_effect: float = 0.05, width: int = 520) -> str:
    """A forest plot: each feature's (and combined factor's) effect on win probability at 1 SD, with its interval."""
    rows = _terms(model)
    row_h, right, top = 26, 20, 24
    left = max(90, 12 + 7 * max((len(e.feature) for e in rows), default=0))
    width = max(width, left + 300)
    height = top + row_h * len(rows) + 28
    span = max([0.15, min_effect * 2] + [abs(v) for e in rows for v in (e.effect_ci or ())]) * 1.1
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + (v + span) / (2 * span) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Style feature effects on win probability">',
        f'<text x="{left}" y="14" font-size="11">change in win probability at 1 SD (points); '
        f"dashed: ±{min_effect * 100:.0f}</text>",
        f'<line x1="{x(0):.1f}" y1="{top - 4}" x2="{x(0):.1f}" y2="{height - 24}" stroke="#444"/>',
    ]
    for v in (-min_effect, min_effect):
        parts.append(
            f'<line x1="{x(v):.1f}" y1="{top - 4}" x2="{x(v):.1f}" y2="{height - 24}" '
            f'stroke="#999" stroke-dasharray="4 3"/>'
        )
    for i, e in enumerate(rows):
        y = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" font-size="12" text-anchor="end">{escape(e.feature)}</text>'
        )
        if e.effect is None or e.effect_ci is None:
            parts.append(
                f'<text x="{x(0) + 6:.1f}" y="{y + 4:.1f}" font-size="11" fill="#777">{escape(_status(e))}</text>'
            )
            continue
        colour = "#b30000" if e.flagged else "#1f4e9c"
        parts.append(
            f'<line x1="{x(e.effect_ci[0]):.1f}" y1="{y:.1f}" x2="{x(e.effect_ci[1]):.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(f'<circle cx="{x(e.effect):.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
    for v in (-span, 0.0, span):
        parts.append(f'<text x="{x(v):.1f}" y="{height - 8}" font-size="10" text-anchor="middle">{v * 100:+.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _feature_rows(model: StyleModel) -> list[list[str]]:
    rows = []
    for e in _terms(model):
        rows.append(
            [
                e.feature + (f" (one factor: {', '.join(e.members)})" if e.members else ""),
                _num(e.coef),
                "–" if e.ci is None else f"[{e.ci[0]:.2f}, {e.ci[1]:.2f}]",
                "–" if e.effect is None else f"{e.effect * 100:+.1f}",
                "–" if e.effect_ci is None else f"[{e.effect_ci[0] * 100:+.1f}, {e.effect_ci[1] * 100:+.1f}]",
                "–" if e.p is None else f"{e.p:.2g}",
                "–" if e.p_adjusted is None else f"{e.p_adjusted:.2g}",
                _pct(e.raw_win_rate) + f" (n={e.raw_n})",
                ("FLAGGED" if e.flagged else _status(e) if e.status != "ok" else ""),
            ]
        )
    return rows


def _model_line(model: StyleModel) -> str:
    fit = {"mle": " Maximum-likelihood fit.", "penalised": " Firth-penalised fit.", None: ""}[model.fit]
    return f"{model.n} decisive judgments, {model.n_ties} ties.{fit} {model.note}".rstrip()


_FEATURE_HEAD = [
    "feature",
    "coef (log-odds/SD)",
    "95% CI",
    "effect (pts)",
    "effect CI",
    "p",
    "p (Holm)",
    "more-of-it wins",
    "",
]


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        cells = "".join(f"<td{' class=flag' if c == 'FLAGGED' else ''}>{escape(c)}</td>" for c in row)
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in rows]  # cells hold annotator names
    return "\n".join(lines)


def _agreement_rows(result: AuditResult) -> list[list[str]]:
    return [
        [a.annotator, str(a.n), _pct(a.with_majority) + f" (n={a.n_majority})", _pct(a.with_gold) + f" (n={a.n_gold})"]
        for a in result.agreement.annotators
    ]


def _ceiling_rows(result: AuditResult) -> list[list[str]]:
    return [
        [c.group, str(c.n_items), _pct(c.disagreement_rate), _num(c.alpha), _pct(c.gold_accuracy), c.route, c.reason]
        for c in result.ceilings
    ]


def _judge_rows(result: AuditResult) -> list[list[str]]:
    if result.judge is None:
        return []

    def cell(e: FeatureEffect | None) -> str:
        if e is None or e.effect is None or e.effect_ci is None:
            return "–" if e is None else _status(e)
        flag = " FLAGGED" if e.flagged else ""
        return f"{e.effect * 100:+.1f} [{e.effect_ci[0] * 100:+.1f}, {e.effect_ci[1] * 100:+.1f}]{flag}"

    j = result.judge
    return [[f, cell(j.human_features.get(f)), cell(j.judge_features.get(f))] for f in j.human_features]


_JUDGE_HEAD = ["feature", "humans: effect (pts) [CI]", "LLM judge: effect (pts) [CI]"]
_AGREE_HEAD = ["annotator", "judgments", "with others' majority", "with gold"]
_CEIL_HEAD = ["group", "items", "disagreement", "alpha", "majority = gold", "route", "why"]


def render_audit_html(result: AuditResult, *, heading: bool = True) -> str:
    """A self-contained HTML section (no scripts, no external files); without ``heading`` when the
    page it goes in titles it (the leads' report, the audit page)."""
    out = [f'<section class="oversight-audit"><style>{_CSS}</style>', "<h2>Judgment audit</h2>" if heading else ""]
    out.append(
        f"<p>{escape(result.source)}: {_judgments(result)}, {result.n_items} items, "
        f"{len(result.annotators)} annotator(s). Flagged: Holm-adjusted p &lt; {result.alpha_level} and "
        f"effect ≥ {result.min_effect * 100:.0f} points at 1 SD.</p>"
    )
    out.append("<ul>" + "".join(f"<li>{escape(v)}</li>" for v in result.verdict) + "</ul>")
    for title, model in (("Style bias", result.style), ("Style beyond correctness (gold)", result.style_given_gold)):
        if model is None:
            continue
        out.append(f"<h3>{title}</h3><p>{escape(_model_line(model))}</p>")
        if model.status == "ok":
            out.append(coefficient_svg(model, min_effect=result.min_effect))
        out.append(_html_table(_FEATURE_HEAD, _feature_rows(model)))
        if model.raw_findings:
            out.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in raw_pattern_lines(model)) + "</ul>")
    if result.win_rates:
        rows = [[w.model, str(w.n), _pct(w.raw, 1), _pct(w.bt, 1), _pct(w.controlled, 1)] for w in result.win_rates]
        out.append("<h3>Win rates, raw and style-controlled</h3>")
        out.append(_html_table(["model", "comparisons", "raw", "Bradley-Terry", "style-controlled"], rows))
    out.append(
        f"<h3>Agreement</h3><p>Krippendorff's alpha ({escape(result.agreement.level)}): "
        f"{_num(result.agreement.alpha)}; disagreement on {_pct(result.agreement.disagreement_rate)} of "
        f"multi-rated items. {escape(result.agreement.note)}</p>"
    )
    out.append(_html_table(_AGREE_HEAD, _agreement_rows(result)))
    spots = result.blind_spots
    if spots is not None and spots.items:
        out.append(f"<h3>Shared blind spots</h3><p>{len(spots.items)} of {spots.n_items_with_gold} gold items.</p>")
        for s in spots.items[:5]:
            out.append(
                f"<p><b>{escape(s.id)}</b>: {escape(s.prompt)}<br>{s.votes} votes, {_pct(s.agreement)} chose "
                f"{escape(s.chosen)}; gold is {escape(s.gold)}.</p>"
                f"<blockquote>chosen: {escape(s.chosen_text)}</blockquote>"
                f"<blockquote>gold: {escape(s.gold_text)}</blockquote>"
            )
    if result.judge is not None:
        j = result.judge
        out.append(
            f"<h3>LLM judge beside the humans</h3><p>{escape(j.judge)}: agrees with the human majority on "
            f"{_pct(j.with_human_majority)} of {j.n_majority} items; with gold {_pct(j.with_gold)} "
            f"(humans' majority {_pct(j.human_with_gold)}).</p>"
        )
        out.append(_html_table(_JUDGE_HEAD, _judge_rows(result)))
    if result.ceilings:
        out.append("<h3>Quality ceilings and routing</h3>")
        out.append(_html_table(_CEIL_HEAD, _ceiling_rows(result)))
    out.append("</section>")
    return "\n".join(out)


def render_audit_markdown(result: AuditResult, *, heading: bool = True) -> str:
    """The same section in Markdown."""
    out = [
        *(["## Judgment audit", ""] if heading else []),
        f"{md_text(result.source)}: {_judgments(result)}, {result.n_items} items, "
        f"{len(result.annotators)} annotator(s).",
        "",
    ]
    out += [f"- {md_text(v)}" for v in result.verdict] + [""]
    for title, model in (("Style bias", result.style), ("Style beyond correctness (gold)", result.style_given_gold)):
        if model is not None:
            out += [f"### {title}", "", _model_line(model), ""]
            out += [_md_table(_FEATURE_HEAD, _feature_rows(model)), ""]
            out += [f"- {line}" for line in raw_pattern_lines(model)] + ([""] if model.raw_findings else [])
    out += ["### Agreement", "", f"Krippendorff's alpha ({result.agreement.level}): {_num(result.agreement.alpha)}", ""]
    out += [_md_table(_AGREE_HEAD, _agreement_rows(result)), ""]
    spots = result.blind_spots
    if spots is not None and spots.items:
        out += ["### Shared blind spots", ""]
        out += [
            f"- {md_text(s.id)} ({s.votes} votes, {_pct(s.agreement)} chose {md_text(s.chosen)}, "
            f"gold {md_text(s.gold)}): {md_text(s.prompt)}"
            for s in spots.items[:10]
        ] + [""]
    if result.judge is not None:
        j = result.judge
        out += [
            "### LLM judge beside the humans",
            "",
            f"{j.judge}: agrees with the human majority on {_pct(j.with_human_majority)} of {j.n_majority} items.",
            "",
        ]
        out += [_md_table(_JUDGE_HEAD, _judge_rows(result)), ""]
    if result.ceilings:
        out += ["### Quality ceilings and routing", "", _md_table(_CEIL_HEAD, _ceiling_rows(result)), ""]
    return "\n".join(out)
