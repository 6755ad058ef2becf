"""What leaves the study: the README's results, the reports, the book and the headless pipeline.

Imports only from ``nslib.core``, ``nslib.data``, ``nslib.formulas``, ``nslib.stats``, ``nslib.engine``, ``nslib.experiments``.

- ``markdown``: tables as Markdown, for the README and the docs' generated pages
- ``readme_results``: the README's Results section and the results page, written from the tables
- ``reproduction``: REPORT.md of ``make reproduce``: this run beside the committed reference
- ``study_report``: REPORT.md of ``make study``: the questions answered for a user's data set
- ``book``: the course edition: the HTML book and the students' copies
- ``pipeline``: ``make reproduce``, ``make quick`` and ``make study``: every notebook through papermill
- ``timings``: ``timings.json``: what a run measured of itself (wall times, runs trained, machine), and the timing page
"""
