"""face calibration: per-person distance counts and thresholds, negatives from triage, detection tier and encoding,
webhook endpoints that ask for `possible` alerts

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-01 14:40:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'face_calibration',
        sa.Column('person_id', sa.Uuid(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('faces', sa.Integer(), nullable=False),
        sa.Column('match_threshold', sa.Float(), nullable=False),
        sa.Column('possible_threshold', sa.Float(), nullable=False),
        sa.Column('calibrated', sa.Boolean(), nullable=False),
        sa.Column('counts_updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('thresholds_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_table(
        'negative_face',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('person_id', sa.Uuid(), nullable=False),
        sa.Column('encoding', sa.LargeBinary(), nullable=False),
        sa.Column('alert_id', sa.Uuid(), nullable=True),
        sa.Column('distance', sa.Float(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_negative_face_person_id'), 'negative_face', ['person_id'], unique=False)
    op.create_index(op.f('ix_negative_face_alert_id'), 'negative_face', ['alert_id'], unique=False)
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.String(length=20), nullable=False, server_default='match'))
        batch_op.add_column(sa.Column('encoding', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('track_timestamps', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('include_possible', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('webhook_endpoint', schema=None) as batch_op:
        batch_op.drop_column('include_possible')
    with op.batch_alter_table('detection', schema=None) as batch_op:
        batch_op.drop_column('track_timestamps')
        batch_op.drop_column('encoding')
        batch_op.drop_column('tier')
    op.drop_index(op.f('ix_negative_face_alert_id'), table_name='negative_face')
    op.drop_index(op.f('ix_negative_face_person_id'), table_name='negative_face')
    op.drop_table('negative_face')
    op.drop_table('face_calibration')
