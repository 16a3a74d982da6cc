"""Editing a pipeline's stages: rename, reorder, archive and restore, keeping every deal's history.

The history (``funnel_stage_change``) refers to stages by id, so a renamed stage shows its new
name in every past move and an archived one stays in the history of the deals that went through
it. The order of the open stages is what "furthest stage" and the conversion rates follow: a
reorder recomputes the deals' history summary (``history.rebuild_summary``) in the same
transaction. Won and Lost stay the last two stages and cannot be archived.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.errors import StateError, ValidationError
from core.security import require
from plugins.funnel.history import rebuild_summary
from plugins.funnel.models_deals import Opportunity, Pipeline, Stage
from plugins.funnel.pipelines import check_stage_name, get_stage


def _record(pipeline: Pipeline, stage: Stage) -> str:
    return f"pipeline {pipeline.name!r}: stage {stage.name!r}"


def rename_stage(session, pipeline: Pipeline, stage_name: str, new_name: str) -> Stage:
    """Give a stage a new name (unique in its pipeline); its history follows, being kept by id."""
    require(session.info["app"], session, "funnel.settings")
    stage = get_stage(pipeline, stage_name)
    new_name = (new_name or "").strip()
    record = _record(pipeline, stage)
    check_stage_name(new_name, record)
    if new_name.isdigit():
        raise ValidationError("a stage name cannot be a number (numbers name positions)", record=record,
                              field="name")
    if any(s.id != stage.id and s.name.lower() == new_name.lower() for s in pipeline.stages):
        raise ValidationError(f"the pipeline already has a stage {new_name!r}", record=record, field="name")
    stage.name = new_name
    session.flush()
    return stage


def move_stage(session, pipeline: Pipeline, stage_name: str, position: int) -> Stage:
    """Put an open stage at ``position`` (1 = first) among the open stages; Won and Lost stay last.

    The furthest stage of every deal of the pipeline depends on the order, so the history
    summary is rebuilt in the same transaction.
    """
    require(session.info["app"], session, "funnel.settings")
    stage = get_stage(pipeline, stage_name)
    record = _record(pipeline, stage)
    opened = [s for s in pipeline.stages if s.kind == "open"]
    if stage.kind != "open":
        raise ValidationError("the won and lost stages stay at the end", record=record, field="stage")
    if not 1 <= position <= len(opened):
        raise ValidationError(f"position must be between 1 and {len(opened)}", record=record, field="position")
    opened.remove(stage)
    opened.insert(position - 1, stage)
    ends = [s for s in pipeline.stages if s.kind != "open"]
    ordered = opened + ends
    # two steps: the sequences are unique per pipeline, so park them out of the way first
    for offset, each in enumerate(ordered, start=1):
        each.sequence = -offset
    session.flush()
    for offset, each in enumerate(ordered, start=1):
        each.sequence = offset
    session.flush()
    pipeline.stages.sort(key=lambda s: s.sequence)
    rebuild_summary(session)
    session.expire_all()
    return stage


def archive_stage(session, pipeline: Pipeline, stage_name: str) -> Stage:
    """Archive an open stage that no open deal sits in: its history stays, new moves into it are refused."""
    require(session.info["app"], session, "funnel.settings")
    stage = get_stage(pipeline, stage_name)
    record = _record(pipeline, stage)
    if stage.kind != "open":
        raise ValidationError("the won and lost stages cannot be archived", record=record, field="stage")
    if stage.archived:
        raise StateError(f"{record}: already archived")
    waiting = session.execute(select(func.count()).select_from(Opportunity).where(
        Opportunity.stage_id == stage.id, Opportunity.state == "open")).scalar()
    if waiting:
        raise StateError(f"{record}: {waiting} open deal(s) are in this stage; move them first "
                         f"(crm deal list --pipeline {pipeline.name!r} --state open)")
    if not [s for s in pipeline.stages if s.kind == "open" and not s.archived and s.id != stage.id]:
        raise ValidationError("a pipeline keeps at least one open stage", record=record, field="stage")
    stage.archived = True
    session.flush()
    return stage


def restore_stage(session, pipeline: Pipeline, stage_name: str) -> Stage:
    """Take an archived stage back into use."""
    require(session.info["app"], session, "funnel.settings")
    stage = get_stage(pipeline, stage_name)
    if not stage.archived:
        raise StateError(f"{_record(pipeline, stage)}: not archived")
    stage.archived = False
    session.flush()
    return stage
