"""kind-neutral alerts: kind, subject key, typed evidence, tier and priority; occurrences point at their post

Every existing alert is a face match: its subject key is its media's sha256, and its evidence is built from its
sha256, media kind and best distance and from its detection (reference face, box, frames). An occurrence gets its
post from its media item; a text alert's occurrence has a post and no media item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:05:00.000000
"""

import json

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TEXT_OCCURRENCE_INDEX = 'uq_occurrence_post_text'


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('evidence', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('tier', sa.String(length=20), nullable=False, server_default='match'))
        batch_op.add_column(sa.Column('priority', sa.String(length=20), nullable=False, server_default='normal'))
    _fill_face_evidence()
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_constraint('uq_alert_person_media', type_='unique')
        batch_op.drop_index('ix_alert_sha256')
        batch_op.drop_column('sha256')
        batch_op.drop_column('media_kind')
        batch_op.drop_column('best_distance')
        batch_op.alter_column('subject_key', existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column('evidence', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('tier', existing_type=sa.String(length=20), server_default=None)
        batch_op.alter_column('priority', existing_type=sa.String(length=20), server_default=None)
        batch_op.create_unique_constraint('uq_alert_subject', ['person_id', 'kind', 'subject_key'])
        batch_op.create_index('ix_alert_subject_key', ['subject_key'], unique=False)
        batch_op.create_index('ix_alert_kind', ['kind'], unique=False)

    with op.batch_alter_table('alert_occurrence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('post_id', sa.Uuid(), nullable=True))
    op.execute(
        'UPDATE alert_occurrence SET post_id = '
        '(SELECT media_item.post_id FROM media_item WHERE media_item.id = alert_occurrence.media_item_id)'
    )
    with op.batch_alter_table('alert_occurrence', schema=None) as batch_op:
        batch_op.alter_column('post_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column('media_item_id', existing_type=sa.Uuid(), nullable=True)
        batch_op.create_foreign_key('fk_alert_occurrence_post_id', 'post', ['post_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_alert_occurrence_post_id', ['post_id'], unique=False)
    op.create_index(
        TEXT_OCCURRENCE_INDEX,
        'alert_occurrence',
        ['alert_id', 'post_id'],
        unique=True,
        sqlite_where=sa.text('media_item_id IS NULL'),
        postgresql_where=sa.text('media_item_id IS NULL'),
    )


def _fill_face_evidence() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            'SELECT alert.id, alert.sha256, alert.media_kind, alert.best_distance, alert.official_only, '
            'detection.reference_face_id, detection.box, detection.best_timestamp, detection.timestamps, '
            'detection.frames_matched FROM alert LEFT JOIN detection ON detection.id = alert.detection_id'
        )
    ).all()
    for row in rows:
        evidence = {
            'kind': 'face_match',
            'sha256': row.sha256,
            'media_kind': row.media_kind,
            'best_distance': row.best_distance,
            'reference_face_id': str(row.reference_face_id) if row.reference_face_id else None,
            'box': _json(row.box) or None,
            'best_timestamp': row.best_timestamp,
            'timestamps': _json(row.timestamps) or [],
            'frames_matched': row.frames_matched or 0,
        }
        connection.execute(
            sa.text(
                'UPDATE alert SET subject_key = :subject, evidence = :evidence, tier = :tier, priority = :priority '
                'WHERE id = :id'
            ),
            {
                'subject': row.sha256,
                'evidence': json.dumps(evidence),
                'tier': 'match',
                'priority': 'low' if row.official_only else 'high',
                'id': row.id,
            },
        )


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def downgrade() -> None:
    """Back to face-only alerts: alerts of other kinds and their occurrences are deleted."""
    op.execute("DELETE FROM alert WHERE kind <> 'face_match'")
    op.drop_index(TEXT_OCCURRENCE_INDEX, table_name='alert_occurrence')
    with op.batch_alter_table('alert_occurrence', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_occurrence_post_id')
        batch_op.drop_constraint('fk_alert_occurrence_post_id', type_='foreignkey')
        batch_op.drop_column('post_id')
        batch_op.alter_column('media_item_id', existing_type=sa.Uuid(), nullable=False)
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('best_distance', sa.Float(), nullable=True))
    connection = op.get_bind()
    for alert_id, evidence in connection.execute(sa.text('SELECT id, evidence FROM alert')).all():
        evidence = _json(evidence)
        connection.execute(
            sa.text('UPDATE alert SET sha256 = :sha256, media_kind = :media_kind, best_distance = :distance WHERE id = :id'),
            {'sha256': evidence['sha256'], 'media_kind': evidence['media_kind'], 'distance': evidence['best_distance'], 'id': alert_id},
        )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_kind')
        batch_op.drop_index('ix_alert_subject_key')
        batch_op.drop_constraint('uq_alert_subject', type_='unique')
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('media_kind', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('best_distance', existing_type=sa.Float(), nullable=False)
        batch_op.create_unique_constraint('uq_alert_person_media', ['person_id', 'sha256', 'kind'])
        batch_op.create_index('ix_alert_sha256', ['sha256'], unique=False)
        batch_op.drop_column('priority')
        batch_op.drop_column('tier')
        batch_op.drop_column('evidence')
        batch_op.drop_column('subject_key')
