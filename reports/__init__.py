"""Scoring KPIs from the state store: metrics, the threshold advisor, report and dashboard.

`build_report` computes every KPI; `render_html` turns it into one self-contained HTML
file; `dashboard.routes` serves the same live over HTTP.
"""
