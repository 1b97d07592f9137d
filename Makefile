# Two entry points, each doing all set-up on a fresh machine:  make run  |  make test
PY ?= python3
STAMP := .install.stamp

$(STAMP): pyproject.toml
	$(PY) -m pip install --quiet torch==2.13.0      # CPU wheel first, or pip pulls CUDA packages
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(STAMP)

run: $(STAMP)   # `all md_all`: every target a dvc.yaml stage runs, so `version` records complete stages
	@mkdir -p results && date +%s > results/.run_started
	snakemake --cores all all md_all
	msgnn timeline results --since $$(cat results/.run_started)
	snakemake --report results/report/report.html
	msgnn record results/report/report.html --rule html_report --input results/report/report.md results/report/metrics.json
	$(MAKE) --no-print-directory version
	msgnn summary results

version:   # record in dvc.lock what Snakemake made: `dvc status` is clean, `dvc repro` reruns nothing (docs/dvc.md)
	dvc commit --force --quiet dvc.yaml
	dvc status dvc.yaml

pull: $(STAMP)   # fresh clone: results from the DVC remote, then marked current for Snakemake (docs/dvc.md)
	dvc pull
	dvc status --quiet || { dvc status; echo "pulled results do not match this checkout: not marking them current" >&2; exit 1; }
	snakemake all md_all --touch --forceall --cores 1 --quiet

test: $(STAMP)   # on all cores; tests sharing a workflow run stay on one worker (tests/conftest.py)
	$(PY) -m pytest -n auto --dist loadgroup

.PHONY: install run version pull test
