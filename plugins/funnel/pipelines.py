"""Pipelines and their ordered stages, each with a default probability.

A pipeline is a list of open stages in order, then one won stage (probability 100) and one lost
stage (probability 0). The default pipeline is seeded when the module is enabled, its stage names
in the company's language (``[company] locale``). Stages can be renamed, reordered and archived;
the history refers to stages by id, so it keeps every move.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.errors import NotFound, ValidationError
from core.security import require
from plugins.funnel.models_deals import Opportunity, Pipeline, Stage

#: name, default probability (percent), kind
DEFAULT_STAGES = (("New", Decimal("10"), "open"), ("Qualified", Decimal("20"), "open"),
                  ("Proposal", Decimal("50"), "open"), ("Negotiation", Decimal("75"), "open"),
                  ("Won", Decimal("100"), "won"), ("Lost", Decimal("0"), "lost"))
#: the same stages for a French company (staff read the company's language)
FRENCH_NAMES = {"New": "Nouveau", "Qualified": "Qualifié", "Proposal": "Proposition", "Negotiation": "Négociation",
                "Won": "Gagné", "Lost": "Perdu"}
DEFAULT_NAME = "Sales"


def stage_names(locale: str) -> dict[str, str]:
    """The default stages' names in ``locale`` (``fr_*``: French; any other: English)."""
    if (locale or "").lower().startswith("fr"):
        return dict(FRENCH_NAMES)
    return {name: name for name, _, _ in DEFAULT_STAGES}


def ensure_default_pipeline(app, session) -> Pipeline:
    """The default pipeline, created with the default stages the first time (enabling again adds nothing)."""
    existing = session.scalars(select(Pipeline).where(Pipeline.is_default.is_(True))).first()
    if existing is not None:
        return existing
    name = app.config.section("funnel").get("default_pipeline", DEFAULT_NAME)
    names = stage_names(app.config.company.locale)
    # part of enabling the module (core.modules, checked there), not a change of settings by hand
    return create_pipeline(session, name, [(names[n], p) for n, p, _ in DEFAULT_STAGES], default=True, right=None)


def create_pipeline(session, name: str, stages: list[tuple[str, Decimal]], *, default: bool = False,
                    locale: str = "fr_FR", right: str | None = "funnel.settings") -> Pipeline:
    """A pipeline with ``stages`` (name, probability) in order, then its won and lost ends.

    When the last two stages given are at 100 % then 0 % they are the won and lost ends, whatever
    their names (``Gagné:100,Perdu:0``); otherwise Won and Lost are added, named in ``locale``.
    ``right``: checked first (None only for the default pipeline that enabling the module makes).
    """
    if right is not None:
        require(session.info["app"], session, right)
    name = (name or "").strip()
    record = f"pipeline {name!r}"
    if not name or len(name) > 100:
        raise ValidationError("a name of 1 to 100 characters is required", record=record, field="name")
    if session.scalars(select(Pipeline.id).where(Pipeline.name == name)).first():
        raise ValidationError("already exists", record=record, field="name")
    if not stages:
        raise ValidationError("at least one open stage is needed", record=record, field="stages")
    stages = list(stages)
    if len(stages) >= 3 and stages[-2][1] == Decimal(100) and stages[-1][1] == Decimal(0):
        opened, (won, _), (lost, _) = stages[:-2], stages[-2], stages[-1]
    else:
        names = stage_names(locale)
        opened, won, lost = stages, names["Won"], names["Lost"]
    names = [s[0] for s in opened] + [won, lost]
    if len(set(n.lower() for n in names)) != len(names):
        raise ValidationError(f"stage names must be distinct ({won} and {lost} close the pipeline)", record=record,
                              field="stages")
    pipeline = Pipeline(name=name, is_default=default)
    for sequence, (stage_name, probability) in enumerate(opened, start=1):
        check_stage_name(stage_name, record)
        _check_probability(probability, record)
        pipeline.stages.append(Stage(name=stage_name, sequence=sequence, probability=probability, kind="open"))
    pipeline.stages.append(Stage(name=won, sequence=len(opened) + 1, probability=Decimal("100"), kind="won"))
    pipeline.stages.append(Stage(name=lost, sequence=len(opened) + 2, probability=Decimal("0"), kind="lost"))
    session.add(pipeline)
    session.flush()
    return pipeline


def parse_stages(text: str) -> list[tuple[str, Decimal]]:
    """``"New:10,Qualified:30"`` -> ``[("New", 10), ("Qualified", 30)]``."""
    stages = []
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        name, _, probability = part.rpartition(":")
        if not name:
            raise ValidationError(f"{part!r}: expected NAME:PROBABILITY", record="pipeline", field="stages")
        stages.append((name.strip(), _percent(probability, "pipeline")))
    return stages


def _percent(text, record: str) -> Decimal:
    from core.schemas import Exact
    from marshmallow import ValidationError as SchemaError

    try:
        value = Exact(2).deserialize(str(text))
    except SchemaError as exc:
        raise ValidationError(str(exc.messages[0]).rstrip("."), record=record, field="probability") from None
    _check_probability(value, record)
    return value


def check_stage_name(name: str, record: str) -> None:
    """1 to 100 characters, none of them a control character (as every name the schemas take)."""
    from core.schemas import has_controls

    if not name or len(name) > 100:
        raise ValidationError("a stage name of 1 to 100 characters is required", record=record, field="stage")
    if has_controls(name):
        raise ValidationError("must not contain control characters", record=record, field="stage")


def _check_probability(value: Decimal, record: str) -> None:
    if not Decimal(0) <= value <= Decimal(100):
        raise ValidationError("must be between 0 and 100", record=record, field="probability")


def get_pipeline(session, ref: str | None = None) -> Pipeline:
    """A pipeline by id or name; the default pipeline when ``ref`` is None."""
    if ref is None:
        pipeline = session.scalars(select(Pipeline).where(Pipeline.is_default.is_(True))).first()
        if pipeline is None:
            raise NotFound("no default pipeline (create one with `crm pipeline add`)")
        return pipeline
    text = str(ref).strip()
    query = select(Pipeline)
    query = query.where(Pipeline.id == int(text)) if text.isdigit() else query.where(
        func.lower(Pipeline.name) == text.lower())
    pipeline = session.scalars(query).first()
    if pipeline is None:
        raise NotFound(f"pipeline {text!r}: no such pipeline (see `crm pipeline list`)")
    return pipeline


def get_stage(pipeline: Pipeline, name: str) -> Stage:
    """A stage of ``pipeline`` by name (case-insensitive) or position."""
    text = str(name).strip()
    for stage in pipeline.stages:
        if stage.name.lower() == text.lower() or (text.isdigit() and stage.sequence == int(text)):
            return stage
    raise NotFound(f"pipeline {pipeline.name!r}: no stage {text!r} "
                   f"(stages: {', '.join(s.name for s in pipeline.stages)})")


def first_stage(pipeline: Pipeline) -> Stage:
    """The first open stage that is not archived: where new deals start."""
    return next(s for s in pipeline.stages if s.kind == "open" and not s.archived)


def check_not_archived(stage: Stage, record: str) -> None:
    """An archived stage keeps its history but takes no new move (create, move or reopen into it)."""
    if stage.archived:
        raise ValidationError(f"stage {stage.name!r} is archived (restore it with `crm pipeline stage restore`)",
                              record=record, field="stage")


def terminal_stage(pipeline: Pipeline, kind: str) -> Stage:
    return next(s for s in pipeline.stages if s.kind == kind)


def set_probability(session, pipeline: Pipeline, stage_name: str, probability) -> Stage:
    """Change a stage's default probability (deals without an override follow it)."""
    require(session.info["app"], session, "funnel.settings")
    stage = get_stage(pipeline, stage_name)
    record = f"pipeline {pipeline.name!r}: stage {stage.name!r}"
    if stage.kind != "open":
        raise ValidationError("the won and lost stages keep 100 and 0", record=record, field="probability")
    stage.probability = _percent(probability, record)
    session.flush()
    return stage


def set_default(session, pipeline: Pipeline) -> None:
    for other in session.scalars(select(Pipeline)):
        other.is_default = other.id == pipeline.id
    session.flush()


def list_pipelines(session):
    return session.scalars(select(Pipeline).order_by(Pipeline.id)).all()


def pipeline_dict(session, pipeline: Pipeline) -> dict:
    counts = dict(session.execute(select(Opportunity.stage_id, func.count()).where(
        Opportunity.pipeline_id == pipeline.id).group_by(Opportunity.stage_id)).all())
    return {"id": pipeline.id, "name": pipeline.name, "default": pipeline.is_default,
            "stages": [{"name": s.name, "sequence": s.sequence, "probability": str(s.probability), "kind": s.kind,
                        "archived": s.archived, "deals": counts.get(s.id, 0)} for s in pipeline.stages]}
